"""Writing a snapshot: a new version folder, whole or not at all, and the refresh reports beside it.

The layout, the pointer and everything a reader needs are the contract in
``etl.snapshot_format``; this module is the ETL's writing side. A snapshot is
written into a hidden temporary folder, fsynced, renamed into place, and only
then named in ``CURRENT`` (``snapshot_format.publish``: write-to-temp +
``os.replace``), so a reader sees either the old snapshot or the complete new one.

The facts' first-occurrence columns (``snapshot_format.PREVIOUS_PAIR`` and
``PREVIOUS_USER``) are derived here, from the final aggregated frames, so every
engine's snapshot carries the same ones.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from etl.arrays import sorted_neighbours, stable_order
from etl.pause import pause_point
from etl.snapshot_format import (ACTIVE_EVENTS, EVENT_TYPES, FRAME_NAMES, FRAME_SUFFIX, NO_PREVIOUS, PREVIOUS_PAIR,
                                 PREVIOUS_USER, SCHEMA_VERSION, fsync_dir, versions, write_frame)

if TYPE_CHECKING:
    from etl.transform import Frames


def new_version(root: Path, now: dt.datetime | None = None) -> str:
    """A version that names its creation time and sorts after every version on disk.

    Two refreshes within one second would otherwise sort by their random
    suffix; bumping past the newest keeps "newest" and "previous" meaningful.
    """
    now = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
    existing = versions(root)
    if existing:
        newest = dt.datetime.strptime(existing[-1][:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
        now = max(now, newest + dt.timedelta(seconds=1))
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


def replacement_version(root: Path, version: str) -> str:
    """A new version for a snapshot re-derived in place of ``version`` (``etl.forget``): the same time, another
    suffix, so it sorts where ``version`` did and rollback and retention keep their order."""
    while True:
        candidate = f"{version[:16]}-{secrets.token_hex(2)}"
        if candidate != version and not (root / candidate).exists():
            return candidate


def write_json(path: Path, payload: dict) -> None:
    """Write ``payload`` whole or not at all: a temporary file, fsynced, then renamed over ``path``."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as fh:
        json.dump(payload, fh, indent=2, sort_keys=True, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _previous_day(item: np.ndarray, order: np.ndarray, day: np.ndarray, chunk: int = 1 << 22) -> np.ndarray:
    """For each row, the day of the row before it in ``order`` when both are of the same ``item``, else
    ``NO_PREVIOUS``. ``order`` sorts the rows by item, then as they should be counted (``argsort``, stable);
    it is read a chunk at a time (``sorted_neighbours``)."""
    previous = np.full(len(item), NO_PREVIOUS, dtype=np.int32)
    for _, at, same in sorted_neighbours(item, order, chunk):
        previous[at[1:][same]] = day[at[:-1][same]]
    return previous


def with_first_occurrences(facts: pa.Table) -> pa.Table:
    """The facts with ``PREVIOUS_PAIR`` and ``PREVIOUS_USER`` (``etl.snapshot_format``).

    Users and trainings are global codes (a row of the tenant's users or
    trainings frame), so an item never spans two tenants. Within one event type
    the rows are in day order, so a stable sort by item keeps each item's rows in
    day order. A user's active rows (``ACTIVE_EVENTS``) are ordered by day, then
    event type, then row; a user's enrolment rows form a chain of their own.
    """
    day = facts.column("day").to_numpy().astype(np.int32, copy=False)
    user = facts.column("user").to_numpy()
    training = facts.column("training").to_numpy()  # as narrow as stored: summed into int64 keys in place
    event = facts.column("event").to_numpy()
    n_trainings = int(training.max()) + 2 if len(training) else 1
    pair = user * np.int64(len(EVENT_TYPES))
    pair += event
    pair *= n_trainings
    pair += training
    pair += 1
    active = np.isin(event, [EVENT_TYPES.index(e) for e in ACTIVE_EVENTS])
    chain = user * np.int64(2)  # a user's active rows, or their enrolments
    chain += ~active
    del user, training, active
    with ThreadPoolExecutor(max_workers=1) as pool:  # two sorts, one per core (numpy lets go of the GIL)
        previous_pair = pool.submit(lambda: _previous_day(pair, stable_order([pair]), day))
        by_chain = stable_order([chain, day - (int(day.min()) if len(day) else 0), event])
        previous_user = _previous_day(chain, by_chain, day)
        return (facts.append_column(PREVIOUS_PAIR, pa.array(previous_pair.result()))
                .append_column(PREVIOUS_USER, pa.array(previous_user)))


def write_snapshot(root: Path, version: str, frames: Frames, manifest: dict,
                   derived: Mapping[str, Callable[[Frames], object]] | None = None) -> Path:
    """Write a complete snapshot folder (not yet live) and return it.

    ``derived``: manifest entries computed from the frames (the tenants' digests), in a thread while the
    frames are written."""
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{version}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:  # the facts' first occurrences while the rest is written
            facts = pool.submit(with_first_occurrences, frames.facts)
            entries = {key: pool.submit(derive, frames) for key, derive in (derived or {}).items()}
            for name in sorted(FRAME_NAMES, key=lambda name: name == "facts"):  # the facts last
                frame = facts.result() if name == "facts" else getattr(frames, name)
                table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
                write_frame(table, tmp / f"{name}{FRAME_SUFFIX}")
        manifest = {**manifest, **{key: entry.result() for key, entry in entries.items()},
                    "version": version, "schema_version": SCHEMA_VERSION,
                    "dictionaries": frames.dictionaries,
                    "files": {name: (tmp / f"{name}{FRAME_SUFFIX}").stat().st_size for name in FRAME_NAMES}}
        write_json(tmp / "manifest.json", manifest)
        fsync_dir(tmp)
        pause_point("write.rename")
        final = root / version
        os.rename(tmp, final)
        fsync_dir(root)
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def save_report(root: Path, report: dict, version: str | None = None) -> Path:
    """Keep the refresh report in ``reports/`` and, when a snapshot was written, beside it."""
    root = Path(root)
    (root / "reports").mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    export = report.get("export", {}).get("date") or "none"
    path = root / "reports" / f"{stamp}-{export}.json"
    write_json(path, report)
    if version is not None and (root / version).is_dir():
        write_json(root / version / "report.json", report)
    return path
