"""The data contract, enforced: read an export's CSVs and sort rows into kept and rejected.

Every check is vectorized over Arrow arrays. A row is rejected for the first
rule it breaks, in column order, and the report keeps up to 20 examples per
reason with the line number (1 is the header; a record holding a quoted
newline counts as one line). A broken file rejects the whole export with a
one-line reason (``ExportRejected``) so the live snapshot stays untouched.
"""
from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

EVENT_TYPES = ("connection", "enrolment", "start", "completion")
CONNECTION, ENROLMENT, START, COMPLETION = range(4)
ACTIVITY_REQUIRED = ("occurred_at", "tenant_id", "user_id", "event_type")
ACTIVITY_OPTIONAL = ("event_id", "training_id", "score", "duration_s")
USERS_COLUMNS = ("tenant_id", "user_id", "group", "country")
TRAININGS_COLUMNS = ("tenant_id", "training_id", "title", "category", "format")
TENANT_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_EXAMPLES = 20
MAX_VALUE_CHARS = 120
# Timestamps before this are not LMS activity; after the export date + 1 day they are clock errors.
EARLIEST_TIMESTAMP = dt.datetime(1990, 1, 1, tzinfo=dt.timezone.utc)
_HAS_OFFSET = r"([Zz]|[+-]\d\d:?\d\d)$"
_US_PER_SECOND = 1_000_000


class ExportRejected(Exception):
    """The whole export is unusable; ``str(exc)`` is the one-line reason."""


@dataclass
class RowRejects:
    """Rejected rows: counts and examples per reason."""

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict:
        return {"total": self.total, "by_reason": dict(self.counts), "examples": dict(self.examples)}


@dataclass
class Activity:
    """Valid, deduplicated events as typed Arrow columns, plus what was dropped."""

    table: pa.Table  # tenant_id, user_id, training_id (strings), event (int8), ts (int64 us UTC), score (float64, NaN = none), duration (int64)
    rows_read: int
    rejects: RowRejects
    duplicates_dropped: int
    warnings: list[str]


def read_header(path: Path) -> list[str]:
    """Column names of a CSV file (gzip or plain), BOM stripped."""
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as raw:
            first = raw.readline(1 << 20)
    except (OSError, EOFError, zlib.error) as exc:
        raise ExportRejected(f"{path.name}: cannot read ({_short(exc)})") from exc
    if not first.strip():
        raise ExportRejected(f"{path.name}: the file is empty")
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExportRejected(f"{path.name}: not UTF-8 text ({exc.reason} at byte {exc.start} of the header)") from exc
    names = next(csv.reader(io.StringIO(text)), [])
    return [n.strip() for n in names]


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def read_strings(path: Path, columns: list[str], malformed: list[str] | None = None) -> pa.Table:
    """Read the named columns as strings (empty → null); reject on any parse failure.

    Records with the wrong number of fields are skipped and their text kept in
    ``malformed`` (when given) so they are reported as rejected rows.
    """

    def skip(row) -> str:
        if malformed is None:
            return "error"
        malformed.append(row.text)
        return "skip"

    try:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=8 << 20),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=skip),
            convert_options=pacsv.ConvertOptions(
                include_columns=columns,
                column_types={c: pa.string() for c in columns},
                null_values=[""],  # not Arrow's default list: a user named "NA" is a user
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, OSError, EOFError, zlib.error) as exc:
        message = _short(exc)
        if "invalid UTF8" in message or "UTF8" in message:
            raise ExportRejected(f"{path.name}: not UTF-8 text ({message})") from exc
        if "gzip" in message.lower() or "truncated" in message.lower() or "compressed" in message.lower():
            raise ExportRejected(f"{path.name}: the gzip stream is truncated or corrupt ({message})") from exc
        raise ExportRejected(f"{path.name}: not a readable CSV file ({message})") from exc


def _check_columns(path: Path, header: list[str], required, optional, warnings: list[str]) -> list[str]:
    seen = set()
    for name in header:
        if name in seen and name in (*required, *optional):
            raise ExportRejected(f"{path.name}: column {name!r} appears twice")
        seen.add(name)
    missing = [c for c in required if c not in seen]
    if missing:
        raise ExportRejected(f"{path.name}: required column{'s' if len(missing) > 1 else ''} missing: {', '.join(missing)}")
    extra = [c for c in header if c not in (*required, *optional)]
    if extra:
        warnings.append(f"{path.name}: unknown column{'s' if len(extra) > 1 else ''} ignored: {', '.join(extra)}")
    return [c for c in (*required, *optional) if c in seen]


def _lenient_cast(array: pa.ChunkedArray, target: pa.DataType, fix=None) -> tuple[pa.Array, np.ndarray]:
    """Cast, turning values that do not parse into nulls, and say which failed.

    Casting whole chunks is fast; a chunk that fails is split in halves until the
    bad values are isolated, so clean data pays one cast and dirty data
    O(bad rows × log n) casts. ``fix`` may rewrite a failing chunk once (for
    example, adding ``Z`` to timestamps that carry no offset) before splitting.
    """
    pieces: list[pa.Array] = []
    failed: list[np.ndarray] = []

    def cast(chunk: pa.Array, fixed: bool) -> None:
        try:
            pieces.append(pc.cast(chunk, target))
            failed.append(np.zeros(len(chunk), dtype=bool))
            return
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        if fix is not None and not fixed:
            return cast(fix(chunk), True)
        if len(chunk) == 1:
            pieces.append(pa.nulls(1, target))
            failed.append(np.ones(1, dtype=bool))
            return
        half = len(chunk) // 2
        cast(chunk.slice(0, half), fixed)
        cast(chunk.slice(half), fixed)

    for chunk in array.chunks:
        cast(chunk, False)
    if not pieces:
        return pa.array([], target), np.zeros(0, dtype=bool)
    return pa.concat_arrays(pieces), np.concatenate(failed)


def _assume_utc(chunk: pa.Array) -> pa.Array:
    """A timestamp with no offset is UTC (contract): make that explicit."""
    has_offset = pc.match_substring_regex(chunk, _HAS_OFFSET)
    return pc.if_else(pc.fill_null(has_offset, True), chunk, pc.binary_join_element_wise(chunk, "Z", ""))


def _np_bool(array) -> np.ndarray:
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)


def validate_activity(path: Path, export_date: dt.date, max_reject_ratio: float) -> Activity:
    """Read ``activity.csv[.gz]`` and keep the valid, first-seen events."""
    warnings: list[str] = []
    header = read_header(path)
    columns = _check_columns(path, header, ACTIVITY_REQUIRED, ACTIVITY_OPTIONAL, warnings)
    malformed: list[str] = []
    raw = read_strings(path, columns, malformed)
    n = raw.num_rows
    if n + len(malformed) == 0:
        raise ExportRejected(f"{path.name}: the file holds a header but no rows")

    def column(name: str) -> pa.ChunkedArray:
        if name in raw.column_names:
            return raw.column(name)
        return pa.chunked_array([pa.nulls(n, pa.string())])

    reason = np.zeros(n, dtype=np.int8)  # 0 = valid, else index into `reasons` + 1
    reasons: list[tuple[str, str]] = []  # (column, reason)

    def reject(mask: np.ndarray, col: str, why: str) -> None:
        reasons.append((col, why))
        reason[(reason == 0) & mask] = len(reasons)

    # occurred_at
    ts_raw = column("occurred_at")
    reject(_np_bool(pc.is_null(ts_raw)), "occurred_at", "missing occurred_at")
    ts, ts_failed = _lenient_cast(ts_raw, pa.timestamp("us", tz="UTC"), fix=_assume_utc)
    reject(ts_failed, "occurred_at", "unparsable timestamp")
    ts_us = pc.fill_null(ts.cast(pa.int64()), 0).to_numpy()
    earliest = int(EARLIEST_TIMESTAMP.timestamp()) * _US_PER_SECOND
    latest = int(dt.datetime.combine(export_date + dt.timedelta(days=2), dt.time(), dt.timezone.utc).timestamp()) * _US_PER_SECOND
    reject(~ts_failed & ((ts_us < earliest) | (ts_us >= latest)), "occurred_at",
           "timestamp out of range (before 1990 or after the export date)")

    # tenant_id: validate the few distinct values, not every row
    tenants = column("tenant_id").combine_chunks().dictionary_encode()
    reject(_np_bool(pc.is_null(tenants)), "tenant_id", "missing tenant_id")
    bad_tenant = np.array([not TENANT_ID.match(v) for v in tenants.dictionary.to_pylist()], dtype=bool)
    tenant_idx = pc.fill_null(tenants.indices, 0).to_numpy()
    reject(bad_tenant[tenant_idx] if len(bad_tenant) else np.zeros(n, bool), "tenant_id",
           "bad tenant_id (1 to 64 of A-Z a-z 0-9 _ . -)")

    reject(_np_bool(pc.is_null(column("user_id"))), "user_id", "missing user_id")

    # event_type: case-insensitive, mapped on the dictionary
    kinds = column("event_type").combine_chunks().dictionary_encode()
    reject(_np_bool(pc.is_null(kinds)), "event_type", "missing event_type")
    lookup = np.array([EVENT_TYPES.index(v.lower()) if v.lower() in EVENT_TYPES else -1
                       for v in kinds.dictionary.to_pylist()] or [-1], dtype=np.int8)
    event = lookup[pc.fill_null(kinds.indices, 0).to_numpy()]
    reject(event < 0, "event_type", "unknown event_type (expected connection, enrolment, start or completion)")

    training = column("training_id")
    no_training = _np_bool(pc.is_null(training))
    reject((event > CONNECTION) & no_training, "training_id", "missing training_id (required for enrolment, start and completion)")
    reject((event == CONNECTION) & ~no_training, "training_id", "training_id must be empty for a connection")

    score, score_failed = _lenient_cast(column("score"), pa.float64())
    reject(score_failed, "score", "score is not a number")
    score_np = pc.fill_null(score, np.nan).to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        out_of_range = ~_np_bool(pc.is_null(score)) & ~((score_np >= 0) & (score_np <= 100))
    reject(out_of_range, "score", "score outside 0 to 100")

    duration, duration_failed = _lenient_cast(column("duration_s"), pa.int64())
    reject(duration_failed, "duration_s", "duration_s is not an integer")
    duration_np = pc.fill_null(duration, 0).to_numpy()
    reject(duration_np < 0, "duration_s", "negative duration_s")

    rejects = _collect_rejects(reason, reasons, raw)
    if malformed:
        why = f"wrong number of fields (expected {len(header)})"
        rejects.counts[why] = len(malformed)
        rejects.examples[why] = [{"line": None, "column": None, "value": text[:MAX_VALUE_CHARS]}
                                 for text in malformed[:MAX_EXAMPLES]]
    ratio = rejects.total / (n + len(malformed))
    if ratio > max_reject_ratio:
        top = max(rejects.counts, key=rejects.counts.get)
        raise ExportRejected(
            f"{path.name}: {rejects.total} of {n + len(malformed)} rows rejected ({ratio:.1%}, above the {max_reject_ratio:.1%} limit); "
            f"most common: {top} ({rejects.counts[top]})")

    keep = reason == 0
    duplicates = np.zeros(n, dtype=bool)
    if "event_id" in raw.column_names:
        duplicates = _repeated_ids(raw.column("event_id"), keep)
        keep &= ~duplicates

    mask = pa.array(keep)
    table = pa.table({
        "tenant_id": pc.filter(column("tenant_id"), mask),
        "user_id": pc.filter(column("user_id"), mask),
        "training_id": pc.filter(training, mask),
        "event": pa.array(event[keep], pa.int8()),
        "ts": pa.array(ts_us[keep], pa.int64()),
        "score": pa.array(score_np[keep], pa.float64()),
        "duration": pa.array(duration_np[keep], pa.int64()),
    })
    return Activity(table, n + len(malformed), rejects, int(duplicates.sum()), warnings)


def _repeated_ids(event_ids: pa.ChunkedArray, valid: np.ndarray) -> np.ndarray:
    """Valid rows whose non-empty event_id was already seen on an earlier valid row."""
    codes = event_ids.combine_chunks().dictionary_encode()
    idx = pc.fill_null(codes.indices, -1).to_numpy().astype(np.int64)
    candidates = valid & (idx >= 0)
    counts = np.bincount(idx[candidates], minlength=len(codes.dictionary))
    repeated = candidates & (counts[np.where(idx >= 0, idx, 0)] > 1)
    out = np.zeros(len(idx), dtype=bool)
    rows = np.flatnonzero(repeated)
    if len(rows):
        _, first = np.unique(idx[rows], return_index=True)
        out[rows] = True
        out[rows[first]] = False
    return out


def _collect_rejects(reason: np.ndarray, reasons: list[tuple[str, str]], raw: pa.Table) -> RowRejects:
    out = RowRejects()
    bad_rows = np.flatnonzero(reason)
    if not len(bad_rows):
        return out
    codes, counts = np.unique(reason[bad_rows], return_counts=True)
    for code, count in zip(codes, counts):
        col, why = reasons[code - 1]
        out.counts[why] = int(count)
        rows = bad_rows[reason[bad_rows] == code][:MAX_EXAMPLES]
        values = raw.column(col).take(pa.array(rows)).to_pylist() if col in raw.column_names else [None] * len(rows)
        out.examples[why] = [
            {"line": int(r) + 2, "column": col, "value": None if v is None else v[:MAX_VALUE_CHARS]}
            for r, v in zip(rows, values)
        ]
    return out


def read_dimension(path: Path | None, required: tuple[str, ...], optional: tuple[str, ...],
                   key: tuple[str, str], warnings: list[str]) -> pa.Table | None:
    """A users or trainings file as strings; rows without a key are skipped with a warning."""
    if path is None:
        return None
    header = read_header(path)
    columns = _check_columns(path, header, required, optional, warnings)
    table = read_strings(path, columns)
    for name in optional:
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, pa.string()))
    ok = pc.and_(pc.is_valid(table.column(key[0])), pc.is_valid(table.column(key[1])))
    bad_tenant = pc.invert(pc.fill_null(pc.match_substring_regex(table.column(key[0]), TENANT_ID.pattern), False))
    ok = pc.and_(ok, pc.invert(bad_tenant))
    skipped = table.num_rows - pc.sum(pc.cast(ok, pa.int64())).as_py() if table.num_rows else 0
    if skipped:
        warnings.append(f"{path.name}: {skipped} rows without a valid {key[0]} or {key[1]} skipped")
    return table.filter(ok)
