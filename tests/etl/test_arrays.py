"""``etl.arrays.distinct``: numpy's answer without numpy's slow path (issue 14)."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from etl.arrays import distinct

INTEGERS = st.sampled_from([np.int8, np.int16, np.int32, np.int64, np.uint32, np.uint64])


@settings(max_examples=200, deadline=None)
@given(INTEGERS.flatmap(lambda kind: hnp.arrays(kind, st.integers(0, 300))))
def test_arrays001_distinct_is_numpys_unique(values):
    got = distinct(values)
    assert got.dtype == values.dtype
    assert np.array_equal(got, np.unique(values))


def test_arrays002_inputs_are_left_alone_and_any_shape_is_flattened():
    values = np.array([[3, 1], [3, 2]], dtype=np.int64)
    assert distinct(values).tolist() == [1, 2, 3]
    assert values.tolist() == [[3, 1], [3, 2]]
    assert distinct(np.array([], dtype=np.int32)).tolist() == []
    assert distinct(np.array([7])).tolist() == [7]
