"""The live snapshot in memory, hot-swapped when a new one is published.

Each process (gunicorn worker) holds one immutable ``Snapshot``. ``current()``
stats the ``CURRENT`` pointer (about a microsecond) and loads a newly published
version before answering, so once a refresh has published, no request is
answered from the old data. A request takes the snapshot once and uses that
object to the end, so it never mixes two versions. A snapshot that cannot be
read is refused: the store keeps serving the one it has, or, in a process that
has none yet, the newest good snapshot on disk. With snapshots on S3, an
``app.snapshot_sync.SnapshotSync`` fills the local folder, and a request that
comes before anything is loaded waits for its first look at S3.

A snapshot's frames are mapped from their Arrow IPC files, not read
(``etl.snapshot_format.map_frame``): its numpy columns are views of the page
cache, so every worker of a host shares one copy, and loading costs what reading
the small frames' strings costs. A mapping lives as long as any array viewing
it: after a swap, requests still holding the old snapshot keep reading it, and
when the last of them ends, the old files are unmapped (``retired`` counts the
old snapshots still held).
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from etl import snapshot_format as snapshots

log = logging.getLogger("dataviz.store")
EPOCH = dt.date(1970, 1, 1)
FIRST_SYNC_WAIT = 20.0  # seconds a request waits for the first download from S3 (gunicorn's timeout is 60)


def day_number(day: dt.date) -> int:
    return (day - EPOCH).days


def day_date(number: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(number))


@dataclass(frozen=True)
class TenantSlices:
    """Row ranges of one tenant in each frame (frames are sorted by tenant), its name and time zone."""

    facts: slice
    events: tuple[slice, ...]  # facts of each event type (connection, enrolment, start, completion)
    rollup: tuple[slice, ...]  # rollup rows of each event type (``etl.rollup``)
    hourly: slice
    users: slice
    trainings: slice
    assignments: slice
    first_day: int  # local days: those of ``timezone``
    last_day: int
    name: str
    timezone: str


@dataclass(frozen=True, eq=False, repr=False)
class Snapshot:
    """One immutable snapshot: numpy columns plus dimension lookups."""

    version: str
    manifest: dict
    tenants: dict[str, TenantSlices]
    facts: Columns
    rollup: Columns  # the facts by month (``etl.rollup``)
    hourly: Columns
    users: Columns
    trainings: Columns
    assignments: Columns
    dictionaries: dict[str, list[str]]
    codes: dict[str, dict[str, int]]  # dimension → value → code, for filters

    def __repr__(self) -> str:
        return f"Snapshot({self.version!r}, {len(self.tenants)} tenants)"

    @property
    def data_as_of(self) -> dt.date:
        return dt.date.fromisoformat(self.manifest["data_as_of"])

    def meta(self) -> dict:
        """What /api/v1/meta and the dashboards' "data as of" line show."""
        m = self.manifest
        return {"version": self.version, "data_as_of": m["data_as_of"], "created_at": m["created_at"],
                "source_export": m["export"], "rows": m["rows"], "tenants": m["tenants"]}


class Columns(Mapping):
    """A mapped frame's columns as numpy arrays, each made on first use.

    Numbers are views of the mapping (no copy); booleans, stored as uint8, are
    viewed as booleans; strings become object arrays, private to the process, so
    only the columns a query reads are made (the users' ids never are).
    """

    def __init__(self, table: pa.Table):
        self._table = table
        self._arrays: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        array = self._arrays.get(name)
        if array is None:
            column = self._table.column(name)  # KeyError for an unknown column, as a dict would
            array = column.to_numpy()
            if pa.types.is_uint8(column.type):
                array = array.view(np.bool_)
            self._arrays[name] = array
        return array

    def take(self, name: str, rows) -> list:
        """The values of ``rows`` (frame row numbers) of a column, without making the whole column an array: a
        learner list reads a page of names and ids, never the millions of them."""
        return self._table.column(name).take(pa.array(rows, type=pa.int64())).to_pylist()

    def __iter__(self) -> Iterator[str]:
        return iter(self._table.column_names)

    def __len__(self) -> int:
        return self._table.num_columns


def load_snapshot(root: str | Path, version: str) -> Snapshot:
    """Map and check one snapshot; raises ``SnapshotError`` when it is damaged or of another schema."""
    root = Path(root)
    manifest = snapshots.read_manifest(root, version)
    snapshots.check_schema(manifest, version)
    frames = {name: snapshots.map_frame(root, version, name) for name in snapshots.FRAME_NAMES}
    for name, table in frames.items():
        expected = manifest["rows"].get(f"{name}_frame")
        if expected is not None and table.num_rows != expected:
            raise snapshots.SnapshotError(f"snapshot {version}: {name} has {table.num_rows} rows, "
                                          f"manifest says {expected}")
    t = frames["tenants"].to_pydict()
    tenants = {
        tenant: TenantSlices(**vars(snapshots.row_ranges(t, i)),
                             first_day=t["first_day"][i], last_day=t["last_day"][i],
                             name=t["name"][i], timezone=t["timezone"][i])
        for i, tenant in enumerate(t["tenant_id"])
    }
    dictionaries = manifest["dictionaries"]
    return Snapshot(
        version=version, manifest=manifest, tenants=tenants,
        facts=Columns(frames["facts"]), rollup=Columns(frames["rollup"]), hourly=Columns(frames["hourly"]),
        users=Columns(frames["users"]), trainings=Columns(frames["trainings"]),
        assignments=Columns(frames["assignments"]), dictionaries=dictionaries,
        codes={dim: {v: i for i, v in enumerate(values)} for dim, values in dictionaries.items()},
    )


class SnapshotStore:
    """Holds the live snapshot of one snapshot root and swaps it when ``CURRENT`` changes."""

    def __init__(self, root: str | Path, check_interval: float = 0.0, sync=None):
        self.root = Path(root)
        self.check_interval = check_interval
        self.sync = sync  # app.snapshot_sync.SnapshotSync when the snapshots live on S3
        self._snapshot: Snapshot | None = None
        self._pointer_stat: tuple | None = None
        self._refused: str | None = None
        self._next_check = 0.0
        self._lock = threading.Lock()
        self._retired: weakref.WeakSet[Snapshot] = weakref.WeakSet()  # swapped out, still held by a request
        self.last_error: str | None = None

    @property
    def retired(self) -> int:
        """How many swapped-out snapshots requests still hold (their files stay mapped until they end)."""
        return len(self._retired)

    @property
    def problem(self) -> str | None:
        """Why the store may not serve the live snapshot: a refused snapshot, or S3 out of reach."""
        return self.last_error or (self.sync.last_error if self.sync is not None else None)

    def _stat(self) -> tuple | None:
        try:
            st = os.stat(self.root / snapshots.POINTER)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def current(self) -> Snapshot | None:
        """The live snapshot, loading a newly published one first; ``None`` before any.

        The next check is scheduled only after a swap completes, so requests
        arriving while another thread loads the new snapshot wait for it instead
        of answering from the old one: once ``check_interval`` has passed since a
        publish, no request is answered from the old data (``etl.propagate`` relies on it).
        """
        if self._snapshot is None and self.sync is not None:
            self.sync.first_attempt.wait(FIRST_SYNC_WAIT)
        now = time.monotonic()
        if now >= self._next_check or self._snapshot is None:  # first load: wait for it, never None
            if self._stat() != self._pointer_stat:
                self._reload()
            self._next_check = now + self.check_interval
        return self._snapshot

    def _reload(self) -> None:
        with self._lock:
            stat = self._stat()
            if stat == self._pointer_stat:
                return  # another thread swapped while we waited
            version = snapshots.live_version(self.root)
            if version is None or (self._snapshot and self._snapshot.version == version) or version == self._refused:
                self._pointer_stat = stat
                return
            try:
                snapshot = load_snapshot(self.root, version)
            except (snapshots.SnapshotError, KeyError, ValueError, OSError) as exc:
                self._refused = version
                # /readyz shows last_error to anyone: the reason's class only; paths and details go to the log
                log.error("refused snapshot %s: %s", version, exc)
                self.last_error = f"refused snapshot {version} ({exc.__class__.__name__}, details in the log)"
                if self._snapshot is None:
                    self._snapshot = self._newest_good(exclude=version)
                    if self._snapshot is not None:
                        self.last_error += f"; serving {self._snapshot.version}, the newest good one on disk"
                log.error("%s; serving %s", self.last_error, self._snapshot.version if self._snapshot else "nothing")
            else:
                if self._snapshot is not None:
                    self._retired.add(self._snapshot)
                self._snapshot = snapshot
                self.last_error = None
                log.info("serving snapshot %s", version)
            self._pointer_stat = stat

    def _newest_good(self, exclude: str) -> Snapshot | None:
        """At start-up with a damaged live snapshot, the newest one kept on disk that loads.

        Older numbers beat no answer at all (every request a 503) until the
        next refresh publishes a good snapshot; /readyz and the log say so.
        Only versions older than the live one: a newer one on disk was rolled back.
        """
        for version in reversed([v for v in snapshots.versions(self.root) if v < exclude]):
            try:
                return load_snapshot(self.root, version)
            except (snapshots.SnapshotError, KeyError, ValueError, OSError) as exc:
                log.error("cannot fall back to snapshot %s either: %s", version, exc)
        return None
