"""An export file read where it lies (a folder or S3), cut into partitions of whole records.

CSV records may hold quoted line breaks (RFC 4180), so a partition may not
start at just any line break: a break (LF or CR) ends a record only outside
quotes, that is after an even number of ``"`` since the start of the file (an
escaped quote is two). Dask's own ``read_csv`` cuts blocks at any line break
and says so ("may fail if a CSV file includes quoted strings that contain the
line terminator"), hence these functions.

* A plain file is cut in parallel (``scan_block``): each worker reads a block
  of ``block_size`` bytes, counts its quotes, and finds its first line break
  after an even and after an odd count of them; the client, adding up the
  counts of the blocks before, knows which of the two starts a record.
* A gzip stream cannot be read from the middle: the client decompresses it
  once, in order, and cuts it as it goes (``stream_records``). Parallelism
  then comes from checking the partitions, not from reading them.

Like RFC 4180, this counts a ``"`` inside an unquoted field as a quote, where
Arrow's reader takes it as a character: in a file with such stray quotes, a
cut may be skipped (a longer partition) or, when a quoted line break follows,
fall inside a record, whose two halves are then rejected as malformed rows.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse

import pyarrow.fs as pafs
from isal import igzip

FIRST_READ = 4096  # a gzip stream's first read: the header comes out even if the stream breaks further on
_BREAK_OR_QUOTE = re.compile(rb'[\r\n"]')


def filesystem(location: str, timeout: float = 30.0) -> tuple[pafs.FileSystem, str]:
    """A pyarrow file system and path for a local path or an ``s3://bucket/key`` URL.

    S3 honours ``AWS_ENDPOINT_URL`` (an S3-compatible store) and the usual
    ``AWS_*`` credentials, like boto3 in ``etl.sources``, and ``timeout``
    (``DATAVIZ_S3_TIMEOUT``, which the engine hands to each worker's task) for
    a stalled connection or read, like ``etl.sources.s3_client``.
    """
    if not location.startswith("s3://"):
        return pafs.LocalFileSystem(), os.path.abspath(location)
    options = {"region": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
               "connect_timeout": min(5.0, timeout), "request_timeout": timeout}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        parsed = urlparse(endpoint)
        options.update(endpoint_override=parsed.netloc or parsed.path, scheme=parsed.scheme or "https")
    return pafs.S3FileSystem(**options), location[len("s3://"):]


def file_size(location: str, timeout: float = 30.0) -> int:
    fs, path = filesystem(location, timeout)
    info = fs.get_file_info(path)
    if info.type != pafs.FileType.File:
        raise FileNotFoundError(f"{location} is not there any more")
    return info.size


def read_range(location: str, offset: int, size: int, timeout: float = 30.0) -> bytes:
    """``size`` bytes from ``offset`` (fewer at the end of the file)."""
    fs, path = filesystem(location, timeout)
    with fs.open_input_file(path) as fh:
        return fh.read_at(size, offset)


@contextmanager
def open_stream(location: str, timeout: float = 30.0) -> Iterator:
    """The file's bytes in order, inflated by ISA-L when it is gzip (as ``etl.csv_reader`` reads it)."""
    fs, path = filesystem(location, timeout)
    with fs.open_input_stream(path, compression=None) as raw:  # not "detect": that would inflate it too
        yield igzip.IGzipFile(fileobj=raw, mode="rb") if location.endswith(".gz") else raw


def first_record_end(data: bytes, start: int = 0, quoted: bool = False) -> int | None:
    """The offset just past the first line break at or after ``start`` that ends a record, given
    whether ``start`` is inside quotes; ``None`` when ``data`` holds none."""
    pos = start
    while True:
        if quoted:  # nothing but a quote matters: jump to it
            pos = data.find(b'"', pos) + 1
            if not pos:
                return None
            quoted = False
            continue
        match = _BREAK_OR_QUOTE.search(data, pos)
        if match is None:
            return None
        if match.group() != b'"':
            return match.end()
        quoted, pos = True, match.end()


def header_end(data: bytes) -> int | None:
    """Where the first record (the header) ends, after any blank lines, which the CSV reader skips."""
    start = len(data) - len(data.lstrip(b"\r\n"))
    return first_record_end(data, start)


def scan_block(data: bytes) -> tuple[bool, int | None, int | None]:
    """(odd number of quotes, first record end if the block starts outside quotes, if inside)."""
    return data.count(b'"') % 2 == 1, first_record_end(data, 0, False), first_record_end(data, 0, True)


def last_record_end(data: bytes, odd: bool = False) -> int | None:
    """The offset just past the last line break that ends a record, ``data`` starting one (or, ``odd``,
    inside quotes: the rest of a record whose start held an odd number of quotes)."""
    quotes = data.count(b'"') + odd
    end = len(data)
    while True:
        cut = max(data.rfind(b"\n", 0, end), data.rfind(b"\r", 0, end))
        if cut < 0:
            return None
        quotes -= data.count(b'"', cut, end)
        if quotes % 2 == 0:
            return cut + 1
        end = cut


class StreamTooLarge(Exception):
    """The stream inflated past its ``max_bytes``."""


class FirstRecordTooLong(Exception):
    """No record (the header) ended within ``max_first`` bytes."""


def stream_records(location: str, block_size: int, max_bytes: int, max_first: int,
                   timeout: float = 30.0) -> Iterator[bytes]:
    """A gzip file decompressed in order, cut at record ends after about ``block_size`` bytes each.

    Linear in the stream: each read is scanned once, with the quote parity of
    what is carried from the reads before (a record longer than a read), and
    joined once when a piece is cut. The limits are counted as bytes come out
    of the decompressor, not when a piece is cut: more than ``max_bytes`` in
    all raises ``StreamTooLarge``, no record end within the first
    ``max_first`` bytes (the header) ``FirstRecordTooLong``. Before, the carry
    was scanned again after every read (27 s for 16 MB of gzip without a line
    break) and the size counted only per piece, so a stream without a line
    break was inflated whole before any limit applied.

    The first piece, the header and a few records, is read in small steps, so
    a stream corrupt further on still yields its header first, as
    ``etl.validate.read_header`` would read it. Read errors are raised as they
    come (``OSError``, ``pyarrow.ArrowInvalid``).
    """
    with open_stream(location, timeout) as stream:
        carry: list[bytes] = []  # reads since the last cut, none of which holds a record end
        carried, odd = 0, False  # their length, and whether they hold an odd number of quotes
        inflated, first = 0, True
        step = min(FIRST_READ, block_size)
        while True:
            chunk = stream.read(step)
            if not chunk:
                break
            inflated += len(chunk)
            if inflated > max_bytes:
                raise StreamTooLarge(inflated)
            cut = last_record_end(chunk, odd)
            if cut is None:  # one record longer than what was read: keep reading
                carry.append(chunk)
                carried += len(chunk)
                odd ^= chunk.count(b'"') % 2 == 1
                if first and carried > max_first:
                    raise FirstRecordTooLong(carried)
                continue
            yield b"".join(carry) + chunk[:cut]
            carry, carried = [chunk[cut:]], len(chunk) - cut
            odd = chunk.count(b'"', cut) % 2 == 1
            first, step = False, block_size
        if carried:
            yield b"".join(carry)


def plan_partitions(size: int, block_size: int, head: int, scans: list[tuple[bool, int | None, int | None]]
                    ) -> list[list[tuple[int, int, int]]]:
    """Partitions of a plain file as pieces ``(block, start, end)``, from each block's ``scan_block``.

    ``head`` is where the header ends; each partition starts at a record start
    and ends where the next one starts (the last at the end of the file).
    """
    starts, odd = [head], False
    for k, (odd_quotes, even_end, odd_end) in enumerate(scans):
        end = odd_end if odd else even_end
        if k and end is not None and k * block_size + end > head:
            starts.append(k * block_size + end)
        odd ^= odd_quotes
    bounds = [s for s in starts if s < size] + [size]
    partitions = []
    for start, stop in zip(bounds, bounds[1:]):
        pieces = []
        for k in range(start // block_size, (stop - 1) // block_size + 1):
            base = k * block_size
            pieces.append((k, max(start, base) - base, min(stop, base + block_size) - base))
        partitions.append(pieces)
    return partitions
