"""The Dask engine: ``python -m etl refresh --engine dask [--scheduler tcp://host:8786]``.

For exports too big to parse and check in one process. The activity file is
read where it lies (a folder the workers see, or S3 straight from the
workers) and cut into partitions of whole records (``etl.blocks``); each
partition is a small CSV of its own (the file's header line, then records),
checked on a worker with the same functions as the pandas engine
(``etl.validate.read_activity``, ``etl.row_rules.check_activity``). Then, on the cluster:

1. the client adds up the partitions' rejects (line numbers shifted by the
   rows before each partition) and applies ``check_totals``; if any
   partition had to read its values as strings, every partition is checked
   again that way, so example values show as the pandas engine shows them;
2. duplicates: each partition sends the event ids of its valid rows to a
   bucket by hash; a bucket lays them out in file order (partition, row) and
   marks the repeats (``etl.duplicates.repeated_ids``): the first valid row in file order wins;
3. each partition drops its duplicates and groups its events, by their
   tenant's local hour (the tenants' time zones travel with the task), into
   partial aggregates (``etl.transform.group_rows``), which the client
   concatenates for ``build_frames``. The dimensions (users, trainings) stay on the client.

The snapshot is the same, bit for bit, as the pandas engine's on the same
export: partial sums are exact integers (scores too, ``score_parts``).
Without a scheduler address, a ``LocalCluster`` of one single-threaded worker
process per core runs on 127.0.0.1, for the duration of the refresh.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import operator
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
from dask.sizeof import sizeof

from etl import blocks
from etl.csv_reader import MAX_HEADER_BYTES, CsvBytes, header_too_long, read_error, too_large
from etl.duplicates import id_hashes, repeated_ids
from etl.errors import EtlError, ExportRejected
from etl.row_rules import CheckedRows, check_activity, merge_rejects
from etl.sources import StagedExport
from etl.transform import Rows, Validated, concat_rows, event_rows, group_rows
from etl.validate import activity_columns, check_totals, read_activity

log = logging.getLogger("dataviz.dask")
BLOCK_SIZE = 64 << 20  # bytes of CSV per partition
READ_ERRORS = (OSError, EOFError, pa.ArrowInvalid)


class ClusterError(EtlError, OSError):
    """The cluster failed the refresh (scheduler out of reach, workers lost): the refresh fails, the
    export is not blamed."""


@dataclass
class DaskEngine:
    """Validate and aggregate an export on a Dask cluster (``client``, else ``scheduler``, else local)."""

    scheduler: str | None = None
    block_size: int = BLOCK_SIZE
    workers: int | None = None  # LocalCluster size; default: one per core
    connect_timeout: float = 15.0  # seconds to reach the scheduler
    s3_timeout: float = 30.0  # DATAVIZ_S3_TIMEOUT, for every S3 read, the workers' included
    client: object | None = field(default=None, repr=False)
    name = "dask"

    def validate(self, staged: StagedExport, max_reject_ratio: float, max_bytes: int,
                 zones: Mapping[str, str]) -> Validated:
        """The export's activity, read where it lies (not from ``staged``, which serves the dimensions)."""
        name = staged.ref.table_file("activity")
        try:
            with self._client() as client:
                return _Run(client, f"{staged.ref.location}/{name}", name, staged.ref.date, self.block_size,
                            max_bytes, self.s3_timeout).validate(max_reject_ratio, zones)
        except (ExportRejected, OSError):
            raise
        except Exception as exc:  # KilledWorker, a cancelled future...: reported, with the cause logged
            log.exception("the Dask cluster failed the refresh")
            raise ClusterError(f"the Dask cluster failed: {type(exc).__name__}: {exc}") from exc

    @contextmanager
    def _client(self):
        if self.client is not None:
            yield self.client
            return
        from distributed import Client, LocalCluster

        if self.scheduler:
            with Client(self.scheduler, timeout=self.connect_timeout) as client:
                client.run(_arrow_threads)
                yield client
            return
        workers = self.workers or len(os.sched_getaffinity(0))
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None, silence_logs=logging.WARNING) as cluster, Client(cluster) as client:
            client.run(_arrow_threads)
            yield client


def _arrow_threads(dask_worker) -> int:
    """Arrow's thread pool as wide as the worker's own threads, not the whole machine."""
    threads = dask_worker.state.nthreads
    pa.set_cpu_count(threads)
    return threads


# --- on the workers ----------------------------------------------------------------------------------------


@dataclass
class _Part:
    """One checked partition, kept on its worker until its events are aggregated."""

    checked: CheckedRows
    rows: int  # parsed rows: line numbers of the next partitions count from them
    typed: bool
    ids: pa.Array  # event ids of the valid rows that have one...
    id_rows: np.ndarray  # ...and those rows


def _nbytes(obj) -> int:
    """Bytes held by a partition's objects, through their dataclass fields (arrays, tables, lists)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return sum(_nbytes(getattr(obj, f.name)) for f in dataclasses.fields(obj))
    return sizeof(obj)


@sizeof.register(_Part)
@sizeof.register(Rows)
def _sizeof(obj) -> int:
    """What a worker holds for a partition, as its memory manager counts it. Without this, Dask sizes a
    dataclass by ``sys.getsizeof`` (a few dozen bytes), never spills the parsed partitions a worker keeps
    until the duplicates pass ends, and the nanny kills the worker at its ``--memory-limit`` instead
    (10M events, 2 workers of 600 MiB: killed in the duplicates pass)."""
    return _nbytes(obj)


def _array(data: bytes) -> np.ndarray:
    """Bytes as they travel between processes: distributed ships a 32 MB ``bytes`` an order of
    magnitude slower than the same buffer in a numpy array (measured 2-4 s against 0.2-0.4 s here)."""
    return np.frombuffer(data, dtype=np.uint8)


def _read(location: str, offset: int, size: int, timeout: float) -> np.ndarray:
    return _array(blocks.read_range(location, offset, size, timeout))


def _scan(block: np.ndarray) -> tuple[bool, int | None, int | None]:
    return blocks.scan_block(block.tobytes())


def _slice(block: np.ndarray, start: int, end: int) -> np.ndarray:
    return block[start:end].copy()


def _check(header: bytes, name: str, columns: list[str], n_fields: int, export_date: dt.date, typed: bool,
           *pieces: np.ndarray) -> _Part:
    source = CsvBytes(name, b"".join([header, *map(memoryview, pieces)]))
    malformed: list[str] = []
    raw, typed = read_activity(source, columns, malformed, typed)
    checked = check_activity(raw, typed, malformed, n_fields, export_date)
    if "event_id" in raw.column_names:
        ids = raw.column("event_id").combine_chunks()
        with_id = checked.valid & ~np.asarray(ids.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        id_rows = np.flatnonzero(with_id)
        ids = ids.take(pa.array(id_rows))
    else:
        ids, id_rows = pa.array([], pa.string()), np.zeros(0, dtype=np.int64)
    return _Part(checked, raw.num_rows, typed, ids, id_rows)


def _summary(part: _Part) -> tuple:
    return part.rows, part.checked.rows_read, part.checked.rejects, part.typed, len(part.ids)


def _split_ids(part: _Part, buckets: int) -> list[tuple[pa.Array, np.ndarray]]:
    """The partition's ids (and rows) by bucket, from a hash of the id."""
    if buckets == 1:
        return [(part.ids, part.id_rows)]
    bucket = id_hashes(part.ids) % np.uint64(buckets)
    return [(part.ids.filter(pa.array(bucket == b)), part.id_rows[bucket == b]) for b in range(buckets)]


def _bucket_duplicates(*pieces: tuple[pa.Array, np.ndarray]) -> list[np.ndarray]:
    """Per partition, the rows whose id an earlier valid row (in file order) already had."""
    ids = pa.chunked_array([p[0] for p in pieces], type=pa.string())
    repeated = repeated_ids(ids, np.ones(len(ids), dtype=bool))
    bounds = np.cumsum([len(p[1]) for p in pieces])[:-1]
    return [rows[dup] for (_, rows), dup in zip(pieces, np.split(repeated, bounds))]


def _aggregate(part: _Part, index: int, zones: Mapping[str, str], *duplicates: list[np.ndarray]) -> Rows:
    keep = part.checked.valid.copy()
    for by_partition in duplicates:
        keep[by_partition[index]] = False
    return group_rows(event_rows(part.checked.events.take(keep), zones))


# --- on the client -----------------------------------------------------------------------------------------


class _Run:
    """One export's activity file through the cluster."""

    def __init__(self, client, location: str, name: str, export_date: dt.date, block_size: int, max_bytes: int,
                 timeout: float = 30.0):
        self.client = client
        self.max_bytes = max_bytes  # DATAVIZ_MAX_EXPORT_BYTES: what the file may hold, uncompressed
        self.timeout = timeout  # DATAVIZ_S3_TIMEOUT: the workers have no settings of their own, so it travels
        self.location = location
        self.name = name
        self.export_date = export_date
        self.block_size = block_size
        self.header: bytes | None = None  # the file's header line, as the partitions carry it

    def _submit(self, fn, *args):
        return self.client.submit(fn, *args, pure=False)

    def validate(self, max_reject_ratio: float, zones: Mapping[str, str]) -> Validated:
        warnings: list[str] = []
        phases: dict[str, float] = {}
        clock = time.perf_counter()

        def phase(name: str) -> None:
            nonlocal clock
            phases[name] = round(time.perf_counter() - clock, 3)
            clock = time.perf_counter()

        workers = max(1, len(self.client.scheduler_info().get("workers", {})))
        buckets = 2 * workers
        self.header = None
        source = self._stream() if self.name.endswith(".gz") else self._blocks()
        pieces, parts, splits, check = [], [], [], None

        def start(piece: list, typed: bool) -> tuple:
            part = self._submit(_check, *check, typed, *piece)
            return part, self._submit(_split_ids, part, buckets)

        for piece in source:  # a gzip stream: each partition checked while the next is decompressed
            if check is None:
                header_names, columns = activity_columns(CsvBytes(self.name, self.header), warnings)
                check = (self.header, self.name, columns, len(header_names), self.export_date)
            pieces.append(piece)
            part, split = start(piece, True)
            parts.append(part)
            splits.append(split)
        if check is None:  # no record after the header (or no header)
            activity_columns(CsvBytes(self.name, self.header or b""), warnings)
        summaries = self._gather([self._submit(_summary, p) for p in parts])
        if len({s[3] for s in summaries}) > 1:  # some partition needed strings: read them all that way
            parts, splits = map(list, zip(*(start(piece, False) for piece in pieces)))
            summaries = self._gather([self._submit(_summary, p) for p in parts])
        del pieces
        before = np.concatenate(([0], np.cumsum([s[0] for s in summaries])))
        rejects = merge_rejects([(s[2], int(first)) for s, first in zip(summaries, before)])
        rows_read = sum(s[1] for s in summaries)
        check_totals(self.name, rows_read, rejects, max_reject_ratio)
        phase("read_and_check")
        duplicates = self._duplicates(splits, buckets) if any(s[4] for s in summaries) else []
        dropped = sum(len(by_partition[k]) for by_partition in self._gather(duplicates) for k in range(len(parts)))
        phase("duplicates")
        aggregates = [self._submit(_aggregate, part, k, zones, *duplicates) for k, part in enumerate(parts)]
        n_parts = len(parts)
        del parts, splits, duplicates  # the workers may drop each partition once its aggregate is done
        rows = self._gather(aggregates, one_by_one=True)
        phase("aggregate")
        combined = concat_rows(rows)
        phase("combine")
        return Validated(combined, rows_read, rejects, dropped, warnings,
                         details={"workers": workers, "partitions": n_parts, "seconds": phases})

    def _duplicates(self, splits: list, buckets: int) -> list:
        """Futures of the duplicate rows, one per bucket, each a list by partition."""
        return [self._submit(_bucket_duplicates, *[self._submit(operator.getitem, s, b) for s in splits])
                for b in range(buckets)]

    def _gather(self, futures: list, one_by_one: bool = False) -> list:
        """Results in order; when some failed, the first failure in file order is raised (a partition
        that is not UTF-8 rejects the export as the pandas engine would, whichever finished first).

        ``one_by_one`` fetches each result then releases it on the cluster: a worker then never has to
        hold (and serialise) all its partitions' results at once, which killed workers capped at
        600 MiB on 10M events when the partial aggregates were gathered together."""
        from distributed import wait

        wait(futures)
        for future in futures:
            if future.status == "error":
                raise future.exception()
        if not one_by_one:
            return self.client.gather(futures)
        results = []
        for k, future in enumerate(futures):
            results.append(future.result())
            futures[k] = None
            future.release()
        return results

    def _blocks(self) -> list[list]:
        """A plain file: workers read blocks where the file lies and find where records start."""
        try:
            size = blocks.file_size(self.location, self.timeout)
            head = blocks.read_range(self.location, 0, min(size, MAX_HEADER_BYTES), self.timeout)
        except READ_ERRORS as exc:
            raise read_error(CsvBytes(self.name, b""), exc) from exc
        if size > self.max_bytes:
            raise ExportRejected(too_large(self.name, self.max_bytes))
        end = blocks.header_end(head)
        if end is None:
            if size > len(head):
                raise ExportRejected(header_too_long(self.name))
            end = size
        self.header = head[:end]
        offsets = range(0, size, self.block_size)
        data = [self._submit(_read, self.location, offset, self.block_size, self.timeout)
                for offset in offsets]
        scans = self._gather([self._submit(_scan, d) for d in data])
        plan = blocks.plan_partitions(size, self.block_size, end, scans)
        return [[data[k] if (start, stop) == (0, self.block_size) else self._submit(_slice, data[k], start, stop)
                 for k, start, stop in partition] for partition in plan]

    def _stream(self) -> Iterator[list]:
        """A gzip file: decompressed here, in order, and sent to the workers a partition at a time
        (``self.header`` is set before the first one)."""
        try:
            # a gzip bomb, or a stream with no line break, stops as it inflates, before it fills this process
            for chunk in blocks.stream_records(self.location, self.block_size, self.max_bytes, MAX_HEADER_BYTES,
                                               self.timeout):
                if self.header is None:
                    end = blocks.header_end(chunk)
                    end = len(chunk) if end is None else end
                    self.header, chunk = chunk[:end], chunk[end:]
                if chunk:
                    yield [self.client.scatter(_array(chunk))]
        except blocks.StreamTooLarge:
            raise ExportRejected(too_large(self.name, self.max_bytes)) from None
        except blocks.FirstRecordTooLong:
            raise ExportRejected(header_too_long(self.name)) from None
        except READ_ERRORS as exc:
            raise read_error(CsvBytes(self.name, b""), exc) from exc
