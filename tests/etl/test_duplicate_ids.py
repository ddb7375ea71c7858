"""Duplicate event ids: the hashed path answers exactly like a plain walk over the ids."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings, strategies as st

from etl.duplicates import id_hashes, repeated_ids

IDS = st.one_of(st.none(), st.sampled_from(["", "a", "a ", "ab", "e000000001", "é", "ü1", "x" * 64, "y" * 65]),
                st.text(max_size=12))


@st.composite
def chunked_ids(draw):
    chunks = []
    for values in draw(st.lists(st.lists(IDS, max_size=12), min_size=1, max_size=4)):
        array = pa.array(values, pa.string())
        if len(array) > 2 and draw(st.booleans()):
            array = array.slice(1)  # a chunk that starts inside its buffers
        chunks.append(array)
    ids = pa.chunked_array(chunks, pa.string())
    valid = np.array(draw(st.lists(st.booleans(), min_size=len(ids), max_size=len(ids))), dtype=bool)
    return ids, valid


def walk(ids: pa.ChunkedArray, valid: np.ndarray) -> list[bool]:
    """The rule, one row at a time: a valid row repeats the id of an earlier valid row (nulls never do)."""
    seen, out = set(), []
    for text, ok in zip(ids.to_pylist(), valid.tolist()):
        out.append(bool(ok and text is not None and text in seen))
        if ok and text is not None:
            seen.add(text)
    return out


@settings(max_examples=300, deadline=None)
@given(chunked_ids())
def test_dup001_hashed_path_equals_dictionary_path(case):
    ids, valid = case
    assert repeated_ids(ids, valid).tolist() == walk(ids, valid)
    assert repeated_ids(ids, valid, id_hashes(ids)).tolist() == walk(ids, valid)


def test_dup002_first_valid_occurrence_is_kept():
    ids = pa.chunked_array([pa.array(["e1", "e2", "e1"]), pa.array(["e1", None, None, "e2"])])
    valid = np.array([False, True, True, True, True, True, True])
    # row 0 is rejected, so row 2 is the first valid "e1"; nulls are never duplicates
    assert repeated_ids(ids, valid).tolist() == [False, False, False, True, False, False, True]


def test_dup003_only_null_ids():
    ids = pa.chunked_array([pa.array([None, None], pa.string())])
    valid = np.ones(2, dtype=bool)
    assert walk(ids, valid) == [False, False]
    assert repeated_ids(ids, valid).tolist() == [False, False]


def test_dup004_one_hash_whatever_the_chunking():
    """The hash of an id does not depend on its chunk, its neighbours, or its length class (the Dask
    engine's buckets and the pandas engine's candidates use the same ``id_hashes``)."""
    values = ["e1", None, "é" * 3, "x" * 100, "", "e1", "ab"]
    whole = id_hashes(pa.chunked_array([pa.array(values, pa.string())]))
    split = id_hashes(pa.chunked_array([pa.array(values[:3], pa.string()), pa.array(values[3:], pa.string())]))
    assert np.array_equal(whole, split) and whole[0] == whole[5]
