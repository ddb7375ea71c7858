"""Array helpers shared by the ETL and the queries: distinct integers, packed sort keys, string ranks, rows kept
in place and sorted neighbours read a chunk at a time.

numpy 2.4's ``np.unique`` without ``return_index``, ``return_inverse`` or
``return_counts`` goes through a hash table that is two orders of magnitude
slower than a sort once the values are many and distinct (on this project's
machine, 1M distinct int64: 4.1 s against 0.03 s; 4M: 16 s against 0.09 s).
A refresh of 10M events with 2M learners spent about 7% of its time there
(``np.union1d`` of the users' keys, docs/benchmarks.md). Distinct sets of integers are found here
by sorting instead.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


class RowColumns:
    """A dataclass whose numpy fields hold one value per row, but those named in ``NOT_ROWS`` (lookups by code):
    its rows taken as a copy, or kept in place a column at a time. With 100M events a copy of every column at once
    is gigabytes more at the refresh's peak; in place, the old columns go one by one."""

    NOT_ROWS: tuple[str, ...] = ()

    def keep(self, rows) -> None:
        """Only ``rows`` (a mask, or a slice: views), in place."""
        for name, value in list(vars(self).items()):
            if isinstance(value, np.ndarray) and name not in self.NOT_ROWS:
                setattr(self, name, value[rows])

    def take(self, rows):
        """A copy holding only ``rows``."""
        kept = dataclasses.replace(self)
        kept.keep(rows)
        return kept


def sorted_neighbours(values: np.ndarray, order: np.ndarray,
                      chunk: int = 1 << 22) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``(first, at, same)`` for successive chunks of ``order`` (a permutation sorting ``values``): ``at`` is
    ``order[first:first + chunk + 1]``, ``same`` whether each of its rows but the first holds the value of the row
    before it. Read a chunk at a time, the gathered values are small temporaries, where ``values[order]`` whole
    would be one more array the size of ``values`` (800 MB at 100M events)."""
    for first in range(0, len(order) - 1, chunk):
        at = order[first:first + chunk + 1]
        yield first, at, values[at[1:]] == values[at[:-1]]


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values of an integer array, ascending: ``np.unique(values)``, by one sort."""
    ordered = np.sort(np.asarray(values), axis=None)
    if len(ordered) < 2:
        return ordered
    first = np.empty(len(ordered), dtype=bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return ordered[first]


class KeyLayout:
    """Integer columns packed into one int64 key that sorts as the columns do, left to right.

    Grouping sorts one such key. Each column ``c`` must hold values in
    ``[0, span)``. When the spans' bit widths fit in 63 bits the columns are
    packed with shifts, unpacked with shifts and masks (the facts' four
    ``divmod`` took 2.2 s on 10M rows, shifts take a few dozen ms); otherwise
    as a mixed-radix number, which fits whenever the spans' product is below
    2^62. ``fits`` is false when neither does.
    """

    def __init__(self, spans: list[int]):
        self.spans = [max(int(s), 1) for s in spans]
        self.bits = [(s - 1).bit_length() for s in self.spans]
        self.shifted = sum(self.bits) <= 63
        self.fits = self.shifted or float(np.prod([float(s) for s in self.spans])) < 2.0 ** 62

    def pack(self, columns: list[np.ndarray]) -> np.ndarray:
        """The key of each row (``columns`` in the layout's order)."""
        key = np.zeros(len(columns[0]) if columns else 0, dtype=np.int64)
        for column, span, bits in zip(columns, self.spans, self.bits):
            if self.shifted:
                key <<= bits
                key |= column
            else:
                key *= span
                key += column
        return key

    def unpack(self, keys: np.ndarray, dtypes: list | None = None) -> list[np.ndarray]:
        """The columns of ``keys``, each as its type in ``dtypes`` (default int64).

        With shifts each column is read from the keys directly and narrowed at
        once, so only one int64 temporary lives at a time.
        """
        dtypes = dtypes or [np.int64] * len(self.spans)
        if self.shifted:
            out = []
            shift = sum(self.bits)
            for bits, dtype in zip(self.bits, dtypes):
                shift -= bits
                column = keys >> shift
                column &= np.int64((1 << bits) - 1)
                out.append(column.astype(dtype, copy=False))
            return out
        out = []
        rest = keys
        for span in reversed(self.spans):
            rest, value = np.divmod(rest, span)
            out.append(value)
        return [column.astype(dtype, copy=False) for column, dtype in zip(out[::-1], dtypes)]


_PREFIX_WORDS = 4  # strings are sorted on their first 32 bytes, then ties among longer ones by their whole text


def _common_prefix(values: pa.Array) -> int:
    """The number of leading bytes every string shares: those of the least and the greatest."""
    bounds = pc.min_max(values.cast(pa.binary()))
    low, high = bounds["min"].as_py() or b"", bounds["max"].as_py() or b""
    same = 0
    while same < min(len(low), len(high)) and low[same] == high[same]:
        same += 1
    return same


def _prefix_words(values: pa.Array, skip: int) -> tuple[np.ndarray, np.ndarray]:
    """Each string's ``8 * _PREFIX_WORDS`` UTF-8 bytes after its first ``skip`` as big-endian words (zero-padded),
    and the length of what follows those ``skip`` bytes."""
    values = values.cast(pa.large_string())
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64)[values.offset:values.offset + len(values) + 1]
    buffer = values.buffers()[2]
    data = np.frombuffer(buffer, dtype=np.uint8) if buffer is not None and buffer.size else np.zeros(0, np.uint8)
    lengths = np.diff(offsets) - skip
    starts = offsets[:-1] + skip
    width = min(int(lengths.max(initial=0)), 8 * _PREFIX_WORDS)
    n_words = max((width + 7) // 8, 1)
    grid = np.zeros((len(values), 8 * n_words), dtype=np.uint8)
    if len(values) and lengths.min() == lengths.max():  # ids of one length: the bytes are a grid already
        grid[:, :width] = data[offsets[0]:offsets[-1]].reshape(len(values), -1)[:, skip:skip + width]
    else:
        for column in range(width):  # byte by byte: a column of a few million bytes at a time
            has = lengths > column
            grid[has, column] = data[starts[has] + column]
    return grid.view(">u8").astype(np.uint64), lengths


def dense_ranks(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Each string's rank among the distinct strings in code-point order, and for each rank one index holding it.

    UTF-8 byte order is code-point order (as Python sorts ``str``), so the
    strings sort as their bytes, read as big-endian 64-bit words: numpy's
    ``lexsort`` of a few integer columns (two million 8-byte ids: 0.23 s against
    0.9 to 1.3 s for Arrow's ``sort_indices``), and no ``dictionary_encode`` needed.
    The bytes every string starts with are skipped (ids behind one URL, say);
    ties on the next 32 bytes between longer strings are settled by their
    whole text. ``values`` may not hold nulls.
    """
    if values.null_count:
        raise ValueError("dense_ranks: values hold nulls")
    if not len(values):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    words, lengths = _prefix_words(values, _common_prefix(values))  # bytes all share do not order them
    order = np.argsort(words[:, 0], kind="stable")
    first = words[order, 0]
    if not (first[1:] == first[:-1]).any():  # the first 8 bytes tell every string apart (random or numbered ids)
        ranks = np.empty(len(order), dtype=np.int64)
        ranks[order] = np.arange(len(order))
        return ranks, order
    window = 8 * words.shape[1]
    long = lengths > window
    # a string that fits the window sorts by its words, then its length (a prefix comes first)
    tie_breaks = [np.where(long, 0, lengths), long] if long.any() else [lengths]
    if lengths.min() == lengths.max():  # ids of one length: their words decide
        tie_breaks = []
    order = np.lexsort(tie_breaks + [words[:, j] for j in reversed(range(words.shape[1]))])
    ordered = words[order]
    same = np.all(ordered[1:] == ordered[:-1], axis=1)  # same window as the one before
    del ordered
    if long.any():
        _settle_long_ties(values, order, same, long)
    new = np.ones(len(order), dtype=bool)
    new[1:] = ~(same & (lengths[order[1:]] == lengths[order[:-1]]))
    check = np.flatnonzero(~new[1:] & long[order[1:]])  # same window and length: the rest may differ
    if len(check):
        differ = pc.not_equal(values.take(pa.array(order[check + 1])), values.take(pa.array(order[check])))
        new[check + 1] = np.asarray(differ.to_numpy(zero_copy_only=False), dtype=bool)
    rank_in_order = np.cumsum(new) - 1
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = rank_in_order
    return ranks, order[new]


def _settle_long_ties(values: pa.Array, order: np.ndarray, same: np.ndarray, long: np.ndarray) -> None:
    """Sort, in place in ``order``, each run of longer-than-the-window strings that share their window."""
    tied = np.flatnonzero(same & long[order[1:]] & long[order[:-1]])
    if not len(tied):
        return
    run_start = np.flatnonzero(np.diff(np.concatenate(([-2], tied))) != 1)  # runs of consecutive tied pairs
    for first, last in zip(tied[run_start], np.append(tied[run_start[1:] - 1], tied[-1]) + 1):
        positions = order[first:last + 1]  # ids behind one long prefix (URLs, say) may make one run of them all
        order[first:last + 1] = positions[pc.sort_indices(values.take(pa.array(positions))).to_numpy()]


def stable_order(columns: list[np.ndarray]) -> np.ndarray:
    """The permutation that sorts rows by ``columns`` (non-negative integers; the first is the primary key),
    ties left in row order: ``np.lexsort(columns[::-1])``.

    When the columns and the row number fit in 63 bits they are packed into one
    int64 and sorted by ``np.sort``, which has a vectorized version on this
    machine's CPU (ten million int64: 0.2 to 0.8 s, against 1.9 s for an
    ``argsort``); the row number, in the low bits, is the permutation.
    """
    n = len(columns[0]) if columns else 0
    layout = KeyLayout([int(c.max()) + 1 if n else 1 for c in columns] + [n])
    if not layout.shifted:
        return np.lexsort(columns[::-1])
    key = layout.pack([*columns, np.arange(n, dtype=np.int64)])
    key.sort()
    key &= np.int64((1 << layout.bits[-1]) - 1)
    return key
