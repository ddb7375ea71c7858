"""The contract's row rules, as a table, applied to the activity rows one engine has read.

Every check is vectorized over Arrow arrays. ``parse_rows`` turns the columns
into typed numpy columns (``Parsed``: values, and which ones failed to parse);
each rule of ``ROW_RULES`` is a (column, message, predicate) whose predicate
marks, over ``Parsed``, the rows breaking it. A row is rejected for the first
rule it breaks, in table order (column order of the contract,
``docs/data-contract.md``), and the report keeps up to ``MAX_EXAMPLES``
examples per reason with the line number (1 is the header; a record holding a
quoted newline counts as one line). Both engines apply ``check_activity``: the
pandas engine to the whole file, the Dask engine to each partition, whose
rejects ``merge_rejects`` then adds up.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from etl.arrays import RowColumns
from etl.snapshot_format import CONNECTION, EVENT_TYPES

TENANT_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_EXAMPLES = 20
MAX_VALUE_CHARS = 120
# Timestamps before this are not LMS activity; after the export date + 1 day they are clock errors.
EARLIEST_TIMESTAMP = dt.datetime(1990, 1, 1, tzinfo=dt.timezone.utc)
_HAS_OFFSET = r"([Zz]|[+-]\d\d:?\d\d)$"
_US_PER_SECOND = 1_000_000
DICTIONARY = pa.dictionary(pa.int32(), pa.string())
# Columns with few distinct values are dictionary-encoded by the CSV reader itself (in parallel).
DICTIONARY_COLUMNS = ("tenant_id", "user_id", "event_type", "training_id")
TYPED_COLUMNS = {"occurred_at": pa.timestamp("us", tz="UTC"), "score": pa.float64(), "duration_s": pa.int64()}


@dataclass
class RowRejects:
    """Rejected rows: counts and examples per reason."""

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def most_common(self) -> str:
        """The reason with the most rows; ties go to the first in alphabetical order, whatever
        order the reasons were found in."""
        return min(self.counts, key=lambda why: (-self.counts[why], why))

    def to_dict(self) -> dict:
        return {"total": self.total, "by_reason": dict(self.counts), "examples": dict(self.examples)}


def merge_rejects(parts: list[tuple[RowRejects, int]]) -> RowRejects:
    """The rejects of consecutive partitions of one file, each with the rows before it: counts
    added, examples kept in file order (the first 20), line numbers made file-wide."""
    out = RowRejects()
    for rejects, rows_before in parts:
        for why, count in rejects.counts.items():
            out.counts[why] = out.counts.get(why, 0) + count
            kept = out.examples.setdefault(why, [])
            kept += [{**e, "line": e["line"] if e["line"] is None else e["line"] + rows_before}
                     for e in rejects.examples[why][:MAX_EXAMPLES - len(kept)]]
    return out


@dataclass
class Events(RowColumns):
    """Valid, deduplicated events as numpy columns; strings stay in their dictionaries."""

    tenant: np.ndarray  # int32 index into tenant_values
    tenant_values: pa.Array
    user: np.ndarray  # int32 index into user_values
    user_values: pa.Array
    training: np.ndarray  # int32 index into training_values, -1 for none
    training_values: pa.Array
    event: np.ndarray  # int8 (CONNECTION...COMPLETION)
    ts: np.ndarray  # int64 microseconds since the epoch, UTC
    score: np.ndarray  # float64, NaN when absent
    duration: np.ndarray  # int64 seconds, 0 when absent

    def __len__(self) -> int:
        return len(self.event)


@dataclass
class CheckedRows:
    """Activity rows (a whole file, or one partition of it) sorted into valid and rejected."""

    events: Events  # every parsed row: keep the ``valid`` ones
    valid: np.ndarray
    rejects: RowRejects  # line 2 is the first row of this batch
    rows_read: int  # parsed rows, and records with the wrong number of fields


def lenient_cast(array: pa.ChunkedArray, target: pa.DataType, fix=None) -> tuple[pa.Array, np.ndarray]:
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


def assume_utc(chunk: pa.Array) -> pa.Array:
    """A timestamp with no offset is UTC (contract): make that explicit."""
    has_offset = pc.match_substring_regex(chunk, _HAS_OFFSET)
    return pc.if_else(pc.fill_null(has_offset, True), chunk, pc.binary_join_element_wise(chunk, "Z", ""))


def _np_bool(array) -> np.ndarray:
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)


def dictionary_codes(column: pa.ChunkedArray | None, n: int) -> tuple[np.ndarray, pa.Array]:
    """Row codes (-1 for null) and values of a dictionary column whose chunks share one dictionary."""
    if column is None or not column.chunks:
        return np.full(n, -1, dtype=np.int32), pa.array([], pa.string())
    codes = np.concatenate([pc.fill_null(c.indices, -1).to_numpy(zero_copy_only=False) for c in column.chunks])
    return codes.astype(np.int32, copy=False), column.chunks[0].dictionary


@dataclass
class Parsed(RowColumns):
    """The activity columns parsed for the rules: numpy values, and where parsing failed."""

    occurred_at_missing: np.ndarray
    ts_failed: np.ndarray
    ts: np.ndarray  # int64 microseconds since the epoch, UTC (0 where missing or unparsable)
    earliest: int  # microseconds: the first valid instant...
    latest: int  # ...and the first one too late for this export
    tenant: np.ndarray  # dictionary codes, -1 for null
    tenant_values: pa.Array
    bad_tenant: np.ndarray  # by tenant code, one more False for -1
    user: np.ndarray
    user_values: pa.Array
    kinds: np.ndarray  # event_type codes as written
    event: np.ndarray  # the EVENT_TYPES code, -1 when unknown
    training: np.ndarray
    training_values: pa.Array
    score_failed: np.ndarray
    score_missing: np.ndarray
    score: np.ndarray  # float64, NaN when absent
    duration_failed: np.ndarray
    duration: np.ndarray  # int64, 0 when absent

    NOT_ROWS = ("bad_tenant",)  # looked up by tenant code

    def events(self) -> Events:
        return Events(tenant=self.tenant, tenant_values=self.tenant_values, user=self.user,
                      user_values=self.user_values, training=self.training, training_values=self.training_values,
                      event=self.event, ts=self.ts, score=self.score, duration=self.duration)


def parse_rows(raw: pa.Table, typed: bool, export_date: dt.date) -> Parsed:
    """The columns ``read_activity`` read, typed for the rules (``typed``: Arrow's reader already parsed them)."""
    n = raw.num_rows

    def column(name: str) -> pa.ChunkedArray | None:
        return raw.column(name) if name in raw.column_names else None

    def parsed(name: str, target: pa.DataType, fix=None) -> tuple[pa.Array | pa.ChunkedArray, np.ndarray]:
        values = column(name)
        if values is None:
            return pa.nulls(n, target), np.zeros(n, dtype=bool)
        if typed:
            return values, np.zeros(n, dtype=bool)
        return lenient_cast(values, target, fix)

    ts, ts_failed = parsed("occurred_at", TYPED_COLUMNS["occurred_at"], fix=assume_utc)
    ts_us = pc.fill_null(ts.cast(pa.int64()), 0).to_numpy()
    if isinstance(ts_us, pa.ChunkedArray):
        ts_us = ts_us.to_numpy()
    latest = dt.datetime.combine(export_date + dt.timedelta(days=2), dt.time(), dt.timezone.utc)
    # tenant_id and event_type: check the few distinct values, then look rows up
    tenant, tenant_values = dictionary_codes(column("tenant_id"), n)
    user, user_values = dictionary_codes(column("user_id"), n)
    kinds, kind_values = dictionary_codes(column("event_type"), n)
    lookup = np.array([EVENT_TYPES.index(v.lower()) if v.lower() in EVENT_TYPES else -1
                       for v in kind_values.to_pylist()] + [-1], dtype=np.int8)
    training, training_values = dictionary_codes(column("training_id"), n)
    score, score_failed = parsed("score", TYPED_COLUMNS["score"])
    score_np = np.asarray(pc.fill_null(score, np.nan).to_numpy(), dtype=np.float64) \
        if isinstance(score, pa.Array) else pc.fill_null(score, np.nan).to_numpy()
    duration, duration_failed = parsed("duration_s", TYPED_COLUMNS["duration_s"])
    return Parsed(
        occurred_at_missing=_np_bool(pc.is_null(column("occurred_at"))), ts_failed=ts_failed, ts=ts_us,
        earliest=int(EARLIEST_TIMESTAMP.timestamp()) * _US_PER_SECOND,
        latest=int(latest.timestamp()) * _US_PER_SECOND,
        tenant=tenant, tenant_values=tenant_values,
        bad_tenant=np.array([not TENANT_ID.match(v) for v in tenant_values.to_pylist()] + [False], dtype=bool),
        user=user, user_values=user_values, kinds=kinds, event=lookup[kinds],
        training=training, training_values=training_values,
        score_failed=score_failed, score_missing=_np_bool(pc.is_null(score)), score=score_np,
        duration_failed=duration_failed, duration=np.asarray(pc.fill_null(duration, 0).to_numpy(), dtype=np.int64))


def _score_out_of_range(p: Parsed) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return ~p.score_missing & ~((p.score >= 0) & (p.score <= 100))


@dataclass(frozen=True)
class RowRule:
    """One rule of the contract: the column it checks, the reason reported, the rows that break it."""

    column: str
    message: str
    broken: Callable[[Parsed], np.ndarray]


ROW_RULES = (
    RowRule("occurred_at", "missing occurred_at", lambda p: p.occurred_at_missing),
    RowRule("occurred_at", "unparsable timestamp", lambda p: p.ts_failed),
    RowRule("occurred_at", "timestamp out of range (before 1990 or after the export date)",
            lambda p: ~p.ts_failed & ((p.ts < p.earliest) | (p.ts >= p.latest))),
    RowRule("tenant_id", "missing tenant_id", lambda p: p.tenant < 0),
    RowRule("tenant_id", "bad tenant_id (1 to 64 of A-Z a-z 0-9 _ . -)", lambda p: p.bad_tenant[p.tenant]),
    RowRule("user_id", "missing user_id", lambda p: p.user < 0),
    RowRule("event_type", "missing event_type", lambda p: p.kinds < 0),
    RowRule("event_type", "unknown event_type (expected connection, enrolment, start or completion)",
            lambda p: (p.kinds >= 0) & (p.event < 0)),
    RowRule("training_id", "missing training_id (required for enrolment, start and completion)",
            lambda p: (p.event > CONNECTION) & (p.training < 0)),
    RowRule("training_id", "training_id must be empty for a connection",
            lambda p: (p.event == CONNECTION) & (p.training >= 0)),
    RowRule("score", "score is not a number", lambda p: p.score_failed),
    RowRule("score", "score outside 0 to 100", _score_out_of_range),
    RowRule("duration_s", "duration_s is not an integer", lambda p: p.duration_failed),
    RowRule("duration_s", "negative duration_s", lambda p: p.duration < 0),
)


def first_broken_rule(parsed: Parsed, chunk: int = 1 << 22) -> np.ndarray:
    """Per row, 1 + the index in ``ROW_RULES`` of the first rule it breaks (0: valid).

    The rules run on a chunk of rows at a time: their temporaries, a few per rule, then stay small enough for
    the allocator to reuse, where whole columns of 100M rows were fresh memory for each (page faults).
    """
    n = len(parsed.event)
    reason = np.zeros(n, dtype=np.int8)
    for first in range(0, n, chunk):
        rows = slice(first, min(first + chunk, n))
        part = parsed.take(rows)
        found = reason[rows]
        for code, rule in enumerate(ROW_RULES, start=1):
            found[(found == 0) & rule.broken(part)] = code
    return reason


def check_activity(raw: pa.Table, typed: bool, malformed: list[str], n_fields: int,
                   export_date: dt.date) -> CheckedRows:
    """Apply every row rule of the contract to the rows ``read_activity`` read."""
    parsed = parse_rows(raw, typed, export_date)
    reason = first_broken_rule(parsed)
    rejects = _collect_rejects(reason, raw)
    if malformed:
        why = f"wrong number of fields (expected {n_fields})"
        rejects.counts[why] = len(malformed)
        rejects.examples[why] = [{"line": None, "column": None, "value": text[:MAX_VALUE_CHARS]}
                                 for text in malformed[:MAX_EXAMPLES]]
    return CheckedRows(parsed.events(), reason == 0, rejects, raw.num_rows + len(malformed))


def _collect_rejects(reason: np.ndarray, raw: pa.Table) -> RowRejects:
    out = RowRejects()
    bad_rows = np.flatnonzero(reason)
    if not len(bad_rows):
        return out
    codes, counts = np.unique(reason[bad_rows], return_counts=True)
    for code, count in zip(codes, counts):
        rule = ROW_RULES[code - 1]
        col, why = rule.column, rule.message
        out.counts[why] = int(count)
        rows = bad_rows[reason[bad_rows] == code][:MAX_EXAMPLES]
        values = raw.column(col).take(pa.array(rows)).to_pylist() if col in raw.column_names else [None] * len(rows)
        out.examples[why] = [
            {"line": int(r) + 2, "column": col, "value": None if v is None else _text(v)[:MAX_VALUE_CHARS]}
            for r, v in zip(rows, values)
        ]
    return out


def _text(value) -> str:
    """An example value as text; a timestamp parsed on the fast path is shown in UTC."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    return str(value)
