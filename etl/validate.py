"""The data contract, enforced: read an export's CSVs and sort rows into kept and rejected.

Every check is vectorized over Arrow arrays. A row is rejected for the first
rule it breaks, in column order, and the report keeps up to 20 examples per
reason with the line number (1 is the header; a record holding a quoted
newline counts as one line). A broken file rejects the whole export with a
one-line reason (``ExportRejected``) so the live snapshot stays untouched.

Both ETL engines apply the same functions: the pandas engine to the whole
file (``validate_activity``), the Dask engine (``etl.dask_engine``) to each
partition, a ``CsvBytes`` holding the header line and whole records, with
``read_activity`` and ``check_activity``, then ``merge_rejects``,
``check_totals`` and ``repeated_ids`` over all of them.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from etl.errors import ExportRejected, SourceError
from etl.snapshot_format import CONNECTION, EVENT_TYPES
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


@dataclass(frozen=True)
class CsvBytes:
    """A CSV file, or a partition of one (its header line, then whole records), in memory.

    ``name`` is the file's name, so that messages name the file of the export.
    """

    name: str
    data: bytes


@dataclass
class Activity:
    """Valid, deduplicated events as typed Arrow columns, plus what was dropped."""

    events: "Events"
    rows_read: int
    rejects: RowRejects
    duplicates_dropped: int
    warnings: list[str]


DEFAULT_MAX_EXPORT_BYTES = 20 * 10**9
MAX_HEADER_BYTES = 10**6
_LINE_ENDS = re.compile(rb"[\r\n]")


def _size(n: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} bytes"


def too_large(name: str, limit: int) -> str:
    """Why a file over ``DATAVIZ_MAX_EXPORT_BYTES`` is refused."""
    return f"{name}: more than {_size(limit)} uncompressed, the limit (DATAVIZ_MAX_EXPORT_BYTES); a gzip bomb or a wrong file"


class BoundedReader(io.RawIOBase):
    """A file's bytes, gunzipped for ``.gz``, refusing to give more than ``limit``.

    A few kilobytes of gzip can inflate to terabytes, and a file may grow while
    it is read: counting what is actually read bounds the memory and time a
    refresh can spend on one file, whatever the file claims. A ``CsvBytes`` is
    read from memory.
    """

    def __init__(self, path: Path | CsvBytes, limit: int):
        super().__init__()
        self.name = path.name
        self.limit = limit
        self.count = 0
        self.error: Exception | None = None
        self._inner = None
        if isinstance(path, CsvBytes):
            if len(path.data) > limit:
                raise ExportRejected(too_large(self.name, limit))
            self._inner = pa.BufferReader(path.data)
            return
        try:
            if not path.name.endswith(".gz") and path.stat().st_size > limit:
                raise ExportRejected(too_large(self.name, limit))
            self._inner = pa.input_stream(str(path), compression="gzip" if path.name.endswith(".gz") else None)
        except FileNotFoundError as exc:
            raise SourceError(f"{path.name} disappeared while the export was read") from exc

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        """The next bytes; past the limit, or after a read error, end of file (see ``check``).

        Nothing is raised from here: an exception thrown into Arrow's threaded
        CSV reader leaves a task behind that hangs the process at exit.
        """
        if self.count > self.limit or self.error is not None:
            return b""
        try:
            data = self._inner.read(size if size is not None and size >= 0 else None)
        except Exception as exc:
            self.error = exc
            return b""
        self.count += len(data)
        return b"" if self.count > self.limit else data

    def check(self) -> None:
        """Raise ExportRejected if the limit was reached, else the read error hidden from the reader."""
        if self.count > self.limit:
            raise ExportRejected(too_large(self.name, self.limit))
        if self.error is not None:
            raise self.error

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed and self._inner is not None:
            self._inner.close()
        super().close()


def read_header(path: Path | CsvBytes, max_bytes: int = DEFAULT_MAX_EXPORT_BYTES) -> list[str]:
    """Column names of a CSV file (gzip or plain), BOM stripped.

    The first record ends at the first CR or LF (files may use either), after
    any blank lines, which the CSV reader skips too.
    """
    head = b""
    try:
        with BoundedReader(path, max_bytes) as raw:
            while not _LINE_ENDS.search(head.lstrip(b"\r\n")) and len(head) <= MAX_HEADER_BYTES:
                chunk = raw.read(1 << 16)
                if not chunk:
                    break
                head += chunk
            raw.check()
    except (OSError, EOFError, zlib.error, pa.ArrowInvalid) as exc:
        raise read_error(path, exc) from exc
    head = head.lstrip(b"\r\n")
    if not head.strip():
        raise ExportRejected(f"{path.name}: the file is empty")
    end = _LINE_ENDS.search(head)
    if end is None and len(head) > MAX_HEADER_BYTES:
        raise ExportRejected(f"{path.name}: the header line is longer than {_size(MAX_HEADER_BYTES)}")
    line = head[:end.start()] if end else head
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in line:
        raise ExportRejected(f"{path.name}: not UTF-8 text (UTF-16 or binary: the header holds NUL bytes "
                             f"or a UTF-16 byte order mark)")
    try:
        text = line.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExportRejected(f"{path.name}: not UTF-8 text ({exc.reason} at byte {exc.start} of the header)") from exc
    try:
        names = next(csv.reader([text]), [])
    except csv.Error as exc:
        raise ExportRejected(f"{path.name}: the header is not a CSV line ({exc})") from exc
    return [n.strip() for n in names]


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


DICTIONARY = pa.dictionary(pa.int32(), pa.string())
# Columns with few distinct values are dictionary-encoded by the CSV reader itself (in parallel).
DICTIONARY_COLUMNS = ("tenant_id", "user_id", "event_type", "training_id")
TYPED_COLUMNS = {"occurred_at": pa.timestamp("us", tz="UTC"), "score": pa.float64(), "duration_s": pa.int64()}


def read_error(path: Path | CsvBytes, exc: Exception) -> ExportRejected:
    """A file that cannot be read as text CSV rejects the export, with what was wrong."""
    message = _short(exc)
    if "UTF8" in message:
        return ExportRejected(f"{path.name}: not UTF-8 text ({message})")
    lowered = message.lower()
    if "gzip" in lowered or "truncated" in lowered or "compressed" in lowered:
        return ExportRejected(f"{path.name}: the gzip stream is truncated or corrupt ({message})")
    return ExportRejected(f"{path.name}: not a readable CSV file ({message})")


def read_csv(path: Path | CsvBytes, columns: list[str], types: dict[str, pa.DataType] | None = None,
             malformed: list[str] | None = None, max_bytes: int = DEFAULT_MAX_EXPORT_BYTES) -> pa.Table:
    """Read the named columns (strings unless ``types`` says otherwise; empty → null).

    Records with the wrong number of fields are skipped and their text kept in
    ``malformed`` (when given) so they are reported as rejected rows. A value
    that does not convert to its type raises ``pa.ArrowInvalid`` (the caller
    may fall back to strings); any other failure rejects the export.
    """
    types = types or {}

    def skip(row) -> str:
        if malformed is None:
            return "error"
        malformed.append(row.text)
        return "skip"

    raw = BoundedReader(path, max_bytes)
    error: Exception | None = None
    try:
        with raw:
            table = pacsv.read_csv(
                raw,
                read_options=pacsv.ReadOptions(block_size=8 << 20),
                parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=skip),
                convert_options=pacsv.ConvertOptions(
                    include_columns=columns,
                    column_types={c: types.get(c, pa.string()) for c in columns},
                    null_values=[""],  # not Arrow's default list: a user named "NA" is a user
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                ),
            )
    except (pa.ArrowInvalid, OSError, EOFError, zlib.error) as exc:
        error = exc
    try:
        raw.check()  # the size limit, or the stream's own failure, explains whatever Arrow saw after it
    except ExportRejected:
        raise
    except Exception as exc:
        error = exc
    if error is None:
        return table
    if isinstance(error, pa.ArrowInvalid) and "conversion error" in str(error) and "UTF8" not in str(error):
        raise error
    raise read_error(path, error) from error


def _check_columns(path: Path | CsvBytes, header: list[str], required, optional,
                   warnings: list[str]) -> list[str]:
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


@dataclass
class Events:
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

    def take(self, mask: np.ndarray) -> "Events":
        """The rows where ``mask`` is set."""
        return Events(**{name: value[mask] if isinstance(value, np.ndarray) else value
                         for name, value in vars(self).items()})


def _dictionary_codes(column: pa.ChunkedArray | None, n: int) -> tuple[np.ndarray, pa.Array]:
    """Row codes (-1 for null) and values of a dictionary column whose chunks share one dictionary."""
    if column is None or not column.chunks:
        return np.full(n, -1, dtype=np.int32), pa.array([], pa.string())
    codes = np.concatenate([pc.fill_null(c.indices, -1).to_numpy(zero_copy_only=False) for c in column.chunks])
    return codes.astype(np.int32, copy=False), column.chunks[0].dictionary


def _event_id_codes(event_ids: pa.ChunkedArray) -> tuple[np.ndarray, int]:
    """Codes of event ids (-1 for none) through a dictionary of every id: any text, any length."""
    encoded = event_ids.combine_chunks().dictionary_encode()
    return pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int64), len(encoded.dictionary)


_WIDEST_HASHED_ID = 64  # bytes; longer ids take the dictionary path
_BITMAP_SIZE = 1 << 22
_MIX = np.uint64(0x9E3779B97F4A7C15)


def _id_hashes(ids: pa.ChunkedArray) -> np.ndarray | None:
    """A 64-bit hash of each event id (nulls hash as empty), or None when an id is
    longer than ``_WIDEST_HASHED_ID`` bytes or holds multi-byte text.

    A hash table of ten million strings (``dictionary_encode``) is slow and big,
    for the ~0.01% of rows that repeat an id. Here each chunk's ids are laid out
    at one fixed width, a multiple of 8 bytes, and read as machine words: in
    place when they all have one length (the usual export), else padded with
    ``utf8_rpad``.
    """
    def offsets_of(chunk) -> np.ndarray:
        return np.frombuffer(chunk.buffers()[1], dtype=np.int32, count=chunk.offset + len(chunk) + 1)[chunk.offset:]

    if not pa.types.is_string(ids.type):
        return None
    chunks = [c for c in ids.chunks if len(c)]
    sizes = [np.diff(offsets_of(c)) for c in chunks]
    widest = max((int(size.max()) for size in sizes), default=0)
    if widest > _WIDEST_HASHED_ID:
        return None
    width = max(8, -(-widest // 8) * 8)  # one width for every chunk: equal ids, equal hashes
    parts = []
    for chunk, size in zip(chunks, sizes):
        n = len(chunk)
        offsets = offsets_of(chunk)
        one = int(size.min())
        if one == int(size.max()) and one > 0:  # one length, no nulls: the bytes are already a grid
            grid = np.frombuffer(chunk.buffers()[2], dtype=np.uint8, count=int(offsets[-1]))[offsets[0]:]
            grid = grid.reshape(n, one)
            if one != width:
                padded = np.full((n, width), ord(" "), dtype=np.uint8)  # as utf8_rpad pads
                padded[:, :one] = grid
                grid = padded
        else:
            chunk = pc.utf8_rpad(pc.fill_null(chunk, ""), width=width, padding=" ")
            offsets = offsets_of(chunk)
            if offsets[-1] - offsets[0] != n * width:
                return None  # multi-byte characters: rpad counts characters, not bytes
            grid = np.frombuffer(chunk.buffers()[2], dtype=np.uint8, count=int(offsets[-1]))[offsets[0]:]
        words = np.ascontiguousarray(grid).reshape(-1).view(np.uint64).reshape(n, width // 8)
        h = np.zeros(n, dtype=np.uint64)
        with np.errstate(over="ignore"):
            for j in range(width // 8):
                h = (h ^ words[:, j]) * _MIX
                h ^= h >> np.uint64(29)
        parts.append(h)
    if not parts:
        return np.zeros(0, dtype=np.uint64)
    with np.errstate(over="ignore"):  # the length tells "a" from "a " (padding) and from a null
        return np.concatenate(parts) ^ (np.concatenate(sizes).astype(np.uint64) * np.uint64(0xBF58476D1CE4E5B9))


def _event_id_keys(event_ids: pa.ChunkedArray):
    """What finding duplicates needs, computed beside the other checks: hashes, or dictionary codes."""
    hashes = _id_hashes(event_ids)
    return ("hashes", hashes) if hashes is not None else ("codes", _event_id_codes(event_ids))


def _repeated_ids(event_ids: pa.ChunkedArray, keys, valid: np.ndarray) -> np.ndarray:
    """Valid rows whose non-empty event_id was already seen on an earlier valid row.

    With hashes, only rows whose hash repeats are candidates (a sort, then a
    bitmap on the low bits and an exact check), and only those are compared as
    strings: a hash collision costs a comparison, never a wrong answer.
    """
    kind, value = keys
    if kind == "codes":
        return _repeated(*value, valid)
    out = np.zeros(len(valid), dtype=bool)
    rows = np.flatnonzero(valid & _np_bool(pc.is_valid(event_ids)))
    h = value[rows]
    ordered = np.sort(h)
    repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    if not len(repeated):
        return out
    bitmap = np.zeros(_BITMAP_SIZE, dtype=bool)
    bitmap[(repeated & np.uint64(_BITMAP_SIZE - 1)).astype(np.intp)] = True
    maybe = np.flatnonzero(bitmap[(h & np.uint64(_BITMAP_SIZE - 1)).astype(np.intp)])
    candidates = rows[maybe[np.isin(h[maybe], repeated)]]  # in file order
    seen: set[str] = set()
    for row, text in zip(candidates.tolist(), event_ids.take(pa.array(candidates)).to_pylist()):
        if text in seen:
            out[row] = True
        else:
            seen.add(text)
    return out


def activity_columns(source: Path | CsvBytes, warnings: list[str],
                     max_bytes: int = DEFAULT_MAX_EXPORT_BYTES) -> tuple[list[str], list[str]]:
    """The header, and the contract's columns it holds; a bad header rejects the export."""
    header = read_header(source, max_bytes)
    return header, _check_columns(source, header, ACTIVITY_REQUIRED, ACTIVITY_OPTIONAL, warnings)


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


@dataclass
class CheckedRows:
    """Activity rows (a whole file, or one partition of it) sorted into valid and rejected."""

    events: Events  # every parsed row: keep the ``valid`` ones
    valid: np.ndarray
    rejects: RowRejects  # line 2 is the first row of this batch
    rows_read: int  # parsed rows, and records with the wrong number of fields


def check_activity(raw: pa.Table, typed: bool, malformed: list[str], n_fields: int,
                   export_date: dt.date) -> CheckedRows:
    """Apply every row rule of the contract to the rows ``read_activity`` read."""
    reason, reasons, events = _check_rows(raw, raw.num_rows, typed, export_date)
    rejects = _collect_rejects(reason, reasons, raw)
    if malformed:
        why = f"wrong number of fields (expected {n_fields})"
        rejects.counts[why] = len(malformed)
        rejects.examples[why] = [{"line": None, "column": None, "value": text[:MAX_VALUE_CHARS]}
                                 for text in malformed[:MAX_EXAMPLES]]
    return CheckedRows(events, reason == 0, rejects, raw.num_rows + len(malformed))


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


def repeated_ids(event_ids: pa.ChunkedArray, valid: np.ndarray) -> np.ndarray:
    """Valid rows whose event_id was already seen on an earlier valid row: the first one wins."""
    return _repeated_ids(event_ids, _event_id_keys(event_ids), valid)


def validate_activity(path: Path, export_date: dt.date, max_reject_ratio: float,
                      max_bytes: int = DEFAULT_MAX_EXPORT_BYTES) -> Activity:
    """Read ``activity.csv[.gz]`` and keep the valid, first-seen events (the pandas engine)."""
    warnings: list[str] = []
    header, columns = activity_columns(path, warnings, max_bytes)
    malformed: list[str] = []
    raw, typed = read_activity(path, columns, malformed, max_bytes=max_bytes)
    with ThreadPoolExecutor(max_workers=1) as pool:  # hashing the ids runs beside the row rules
        ids = pool.submit(_event_id_keys, raw.column("event_id")) if "event_id" in raw.column_names else None
        checked = check_activity(raw, typed, malformed, len(header), export_date)
        check_totals(path.name, checked.rows_read, checked.rejects, max_reject_ratio)
        duplicates = (_repeated_ids(raw.column("event_id"), ids.result(), checked.valid) if ids is not None
                      else np.zeros(raw.num_rows, dtype=bool))
    keep = checked.valid & ~duplicates
    events = checked.events if keep.all() else checked.events.take(keep)
    return Activity(events, checked.rows_read, checked.rejects, int(duplicates.sum()), warnings)


def _check_rows(raw: pa.Table, n: int, typed: bool, export_date: dt.date):
    """Per row, the index of the first rule it breaks (0: valid), and the parsed columns."""
    def column(name: str) -> pa.ChunkedArray | None:
        return raw.column(name) if name in raw.column_names else None

    reason = np.zeros(n, dtype=np.int8)
    reasons: list[tuple[str, str]] = []  # (column, reason)

    def reject(mask: np.ndarray, col: str, why: str) -> None:
        reasons.append((col, why))
        reason[(reason == 0) & mask] = len(reasons)

    def parsed(name: str, target: pa.DataType, fix=None) -> tuple[pa.Array | pa.ChunkedArray, np.ndarray]:
        values = column(name)
        if values is None:
            return pa.nulls(n, target), np.zeros(n, dtype=bool)
        if typed:
            return values, np.zeros(n, dtype=bool)
        return _lenient_cast(values, target, fix)

    ts, ts_failed = parsed("occurred_at", TYPED_COLUMNS["occurred_at"], fix=_assume_utc)
    reject(_np_bool(pc.is_null(column("occurred_at"))), "occurred_at", "missing occurred_at")
    reject(ts_failed, "occurred_at", "unparsable timestamp")
    ts_us = pc.fill_null(ts.cast(pa.int64()), 0).to_numpy()
    if isinstance(ts_us, pa.ChunkedArray):
        ts_us = ts_us.to_numpy()
    earliest = int(EARLIEST_TIMESTAMP.timestamp()) * _US_PER_SECOND
    latest = int(dt.datetime.combine(export_date + dt.timedelta(days=2), dt.time(),
                                     dt.timezone.utc).timestamp()) * _US_PER_SECOND
    reject(~ts_failed & ((ts_us < earliest) | (ts_us >= latest)), "occurred_at",
           "timestamp out of range (before 1990 or after the export date)")

    # tenant_id and event_type: check the few distinct values, then look rows up
    tenant, tenant_values = _dictionary_codes(column("tenant_id"), n)
    reject(tenant < 0, "tenant_id", "missing tenant_id")
    bad = np.array([not TENANT_ID.match(v) for v in tenant_values.to_pylist()] + [False], dtype=bool)
    reject(bad[tenant], "tenant_id", "bad tenant_id (1 to 64 of A-Z a-z 0-9 _ . -)")

    user, user_values = _dictionary_codes(column("user_id"), n)
    reject(user < 0, "user_id", "missing user_id")

    kinds, kind_values = _dictionary_codes(column("event_type"), n)
    reject(kinds < 0, "event_type", "missing event_type")
    lookup = np.array([EVENT_TYPES.index(v.lower()) if v.lower() in EVENT_TYPES else -1
                       for v in kind_values.to_pylist()] + [-1], dtype=np.int8)
    event = lookup[kinds]
    reject((kinds >= 0) & (event < 0), "event_type",
           "unknown event_type (expected connection, enrolment, start or completion)")

    training, training_values = _dictionary_codes(column("training_id"), n)
    reject((event > CONNECTION) & (training < 0), "training_id",
           "missing training_id (required for enrolment, start and completion)")
    reject((event == CONNECTION) & (training >= 0), "training_id", "training_id must be empty for a connection")

    score, score_failed = parsed("score", TYPED_COLUMNS["score"])
    reject(score_failed, "score", "score is not a number")
    score_np = np.asarray(pc.fill_null(score, np.nan).to_numpy(), dtype=np.float64) \
        if isinstance(score, pa.Array) else pc.fill_null(score, np.nan).to_numpy()
    with np.errstate(invalid="ignore"):
        out_of_range = ~_np_bool(pc.is_null(score)) & ~((score_np >= 0) & (score_np <= 100))
    reject(out_of_range, "score", "score outside 0 to 100")

    duration, duration_failed = parsed("duration_s", TYPED_COLUMNS["duration_s"])
    reject(duration_failed, "duration_s", "duration_s is not an integer")
    duration_np = np.asarray(pc.fill_null(duration, 0).to_numpy(), dtype=np.int64)
    reject(duration_np < 0, "duration_s", "negative duration_s")

    events = Events(tenant=tenant, tenant_values=tenant_values, user=user, user_values=user_values,
                    training=training, training_values=training_values, event=event, ts=ts_us,
                    score=score_np, duration=duration_np)
    return reason, reasons, events


def _repeated(idx: np.ndarray, n_ids: int, valid: np.ndarray) -> np.ndarray:
    """Valid rows whose event_id was already seen on an earlier valid row."""
    candidates = valid & (idx >= 0)
    if not candidates.any():  # an event_id column with no value in it
        return np.zeros(len(idx), dtype=bool)
    counts = np.bincount(idx[candidates], minlength=max(n_ids, 1))
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
            {"line": int(r) + 2, "column": col, "value": None if v is None else _text(v)[:MAX_VALUE_CHARS]}
            for r, v in zip(rows, values)
        ]
    return out


def _text(value) -> str:
    """An example value as text; a timestamp parsed on the fast path is shown in UTC."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    return str(value)


def read_dimension(path: Path | None, required: tuple[str, ...], optional: tuple[str, ...],
                   key: tuple[str, str], warnings: list[str],
                   max_bytes: int = DEFAULT_MAX_EXPORT_BYTES) -> pa.Table | None:
    """A users or trainings file as strings; rows without a key are skipped with a warning."""
    if path is None:
        return None
    header = read_header(path, max_bytes)
    columns = _check_columns(path, header, required, optional, warnings)
    table = read_csv(path, columns, max_bytes=max_bytes)
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
