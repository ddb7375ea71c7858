"""The assignments file of an export (``assignments.csv``, optional): who must complete which training, by when.

Rules (``docs/data-contract.md``): a row is rejected, with its line, column
and reason, for a missing key or ``assigned_at``, a bad ``tenant_id``, a date
that does not parse, or a ``due_at`` before its ``assigned_at``; over the
reject ratio the whole export is rejected, as for the activity. Of the valid
rows repeating a (tenant, user, training) key the last in the file wins and the
others are counted as duplicates. A date alone is the start (``assigned_at``)
or the end (``due_at``) of that day in the tenant's time zone (``etl.zones``).

Millions of rows are checked as Arrow and numpy columns, never row by row.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl.csv_reader import DEFAULT_MAX_EXPORT_BYTES, check_columns, read_csv, read_header
from etl.row_rules import (DICTIONARY, MAX_EXAMPLES, MAX_VALUE_CHARS, TENANT_ID, RowRejects, assume_utc,
                           dictionary_codes, lenient_cast)
from etl.snapshot_format import NO_INSTANT
from etl.validate import check_totals
from etl.zones import UTC, day_starts

REQUIRED = ("tenant_id", "user_id", "training_id", "assigned_at")
OPTIONAL = ("due_at",)
KEY = ("tenant_id", "user_id", "training_id")
DUPLICATE = "duplicate assignment"
_DATE_ONLY = r"^\d{4}-\d{2}-\d{2}$"
_TIMESTAMP = pa.timestamp("us", tz="UTC")


@dataclass
class Assignments:
    """The valid, last-of-their-key assignments (strings in dictionaries), and what was dropped."""

    tenant: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  # index into tenant_values
    tenant_values: pa.Array = field(default_factory=lambda: pa.array([], pa.string()))
    user: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    user_values: pa.Array = field(default_factory=lambda: pa.array([], pa.string()))
    training: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    training_values: pa.Array = field(default_factory=lambda: pa.array([], pa.string()))
    assigned_at: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # microseconds, UTC
    due_at: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # NO_INSTANT: no deadline
    rows_read: int = 0
    rejects: RowRejects = field(default_factory=RowRejects)
    duplicates: int = 0

    def __len__(self) -> int:
        return len(self.tenant)

    def take(self, mask: np.ndarray) -> "Assignments":
        """The assignments where ``mask`` is set (the report's counts stay those of the file)."""
        return Assignments(**{name: value[mask] if isinstance(value, np.ndarray) else value
                              for name, value in vars(self).items()})

    def to_report(self) -> dict:
        return {"rows_read": self.rows_read, "rows_accepted": len(self), "rows_rejected": self.rejects.total,
                "duplicates": self.duplicates, "rejects": self.rejects.to_dict()}


def _instants(values: pa.ChunkedArray | None, n: int, day_zone: np.ndarray, zones: list[str],
              end_of_day: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(instants in microseconds, missing, malformed) of a date-or-timestamp column.

    A timestamp without an offset is UTC, as in the activity; a date alone
    starts (or, ``end_of_day``, ends) in the zone ``zones[day_zone[row]]``.
    """
    if values is None:
        return np.zeros(n, np.int64), np.ones(n, bool), np.zeros(n, bool)
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    missing = values.is_null().to_numpy(zero_copy_only=False)
    is_date = pc.fill_null(pc.match_substring_regex(values, _DATE_ONLY), False)
    dates, date_failed = lenient_cast(pa.chunked_array([pc.if_else(is_date, values, None)]), pa.date32())
    stamps, stamp_failed = lenient_cast(pa.chunked_array([pc.if_else(is_date, None, values)]), _TIMESTAMP,
                                        fix=assume_utc)
    out = pc.fill_null(stamps.cast(pa.int64()), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    days = pc.fill_null(dates.cast(pa.int32()), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    dated = np.flatnonzero(is_date.to_numpy(zero_copy_only=False) & ~date_failed)
    for code in np.unique(day_zone[dated]):
        rows = dated[day_zone[dated] == code]
        out[rows] = (day_starts(days[rows] + 1, zones[code]) - 1 if end_of_day
                     else day_starts(days[rows], zones[code]))
    return out, missing, date_failed | stamp_failed


def read_assignments(path: Path | None, zones: dict[str, str], max_reject_ratio: float, warnings: list[str],
                     max_bytes: int = DEFAULT_MAX_EXPORT_BYTES) -> Assignments:
    """``assignments.csv[.gz]`` read and checked (``zones``: tenant id → time zone, absent: UTC); raises
    ``ExportRejected`` when more than ``max_reject_ratio`` of its rows are rejected."""
    if path is None:
        return Assignments()
    header = read_header(path, max_bytes)
    columns = check_columns(path, header, REQUIRED, OPTIONAL, warnings)
    malformed: list[str] = []
    raw = read_csv(path, columns, {c: DICTIONARY for c in KEY}, malformed, max_bytes).unify_dictionaries()
    n = raw.num_rows
    tenant, tenant_values = dictionary_codes(raw.column("tenant_id"), n)
    user, user_values = dictionary_codes(raw.column("user_id"), n)
    training, training_values = dictionary_codes(raw.column("training_id"), n)
    names = tenant_values.to_pylist()
    zone_names = sorted({zones.get(t, UTC) for t in names} | {UTC})
    zone_of_tenant = np.array([zone_names.index(zones.get(t, UTC)) for t in names] + [0], dtype=np.int32)
    row_zone = zone_of_tenant[tenant]
    bad_tenant = np.array([not TENANT_ID.match(t) for t in names] + [False], dtype=bool)[tenant]
    due_column = raw.column("due_at") if "due_at" in raw.column_names else None
    assigned, no_assigned, bad_assigned = _instants(raw.column("assigned_at"), n, row_zone, zone_names, False)
    due, no_due, bad_due = _instants(due_column, n, row_zone, zone_names, True)
    rules = (
        ("tenant_id", "missing tenant_id", tenant < 0),
        ("tenant_id", "bad tenant_id", bad_tenant),
        ("user_id", "missing user_id", user < 0),
        ("training_id", "missing training_id", training < 0),
        ("assigned_at", "missing assigned_at", no_assigned),
        ("assigned_at", "malformed assigned_at (expected an ISO 8601 date or timestamp)", bad_assigned),
        ("due_at", "malformed due_at (expected an ISO 8601 date or timestamp)", bad_due),
        ("due_at", "due_at before assigned_at", ~no_due & ~bad_due & ~bad_assigned & (due < assigned)),
    )
    rejects = RowRejects()
    valid = np.ones(n, dtype=bool)
    for column, why, broken in rules:
        hit = np.flatnonzero(valid & broken)
        valid[hit] = False
        if len(hit):
            rejects.counts[why] = len(hit)
            shown = raw.column(column).take(pa.array(hit[:MAX_EXAMPLES])).to_pylist() if column in raw.column_names \
                else [None] * min(len(hit), MAX_EXAMPLES)
            rejects.examples[why] = [{"line": int(r) + 2, "column": column,
                                      "value": None if v is None else str(v)[:MAX_VALUE_CHARS]}
                                     for r, v in zip(hit[:MAX_EXAMPLES], shown)]
    if malformed:
        why = f"wrong number of fields (expected {len(header)})"
        rejects.counts[why] = len(malformed)
        rejects.examples[why] = [{"line": None, "column": None, "value": text[:MAX_VALUE_CHARS]}
                                 for text in malformed[:MAX_EXAMPLES]]
    rows_read = n + len(malformed)
    if rows_read:
        check_totals(path.name, rows_read, rejects, max_reject_ratio)
    kept = np.flatnonzero(valid)
    keys = pd.DataFrame({"tenant": tenant[kept], "user": user[kept], "training": training[kept]})
    last = kept[~keys.duplicated(keep="last").to_numpy()]
    due = np.where(no_due, NO_INSTANT, due)
    return Assignments(tenant=tenant[last], tenant_values=tenant_values, user=user[last], user_values=user_values,
                       training=training[last], training_values=training_values, assigned_at=assigned[last],
                       due_at=due[last], rows_read=rows_read, rejects=rejects, duplicates=len(kept) - len(last))
