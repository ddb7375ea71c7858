"""The snapshot contract: what the ETL writes and the web app reads, in one place.

Both sides import this module (and only this one of the ETL, besides
``etl.snapshot_s3`` for S3 sync), so it stays light: no Flask, no pandas, no
validation or transform code. It owns:

* the folder layout under the snapshot root (``docs/architecture.md``)::

      CURRENT                      the live version (one line), replaced atomically
      .refresh.lock                held (``flock``) by the one running refresh
      <version>/manifest.json      version, source export, row counts, schema, dictionaries, file sizes
      <version>/report.json        the refresh report that produced it
      <version>/*.arrow            the frames (``FRAME_NAMES``): Arrow IPC files, uncompressed, one record batch
                                   each, so a web worker maps them (``map_frame``) and every worker of a host
                                   shares one copy in the page cache
      reports/<stamp>-<export>.json  every refresh report, including rejected exports

* the pointer: reading it, and swapping it atomically (the ETL publishes with
  it, and so does a web host following S3, ``app.snapshot_sync``);
* reading a version: its manifest, a cheap check of its files, its frames
  (``write_frame`` and ``map_frame``: booleans are stored as uint8 so a reader
  views them without unpacking bits);
* the first-occurrence columns of the facts (``PREVIOUS_PAIR``, ``PREVIOUS_USER``
  and ``ACTIVE_EVENTS``), which let a distinct count over any range be one
  comparison per row instead of a set of what was seen, and the next-occurrence
  ones (``NEXT_PAIR``, ``NEXT_USER``), which let whole months of a range be read
  from the rollup frame (``etl.rollup``) instead;
* retention (``prune``): the last ``KEEP`` versions stay for rollback;
* the codes stored in the facts: ``EVENT_TYPES`` (index = code);
* the dimensions (``DIMENSIONS``): each one's side (users or trainings), the
  column of ``users.csv``/``trainings.csv`` it comes from and the column of the
  ``users``/``trainings`` frame it goes to; the ETL reads, codes and digests
  them and the app's catalog (``app.catalog``) serves them from this one list;
* the tenants frame's row ranges: each tenant's rows are a slice of every
  frame, and ``row_ranges`` turns one row of the tenants frame into those slices.

Writing a snapshot (``etl.snapshot``) and publishing it on S3 (``etl.snapshot_s3``)
build on this module.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import numpy as np
import pyarrow.compute as pc

from etl.errors import EtlError

SCHEMA_VERSION = 6  # 6: next occurrences and the rollup; 5: assignments; 4: local days and hours, tenants' and learners' names; 3: Arrow IPC; 2: Parquet
SCHEMA_CHANGES = {2: "its frames are Parquet files, read whole by every worker, and its facts have no "
                     "first-occurrence columns",
                  3: "its days and hours are UTC ones, its tenants have no name or time zone and its users "
                     "frame has no learner names",
                  4: "it has no assignments frame",
                  5: "its facts have no next-occurrence columns and it has no rollup frame"}  # why an older schema is refused: a refresh writes the current one
KEEP = 3
KEEP_REPORTS = 50
POINTER = "CURRENT"
LOCK_FILE = ".refresh.lock"  # under the snapshot root: the refresh's flock; app.refresh_trigger looks for its holder
FRAME_NAMES = ("facts", "hourly", "users", "trainings", "assignments", "tenants", "rollup")
DERIVED_FRAMES = ("rollup",)  # derived from the others as the snapshot is written (``etl.rollup``)
VERSION_PATTERN = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{4}$")
EVENT_TYPES = ("connection", "enrolment", "start", "completion")  # the code stored in the facts is the index
CONNECTION, ENROLMENT, START, COMPLETION = range(len(EVENT_TYPES))
FRAME_SUFFIX = ".arrow"

# --- the facts' first-occurrence columns --------------------------------------------------------------------------
# A distinct count over [a, b] is the number of rows in [a, b] that are the first of their item in the range: a row
# whose item's previous row (in day order) lies before a. So each facts row carries the day of its item's previous
# row, or NO_PREVIOUS: counting distinct items over any range is then a comparison per row, exact, with no set.
PREVIOUS_PAIR = "previous_pair"  # the previous day of the same (event type, user, training): distinct pairs
PREVIOUS_USER = "previous_user"  # the previous row's day of the same user among ACTIVE_EVENTS: active learners
ACTIVE_EVENTS = ("connection", "start", "completion")  # what makes a learner active (docs/metrics.md)
NO_PREVIOUS = int(np.iinfo(np.int32).min)
# And the day of its item's next row, or NO_NEXT: a range whose months are read from the rollup (``etl.rollup``)
# counts the items of its first, partial month that do not come back later in the range as those rows whose next
# day is after the range.
NEXT_PAIR, NEXT_USER = "next_pair", "next_user"
NO_NEXT = int(np.iinfo(np.int32).max)

# --- the assignments frame ----------------------------------------------------------------------------------------
# One row per (tenant, user, training) of assignments.csv, sorted by tenant, then due day (local), user, training:
# ``user`` and ``training`` (global codes), ``assigned_at``, ``due_at`` and ``completed_at`` (microseconds since the
# epoch, UTC; the earliest completion event at any time), ``due_day`` (the tenant's local day of ``due_at``) and
# ``started`` (a start event at any time). No deadline, or no completion, is the sentinel below: it sorts last and
# is never at or before any instant. ``status`` and ``at_risk`` are what the assignment is at ``now``, the end of
# ``data_as_of`` on the tenant's calendar (docs/metrics.md, Assignment metrics), which is fixed for the snapshot.
# Only an assignment due soon can be at risk, so both are due in the DUE_SOON_DAYS local days after ``data_as_of``:
# a slice of the tenant's rows (``app.queries.due_soon_days``).
NO_INSTANT = int(np.iinfo(np.int64).max)
NO_DAY = int(np.iinfo(np.int32).max)
ASSIGNMENT_STATUSES = ("on_time", "late", "completed", "overdue", "due_soon", "open")  # the code is the index
ON_TIME, LATE, COMPLETED, OVERDUE, DUE_SOON, OPEN = range(len(ASSIGNMENT_STATUSES))  # COMPLETED: no due date
DUE_SOON_DAYS = 14  # due after ``now`` and by the end of the 14th local day after ``data_as_of``
INACTIVE_DAYS = 14  # at risk: no event in the 14 local days ending at ``data_as_of``


class SnapshotError(EtlError):
    """A snapshot is missing, incomplete or unreadable."""


# --- the dimensions ---------------------------------------------------------------------------------------------
# A dimension is an attribute of the user or of the training behind each event. Each side has one optional
# dimension file in the export (``users.csv``, ``trainings.csv``: ``tenant_id``, the side's key, then one column
# per dimension) and one frame in the snapshot, indexed by the global user or training code.
USER, TRAINING = "user", "training"  # the two sides a dimension can describe
SIDES = (USER, TRAINING)
FRAMES = {USER: "users", TRAINING: "trainings"}  # each side's frame, and the stem of its file in the export
KEYS = {USER: "user_id", TRAINING: "training_id"}  # each side's key, in its file and in its frame


@dataclass(frozen=True)
class Dimension:
    """One dimension: where its values come from in the export and where they are in the snapshot.

    ``source`` is its column in the side's file. A *coded* dimension (the
    usual kind) stores a code in the frame's column of its own name; the
    codes index the manifest's ``dictionaries[name]``, its sorted labels
    (empty values become ``UNKNOWN``; ``upper`` labels are upper-cased). A
    dimension that is not coded is the side's entity itself (the training):
    its keys are the side's key column and its labels stay as they are in the
    ``source`` column (an empty label becomes the key).
    """

    name: str
    side: str  # USER or TRAINING
    source: str
    coded: bool = True
    upper: bool = False

    @property
    def key_column(self) -> str | None:
        """The frame's column holding this dimension's keys as they are (None when coded)."""
        return None if self.coded else KEYS[self.side]

    @property
    def label_column(self) -> str | None:
        """The frame's column holding this dimension's labels as they are (None when coded)."""
        return None if self.coded else self.source


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("group", USER, "group"),
    Dimension("country", USER, "country", upper=True),  # ISO 3166-1 alpha-2 codes
    Dimension("training", TRAINING, "title", coded=False),
    Dimension("category", TRAINING, "category"),
    Dimension("format", TRAINING, "format"),
)
UNKNOWN = "Unknown"  # the label of an empty or missing coded value


# Columns of a dimension file shown as they are, not filtered on: the learner's display name (data-contract v1.1).
# The users frame keeps it in NAME (the user_id when empty, at most MAX_NAME_LENGTH characters) and NAME_RANK:
# the name's rank among its tenant's names (equal names share one), so a learner list sorts by name without
# comparing strings.
NAME, NAME_RANK = "name", "name_rank"
MAX_NAME_LENGTH = 200
ATTRIBUTES = {USER: (NAME,), TRAINING: ()}


def side_dimensions(side: str) -> tuple[Dimension, ...]:
    return tuple(d for d in DIMENSIONS if d.side == side)


def file_columns(side: str) -> tuple[str, ...]:
    """The columns of a side's dimension file: ``tenant_id`` and the key (required), then the dimensions' and the
    attributes' (optional)."""
    return ("tenant_id", KEYS[side], *(d.source for d in side_dimensions(side)), *ATTRIBUTES[side])


def hourly_dimensions() -> tuple[Dimension, ...]:
    """What the ``hourly`` frame (connections, for the heatmap) is broken down by: the coded user dimensions."""
    return tuple(d for d in side_dimensions(USER) if d.coded)


# --- the tenants frame's row ranges ---------------------------------------------------------------------------
# The facts are sorted by tenant, then event type: ``facts_<code>`` is where a tenant's rows of that event type
# start, ``facts_end`` where its last block ends. The other frames carry one start/end pair per tenant.
FACTS_STARTS = tuple(f"facts_{code}" for code in range(len(EVENT_TYPES)))
FACTS_END = "facts_end"
ROLLUP_STARTS = tuple(f"rollup_{code}" for code in range(len(EVENT_TYPES)))  # the same for the rollup frame
ROLLUP_END = "rollup_end"
SPANS = {frame: (f"{frame}_start", f"{frame}_end") for frame in ("hourly", "users", "trainings", "assignments")}


@dataclass(frozen=True)
class RowRanges:
    """One tenant's rows in each frame."""

    facts: slice
    events: tuple[slice, ...]  # by event type code
    rollup: tuple[slice, ...]  # the rollup frame's rows, by event type code
    hourly: slice
    users: slice
    trainings: slice
    assignments: slice


def row_ranges(tenants: Mapping[str, Sequence], i: int) -> RowRanges:
    """The row ranges of row ``i`` of the tenants frame (columns by name: a pandas frame or ``to_pydict()``)."""
    bounds = [tenants[name][i] for name in FACTS_STARTS] + [tenants[FACTS_END][i]]
    rolled = [tenants[name][i] for name in ROLLUP_STARTS] + [tenants[ROLLUP_END][i]]
    spans = {frame: slice(tenants[start][i], tenants[end][i]) for frame, (start, end) in SPANS.items()}
    return RowRanges(facts=slice(bounds[0], bounds[-1]),
                     events=tuple(slice(a, b) for a, b in zip(bounds, bounds[1:])),
                     rollup=tuple(slice(a, b) for a, b in zip(rolled, rolled[1:])), **spans)


def tenant_spans(tenants) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each frame's rows of every tenant at once, as (starts, ends) arrays (``row_ranges`` gives one tenant's):
    the facts from their first event type's start to ``facts_end``."""
    columns = {"facts": (FACTS_STARTS[0], FACTS_END), **SPANS}
    return {frame: (np.asarray(tenants[a], dtype=np.int64), np.asarray(tenants[b], dtype=np.int64))
            for frame, (a, b) in columns.items()}


def range_columns(fact_bounds: Sequence, spans: Mapping[str, tuple[Sequence, Sequence]]) -> dict[str, Sequence]:
    """The tenants frame's row-range columns, from ``fact_bounds`` (per tenant, the start of each event type's
    block then the end: ``len(EVENT_TYPES) + 1`` columns) and a (starts, ends) pair for each frame of ``SPANS``."""
    return {**dict(zip((*FACTS_STARTS, FACTS_END), fact_bounds)),
            **{column: values for frame in SPANS for column, values in zip(SPANS[frame], spans[frame])}}


# --- the folder and the pointer --------------------------------------------------------------------------------


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(root: Path, version: str) -> None:
    """Make ``version`` the live snapshot (atomic pointer swap)."""
    if not (root / version / "manifest.json").is_file():
        raise SnapshotError(f"snapshot {version} is not complete in {root}")
    tmp = root / f".{POINTER}.tmp"
    with open(tmp, "w") as fh:
        fh.write(version + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / POINTER)
    fsync_dir(root)


def live_version(root: Path) -> str | None:
    """The version named by ``CURRENT``, or ``None`` when nothing is published."""
    try:
        text = (Path(root) / POINTER).read_text().strip()
    except FileNotFoundError:
        return None
    return text if VERSION_PATTERN.match(text) else None


def versions(root: Path) -> list[str]:
    """Complete snapshots on disk, oldest first (versions sort by time)."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if VERSION_PATTERN.match(p.name) and (p / "manifest.json").is_file())


def prune(root: Path, keep: int = KEEP, temp: bool = True) -> list[str]:
    """Delete all but the newest ``keep`` snapshots (never the live one), old reports and, with
    ``temp``, stale temp folders (only the refresh, under its lock, may: a web host syncing from S3 may not)."""
    root = Path(root)
    live = live_version(root)
    removed = []
    for version in versions(root)[:-keep]:
        if version != live:
            shutil.rmtree(root / version, ignore_errors=True)
            removed.append(version)
    for tmp in root.glob(".tmp-*") if temp else ():
        shutil.rmtree(tmp, ignore_errors=True)
    reports = sorted((root / "reports").glob("*.json")) if (root / "reports").is_dir() else []
    for old in reports[:-KEEP_REPORTS]:
        old.unlink(missing_ok=True)
    return removed


# --- reading a version -----------------------------------------------------------------------------------------


def read_manifest(root: Path, version: str) -> dict:
    path = Path(root) / version / "manifest.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SnapshotError(f"cannot read {path}: {exc}") from exc


def check_schema(manifest: dict, version: str) -> None:
    """Raise ``SnapshotError`` unless the manifest is of this code's ``SCHEMA_VERSION``, saying what differs."""
    found = manifest.get("schema_version")
    if found != SCHEMA_VERSION:
        why = (f" ({SCHEMA_CHANGES[found]}); a refresh writes one of schema {SCHEMA_VERSION}"
               if found in SCHEMA_CHANGES else "")
        raise SnapshotError(f"snapshot {version} has schema {found}, expected {SCHEMA_VERSION}{why}")


def frame_path(root: Path, version: str, name: str) -> Path:
    return Path(root) / version / f"{name}{FRAME_SUFFIX}"


def verify(root: Path, version: str) -> dict:
    """The manifest of ``version`` once its files are checked against it, cheaply (no data read).

    Each frame file must have the size the manifest recorded and a readable
    Arrow IPC footer with the recorded row count: this catches truncated,
    replaced or missing files. Raises ``SnapshotError``.
    """
    manifest = read_manifest(root, version)
    check_schema(manifest, version)
    for name in FRAME_NAMES:
        path = frame_path(root, version, name)
        try:
            size = path.stat().st_size
            rows = map_frame(root, version, name).num_rows
        except OSError as exc:
            raise SnapshotError(f"snapshot {version}: cannot read {path.name} ({exc})") from exc
        if size != manifest.get("files", {}).get(name) or rows != manifest.get("rows", {}).get(f"{name}_frame", rows):
            raise SnapshotError(f"snapshot {version}: {path.name} is not the file the manifest describes")
    return manifest


def write_frame(table: pa.Table, path: Path) -> None:
    """One frame as an uncompressed Arrow IPC file of one record batch (booleans as uint8), fsynced."""
    columns = [pc.cast(c, pa.uint8()) if pa.types.is_boolean(c.type) else c for c in table.columns]
    table = pa.table(columns, names=table.column_names).combine_chunks()
    with pa.OSFile(str(path), "wb") as sink:
        with pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def map_frame(root: Path, version: str, name: str) -> pa.Table:
    """A frame mapped from its file, not read: its buffers are the page cache's pages, shared by every process
    that maps the file, and the mapping lives as long as any of them (``app.store``)."""
    path = frame_path(root, version, name)
    try:
        with pa.memory_map(str(path)) as source:
            return pa.ipc.open_file(source).read_all()
    except (OSError, pa.ArrowException) as exc:
        raise SnapshotError(f"snapshot {version}: cannot read {path.name} ({exc})") from exc
