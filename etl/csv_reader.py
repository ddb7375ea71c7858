"""The one CSV reader of the ETL: an export file (plain, gzip, or a partition in memory) read safely.

Both engines read through here: the pandas engine a whole file, the Dask
engine each partition (a ``CsvBytes``: the file's header line, then whole
records). It owns the limits on what a file may hold: ``DATAVIZ_MAX_EXPORT_BYTES``
uncompressed (``BoundedReader``), and ``MAX_HEADER_BYTES`` for the header line,
the one header limit of both engines (``docs/data-contract.md``: "a header line
over 1 MB"). A file that cannot be read as UTF-8 CSV rejects the export with a
one-line reason (``ExportRejected``); a file that disappears while read is the
source's fault (``SourceError``).
"""
from __future__ import annotations

import csv
import io
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
from isal import igzip

from etl.errors import ExportRejected, SourceError

DEFAULT_MAX_EXPORT_BYTES = 20 * 10**9
# The header line must end within this many bytes, in both engines; decimal, as the message says "1 MB".
MAX_HEADER_BYTES = 10**6
_LINE_ENDS = re.compile(rb"[\r\n]")


@dataclass(frozen=True)
class CsvBytes:
    """A CSV file, or a partition of one (its header line, then whole records), in memory.

    ``name`` is the file's name, so that messages name the file of the export.
    """

    name: str
    data: bytes


def _size(n: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} bytes"


def too_large(name: str, limit: int) -> str:
    """Why a file over ``DATAVIZ_MAX_EXPORT_BYTES`` is refused."""
    return f"{name}: more than {_size(limit)} uncompressed, the limit (DATAVIZ_MAX_EXPORT_BYTES); a gzip bomb or a wrong file"


def header_too_long(name: str) -> str:
    """Why a file whose header line does not end within ``MAX_HEADER_BYTES`` is refused."""
    return f"{name}: the header line is longer than {_size(MAX_HEADER_BYTES)}"


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
            # ISA-L inflates about three times as fast as zlib, and that is most of reading an export (igzip)
            self._inner = igzip.open(path, "rb") if path.name.endswith(".gz") else pa.input_stream(str(path))
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
        raise ExportRejected(header_too_long(path.name))
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


def check_columns(path: Path | CsvBytes, header: list[str], required, optional,
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
