"""The activity file: its header, its rows read and checked, the totals that reject an export.

``validate_activity`` is the pandas engine's whole job (``etl.engines``); the
Dask engine (``etl.dask_engine``) applies the same pieces to each partition:
``activity_columns`` and ``read_activity`` (through the one CSV reader,
``etl.csv_reader``), ``etl.row_rules.check_activity``, then over all of them
``merge_rejects``, ``check_totals`` and ``etl.duplicates.repeated_ids``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from etl.csv_reader import DEFAULT_MAX_EXPORT_BYTES, CsvBytes, check_columns, read_csv, read_header
from etl.duplicates import id_hashes, repeated_ids
from etl.errors import ExportRejected
from etl.row_rules import DICTIONARY, DICTIONARY_COLUMNS, TYPED_COLUMNS, Events, RowRejects, check_activity

ACTIVITY_REQUIRED = ("occurred_at", "tenant_id", "user_id", "event_type")
ACTIVITY_OPTIONAL = ("event_id", "training_id", "score", "duration_s")


@dataclass
class Activity:
    """Valid, deduplicated events (as ``validate_activity``'s ``derive`` made them), plus what was dropped."""

    events: Any  # ``Events``, or what ``derive`` made of them
    rows_read: int
    rejects: RowRejects
    duplicates_dropped: int
    warnings: list[str]


def activity_columns(source: Path | CsvBytes, warnings: list[str],
                     max_bytes: int = DEFAULT_MAX_EXPORT_BYTES) -> tuple[list[str], list[str]]:
    """The header, and the contract's columns it holds; a bad header rejects the export."""
    header = read_header(source, max_bytes)
    return header, check_columns(source, header, ACTIVITY_REQUIRED, ACTIVITY_OPTIONAL, warnings)


def read_activity(source: Path | CsvBytes, columns: list[str], malformed: list[str], typed: bool = True,
                  max_bytes: int = DEFAULT_MAX_EXPORT_BYTES) -> tuple[pa.Table, bool]:
    """The activity columns, and whether timestamps and numbers were parsed while reading.

    The fast path (``typed``) lets Arrow's CSV reader parse them; only when some
    value does not convert is the file read again with those columns as
    strings, to be checked one by one.
    """
    dictionaries = {c: DICTIONARY for c in DICTIONARY_COLUMNS}
    if typed:
        try:
            table = read_csv(source, columns, {**dictionaries, **TYPED_COLUMNS}, malformed, max_bytes)
            return table.unify_dictionaries(), True
        except pa.ArrowInvalid:
            malformed.clear()
    return read_csv(source, columns, dictionaries, malformed, max_bytes).unify_dictionaries(), False


def check_totals(name: str, rows_read: int, rejects: RowRejects, max_reject_ratio: float) -> None:
    """Reject the whole export when it holds no rows, or too many rejected ones."""
    if rows_read == 0:
        raise ExportRejected(f"{name}: the file holds a header but no rows")
    ratio = rejects.total / rows_read
    if ratio > max_reject_ratio:
        top = rejects.most_common
        raise ExportRejected(
            f"{name}: {rejects.total} of {rows_read} rows rejected ({ratio:.1%}, above the "
            f"{max_reject_ratio:.1%} limit); most common: {top} ({rejects.counts[top]})")


def validate_activity(path: Path, export_date: dt.date, max_reject_ratio: float,
                      max_bytes: int = DEFAULT_MAX_EXPORT_BYTES,
                      derive: Callable[[Events], Any] = lambda events: events) -> Activity:
    """Read ``activity.csv[.gz]`` and keep the valid, first-seen events (the pandas engine).

    ``derive`` turns the valid events into what the caller keeps (the transform's rows), row for row (its
    result has ``keep(mask)``): it runs while their duplicates are found. What is no longer read is let go
    as soon as it is not (the parsed file once checked, the events once derived), and rows are dropped in
    place: with 100M events each of them is gigabytes at the refresh's peak.
    """
    warnings: list[str] = []
    header, columns = activity_columns(path, warnings, max_bytes)
    malformed: list[str] = []
    raw, typed = read_activity(path, columns, malformed, max_bytes=max_bytes)
    with ThreadPoolExecutor(max_workers=1) as pool:  # hashing the ids, then finding repeats, beside the rest
        ids = raw.column("event_id") if "event_id" in raw.column_names else None
        hashes = pool.submit(id_hashes, ids) if ids is not None else None
        checked = check_activity(raw, typed, malformed, len(header), export_date)
        del raw  # the checked events are copies; of the file, only the ids are read again
        rows_read, rejects, valid, events = checked.rows_read, checked.rejects, checked.valid, checked.events
        del checked
        check_totals(path.name, rows_read, rejects, max_reject_ratio)
        repeats = pool.submit(lambda: repeated_ids(ids, valid, hashes.result())) if ids is not None else None
        if not valid.all():
            events.keep(valid)
        derived = derive(events)
        del events
        duplicates = repeats.result()[valid] if repeats is not None else np.zeros(len(derived), dtype=bool)
    if duplicates.any():
        derived.keep(~duplicates)
    return Activity(derived, rows_read, rejects, int(duplicates.sum()), warnings)
