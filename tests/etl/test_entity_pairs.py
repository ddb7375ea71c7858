"""``etl.entities``' pairs and lookups, against the set of pairs and the binary search they replace (issue 14)."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from etl.entities import _pairs, _positions


@settings(max_examples=300, deadline=None)
@given(st.data(), st.integers(1, 8), st.integers(1, 4), st.booleans())
def test_pairs001_the_distinct_tenant_id_pairs_and_each_rows_pair(data, n_values, n_tenants, one_tenant_per_id):
    idx = np.array(data.draw(st.lists(st.integers(0, n_values - 1), max_size=40)), dtype=np.int32)
    if one_tenant_per_id:  # the fast path: an id's tenant is fixed
        tenant = (idx.astype(np.int64) * 7) % n_tenants
    else:  # any tenant for any id: the same id may name learners of two tenants
        tenant = np.array(data.draw(st.lists(st.integers(0, n_tenants - 1), min_size=len(idx),
                                             max_size=len(idx))), dtype=np.int64)
    pairs, row_pair = _pairs(tenant, idx, n_values)
    wanted = tenant * n_values + idx
    assert sorted(pairs.tolist()) == sorted(set(wanted.tolist()))
    assert pairs[row_pair].tolist() == wanted.tolist()


def test_pairs002_an_id_of_two_tenants_is_two_pairs():
    pairs, row_pair = _pairs(np.array([0, 1, 0]), np.array([5, 5, 2], dtype=np.int32), 6)
    assert pairs[row_pair].tolist() == [5, 11, 2]
    assert len(pairs) == 3


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-10 ** 12, 10 ** 12), min_size=1, max_size=50, unique=True), st.data())
def test_pairs003_positions_are_searchsorted(keys, data):
    ordered = np.array(sorted(keys), dtype=np.int64)
    values = np.array(data.draw(st.lists(st.sampled_from(keys), max_size=60)), dtype=np.int64)
    assert _positions(ordered, values).tolist() == np.searchsorted(ordered, values).tolist()
    assert _positions(ordered, values).dtype == np.int32
