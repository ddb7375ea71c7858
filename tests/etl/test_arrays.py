"""``etl.arrays`` (issue 14): ``distinct`` without numpy's slow path, ``KeyLayout``, ``dense_ranks``, ``stable_order``."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from etl.arrays import KeyLayout, dense_ranks, distinct, stable_order

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


SPANS = st.lists(st.integers(1, 2 ** 20), min_size=1, max_size=6)


def _columns(data, spans: list[int], rows: int) -> list[np.ndarray]:
    return [np.array(data.draw(st.lists(st.integers(0, span - 1), min_size=rows, max_size=rows)), dtype=np.int64)
            for span in spans]


@settings(max_examples=200, deadline=None)
@given(SPANS, st.integers(0, 40), st.data())
def test_arrays003_a_packed_key_unpacks_to_its_columns_and_sorts_as_they_do(spans, rows, data):
    layout = KeyLayout(spans)
    if not layout.fits:
        return
    columns = _columns(data, spans, rows)
    key = layout.pack(columns)
    assert [c.tolist() for c in layout.unpack(key)] == [c.tolist() for c in columns]
    narrow = layout.unpack(key, [np.int32] * len(spans))
    assert [c.dtype for c in narrow] == [np.dtype(np.int32)] * len(spans)
    assert [c.tolist() for c in narrow] == [c.tolist() for c in columns]
    by_key = np.argsort(key, kind="stable")
    by_columns = np.lexsort(columns[::-1])  # lexsort's last key is its primary one
    assert by_key.tolist() == by_columns.tolist()


def test_arrays004_shifts_when_the_bits_fit_a_mixed_radix_beyond_and_nothing_past_2_62():
    shifted = KeyLayout([200, 4, 730, 2_000_000, 33_000])  # a 10M-event export: 8 + 2 + 10 + 21 + 16 bits
    assert shifted.shifted and shifted.fits
    # 4 spans of 2^15 + 1 need 16 bits each (64), but their product is below 2^61: a mixed radix
    radix = KeyLayout([2 ** 15 + 1] * 4)
    assert not radix.shifted and radix.fits
    columns = [np.array([2 ** 15, 0, 7], dtype=np.int64)] * 4
    assert [c.tolist() for c in radix.unpack(radix.pack(columns))] == [c.tolist() for c in columns]
    assert KeyLayout([2 ** 31, 2 ** 31]).fits and not KeyLayout([2 ** 32, 2 ** 32]).fits
    assert KeyLayout([1, 1]).pack([np.zeros(3, np.int64), np.zeros(3, np.int64)]).tolist() == [0, 0, 0]


TEXTS = st.lists(st.one_of(st.text(max_size=12), st.text(alphabet="ab\x00é", max_size=45),
                           st.sampled_from(["", "a" * 40, "a" * 40 + "b", "a" * 41, "a" * 32, "a" * 32 + "\x00"])),
                 max_size=40)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_arrays005_dense_ranks_are_pythons_order_of_the_distinct_strings(texts):
    ranks, holder = dense_ranks(pa.array(texts, pa.string()))
    ordered = sorted(set(texts))  # Python compares str by code point
    assert ranks.tolist() == [ordered.index(t) for t in texts]
    assert [texts[i] for i in holder] == ordered


def test_arrays006_dense_ranks_refuse_nulls_and_take_slices():
    with pytest.raises(ValueError):
        dense_ranks(pa.array(["a", None]))
    sliced = pa.array(["zz", "b", "a", "b"]).slice(1)
    assert dense_ranks(sliced)[0].tolist() == [1, 0, 1]
    # ids behind one long prefix, some longer than the 32 bytes compared at once past it
    ids = [f"https://lms.example.com/users/{n}" + "x" * (n % 40) for n in (907, 12, 3, 12, 55, 1000, 9)]
    ids += ["b", "a" * 40 + "y", "a" * 40 + "x", "a" * 40 + "x", "a" * 50]  # equal for 40 bytes, then not
    ranks, holder = dense_ranks(pa.array(ids))
    assert ranks.tolist() == [sorted(set(ids)).index(i) for i in ids]
    assert [ids[i] for i in holder] == sorted(set(ids))


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 3).flatmap(lambda k: st.lists(st.tuples(*[st.integers(0, 2 ** 21)] * k), max_size=50)),
       st.booleans())
def test_arrays007_stable_order_is_lexsort_packed_or_not(rows, wide):
    columns = [np.array(c, dtype=np.int64) for c in zip(*rows)] if rows else [np.zeros(0, np.int64)]
    if wide:  # a column too wide for the row number to fit beside it: the lexsort path
        columns.append(np.full(len(columns[0]), 2 ** 60, dtype=np.int64))
    assert stable_order(columns).tolist() == np.lexsort(columns[::-1]).tolist()
