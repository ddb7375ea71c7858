"""``etl.transform._group_sum``, the one grouping of the transform, against pandas' ``groupby`` (issue 14)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings, strategies as st

from etl.transform import _group_sum


@settings(max_examples=200, deadline=None)
@given(st.data(), st.integers(0, 60), st.integers(1, 12))
def test_group001_sums_minima_and_sparse_values_per_key_as_pandas_groupby(data, rows, distinct_keys):
    def column(values):
        return np.array(data.draw(st.lists(values, min_size=rows, max_size=rows)), dtype=np.int64)

    key = column(st.integers(0, distinct_keys - 1)) * 1_000_003  # spaced out, like a packed key
    n = column(st.integers(1, 5)).astype(np.int32)
    duration = column(st.integers(0, 10 ** 12))
    first = column(st.integers(-10 ** 15, 10 ** 15))
    has_value = np.array(data.draw(st.lists(st.booleans(), min_size=rows, max_size=rows)), dtype=bool)
    sparse_rows = np.flatnonzero(has_value).astype(np.int32)
    values = np.array([column(st.integers(0, 2 ** 40))[:len(sparse_rows)] for _ in range(3)]).reshape(3, -1)

    keys, sums, (groups, summed) = _group_sum(key, {"n": n, "duration": duration}, (sparse_rows, values),
                                              {"first": first})

    frame = pd.DataFrame({"key": key, "n": n, "duration": duration, "first": first})
    expected = frame.groupby("key").agg(n=("n", "sum"), duration=("duration", "sum"), first=("first", "min"))
    assert keys.tolist() == expected.index.tolist()
    assert sums["n"].tolist() == expected["n"].tolist()
    assert sums["duration"].tolist() == expected["duration"].tolist()
    assert sums["first"].tolist() == expected["first"].tolist()
    by_key = pd.DataFrame(values.T, index=key[sparse_rows]).groupby(level=0).sum()
    assert keys[groups].tolist() == by_key.index.tolist()
    assert summed.T.tolist() == by_key.to_numpy().tolist()
