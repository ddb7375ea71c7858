"""Duplicate event ids: the hashed path answers exactly like a dictionary of every id."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings, strategies as st

from etl.validate import _event_id_codes, _event_id_keys, _repeated, _repeated_ids

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


@settings(max_examples=300, deadline=None)
@given(chunked_ids())
def test_dup001_hashed_path_equals_dictionary_path(case):
    ids, valid = case
    expected = _repeated(*_event_id_codes(ids), valid)
    assert _repeated_ids(ids, _event_id_keys(ids), valid).tolist() == expected.tolist()


def test_dup002_first_valid_occurrence_is_kept():
    ids = pa.chunked_array([pa.array(["e1", "e2", "e1"]), pa.array(["e1", None, None, "e2"])])
    valid = np.array([False, True, True, True, True, True, True])
    # row 0 is rejected, so row 2 is the first valid "e1"; nulls are never duplicates
    keys = _event_id_keys(ids)
    assert keys[0] == "hashes"
    assert _repeated_ids(ids, keys, valid).tolist() == [False, False, False, True, False, False, True]


def test_dup003_only_null_ids():
    ids = pa.chunked_array([pa.array([None, None], pa.string())])
    valid = np.ones(2, dtype=bool)
    assert _repeated(*_event_id_codes(ids), valid).tolist() == [False, False]
    assert _repeated_ids(ids, _event_id_keys(ids), valid).tolist() == [False, False]
