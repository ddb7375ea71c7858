"""Duplicate event ids: the one id hasher of the ETL, and the rule that the first valid row wins.

A hash table of ten million strings (``dictionary_encode``) is slow and big,
for the ~0.01% of rows that repeat an id. So each id is hashed from its UTF-8
bytes (``id_hashes``), vectorized, the same in every process and whatever the
chunking: the pandas engine finds repeats among the whole file's hashes, the
Dask engine sends each id to a bucket by its hash and finds repeats within
each bucket. Either way only ids whose hash repeats are compared as strings,
so the hash decides which rows are compared, never which rows are kept: the
snapshot is the same whatever the hash.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from etl.arrays import distinct

_BITMAP_SIZE = 1 << 22
_HASH_CHUNK = 1 << 16  # bytes of ids hashed at a time: its uint64 temporaries stay near 0.5 MB
_MULTIPLIER = np.uint64(0x100000001B3)


def _array_hashes(ids: pa.Array) -> np.ndarray:
    """A 64-bit hash of each (non-null) id from its UTF-8 bytes, the same in every process.

    A polynomial over the bytes, vectorized: no Python object per id (hashing
    a million ids as Python strings takes seconds).
    """
    ids = ids.cast(pa.large_string())
    offsets = np.frombuffer(ids.buffers()[1], dtype=np.int64)[ids.offset:ids.offset + len(ids) + 1]
    values = ids.buffers()[2]
    data = np.frombuffer(values, dtype=np.uint8) if values is not None and values.size else np.zeros(0, np.uint8)
    out = np.zeros(len(ids), dtype=np.uint64)
    first = 0
    while first < len(ids):
        last = int(np.searchsorted(offsets, offsets[first] + _HASH_CHUNK, side="right")) - 1
        last = min(max(last, first + 1), len(ids))
        starts, ends = offsets[first:last], offsets[first + 1:last + 1]
        lengths = ends - starts
        width = int(lengths.max(initial=0))
        with np.errstate(over="ignore"):
            powers = np.cumprod(np.full(width, _MULTIPLIER))
            if width and lengths.min() == width:  # ids of one length (the usual case) are a grid
                grid = data[starts[0]:ends[-1]].reshape(-1, width).astype(np.uint64)
                sums = (grid * powers).sum(axis=1, dtype=np.uint64)
            else:
                position = np.arange(starts[0], ends[-1]) - np.repeat(starts, lengths)
                terms = data[starts[0]:ends[-1]].astype(np.uint64) * powers[position]
                # one zero term past the end, so that trailing empty ids (nulls) still index a term
                sums = np.add.reduceat(np.append(terms, np.uint64(0)), starts - starts[0])
                sums[lengths == 0] = 0
            h = sums ^ lengths.astype(np.uint64)
            h ^= h >> np.uint64(31)
            h *= np.uint64(0x9E3779B97F4A7C15)
            out[first:last] = h ^ (h >> np.uint64(29))
        first = last
    return out


def id_hashes(ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A 64-bit hash of each id from its UTF-8 bytes: any length, any text (a null's hash means nothing)."""
    chunks = ids.chunks if isinstance(ids, pa.ChunkedArray) else [ids]
    parts = [_array_hashes(chunk) for chunk in chunks if len(chunk)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)


def repeated_ids(event_ids: pa.ChunkedArray, valid: np.ndarray, hashes: np.ndarray | None = None) -> np.ndarray:
    """Valid rows whose event_id was already seen on an earlier valid row: the first one wins.

    Only rows whose hash repeats are candidates (a sort, then a bitmap on the
    low bits and an exact check), and only those are compared as strings: a
    hash collision costs a comparison, never a wrong answer. ``hashes``
    (``id_hashes(event_ids)``) may be computed beforehand, beside other work.
    """
    value = id_hashes(event_ids) if hashes is None else hashes
    out = np.zeros(len(valid), dtype=bool)
    present = np.asarray(pc.is_valid(event_ids).to_numpy(zero_copy_only=False), dtype=bool)
    rows = np.flatnonzero(valid & present)
    h = value[rows]
    ordered = np.sort(h)
    repeated = distinct(ordered[1:][ordered[1:] == ordered[:-1]])
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
