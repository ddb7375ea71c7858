"""Writing a snapshot: a new version folder, whole or not at all, and the refresh reports beside it.

The layout, the pointer and everything a reader needs are the contract in
``etl.snapshot_format``; this module is the ETL's writing side. A snapshot is
written into a hidden temporary folder, fsynced, renamed into place, and only
then named in ``CURRENT`` (``snapshot_format.publish``: write-to-temp +
``os.replace``), so a reader sees either the old snapshot or the complete new one.

The facts' first- and next-occurrence columns (``snapshot_format.PREVIOUS_PAIR``,
``PREVIOUS_USER``, ``NEXT_PAIR``, ``NEXT_USER``) and the rollup frame (``etl.rollup``)
are derived here, from the final aggregated frames, so every engine's snapshot
carries the same ones.
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
from etl.rollup import rollup, user_classes
from etl.snapshot_format import (ACTIVE_EVENTS, EVENT_TYPES, FACTS_END, FACTS_STARTS, FRAME_NAMES, FRAME_SUFFIX,
                                 NEXT_PAIR, NEXT_USER, NO_NEXT, NO_PREVIOUS, PREVIOUS_PAIR, PREVIOUS_USER,
                                 ROLLUP_END, ROLLUP_STARTS, SCHEMA_VERSION, SPANS, fsync_dir, versions, write_frame)

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


def _neighbour_days(item: np.ndarray, order: np.ndarray, day: np.ndarray,
                    chunk: int = 1 << 22) -> tuple[np.ndarray, np.ndarray]:
    """For each row, the day of the row before it and of the row after it in ``order`` when they are of the same
    ``item``, else ``NO_PREVIOUS`` and ``NO_NEXT``. ``order`` sorts the rows by item, then as they should be
    counted (``argsort``, stable); it is read a chunk at a time (``sorted_neighbours``)."""
    previous = np.full(len(item), NO_PREVIOUS, dtype=np.int32)
    following = np.full(len(item), NO_NEXT, dtype=np.int32)
    for _, at, same in sorted_neighbours(item, order, chunk):
        earlier, later = at[:-1][same], at[1:][same]
        previous[later] = day[earlier]
        following[earlier] = day[later]
    return previous, following


def with_occurrences(facts: pa.Table) -> pa.Table:
    """The facts with ``PREVIOUS_PAIR``, ``PREVIOUS_USER``, ``NEXT_PAIR`` and ``NEXT_USER``
    (``etl.snapshot_format``).

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
        by_pair = pool.submit(lambda: _neighbour_days(pair, stable_order([pair]), day))
        by_chain = stable_order([chain, day - (int(day.min()) if len(day) else 0), event])
        previous_user, next_user = _neighbour_days(chain, by_chain, day)
        previous_pair, next_pair = by_pair.result()
        for name, values in ((PREVIOUS_PAIR, previous_pair), (PREVIOUS_USER, previous_user),
                             (NEXT_PAIR, next_pair), (NEXT_USER, next_user)):
            facts = facts.append_column(name, pa.array(values))
        return facts


def with_rollup_bounds(tenants: pa.Table, bounds: np.ndarray) -> pa.Table:
    """The tenants frame with where each tenant's rollup rows of each event type start (``ROLLUP_STARTS``) and
    end; ``bounds``: the rollup positions of the tenants' facts bounds, in ``FACTS_STARTS`` + ``FACTS_END`` order."""
    per_tenant = bounds.reshape(len(FACTS_STARTS) + 1, -1)
    for name, column in zip((*ROLLUP_STARTS, ROLLUP_END), per_tenant):
        tenants = tenants.append_column(name, pa.array(column, type=pa.int64()))
    return tenants


def _rollup_frames(frames: Frames, facts: pa.Table) -> tuple[pa.Table, pa.Table]:
    """The rollup of ``facts`` (with their occurrence columns), and the tenants frame that says where its rows
    are."""
    tenants = frames.tenants
    tenants = tenants if isinstance(tenants, pa.Table) else pa.Table.from_pandas(tenants, preserve_index=False)
    classes = user_classes(frames.users, np.asarray(tenants.column(SPANS["users"][0]), dtype=np.int64))
    fact_bounds = np.concatenate([np.asarray(tenants.column(name), dtype=np.int64)
                                  for name in (*FACTS_STARTS, FACTS_END)])
    rolled, bounds = rollup(facts, classes, fact_bounds)
    return rolled, with_rollup_bounds(tenants, bounds)


def _write(frame, path: Path) -> int:
    """Write one frame (a pyarrow table or a pandas frame); its number of rows."""
    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    write_frame(table, path)
    return table.num_rows


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
        # The facts' occurrences and the digests while the small frames are written, then the facts written while
        # their rollup is made.
        with ThreadPoolExecutor(max_workers=3) as pool:
            facts = pool.submit(with_occurrences, frames.facts)
            entries = {key: pool.submit(derive, frames) for key, derive in (derived or {}).items()}
            for name in FRAME_NAMES:
                if name not in ("facts", "rollup", "tenants"):
                    _write(getattr(frames, name), tmp / f"{name}{FRAME_SUFFIX}")
            facts = facts.result()
            facts_written = pool.submit(_write, facts, tmp / f"facts{FRAME_SUFFIX}")
            rolled, tenants = _rollup_frames(frames, facts)
            del facts
            rollup_rows = _write(rolled, tmp / f"rollup{FRAME_SUFFIX}")
            _write(tenants, tmp / f"tenants{FRAME_SUFFIX}")
            facts_written.result()
        manifest = {**manifest, **{key: entry.result() for key, entry in entries.items()},
                    "version": version, "schema_version": SCHEMA_VERSION,
                    "dictionaries": frames.dictionaries,
                    "files": {name: (tmp / f"{name}{FRAME_SUFFIX}").stat().st_size for name in FRAME_NAMES}}
        manifest["rows"] = {**manifest.get("rows", {}), "rollup_frame": rollup_rows}
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
