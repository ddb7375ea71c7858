"""What the refresh does to stay within memory at 100M events (issue 14), against the plain computation it
replaces: sorted keys and rows read a chunk at a time, rows dropped in place a column at a time."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
from hypothesis import given, settings, strategies as st

from etl.csv_reader import CsvBytes
from etl.row_rules import Events, first_broken_rule, parse_rows
from etl.snapshot import _neighbour_days
from etl.snapshot_format import NO_NEXT, NO_PREVIOUS
from etl.transform import _run_starts, event_rows
from etl.validate import activity_columns, read_activity
from tests.support.exports import BAD_ROWS, GOOD_ROWS, HEADER

CHUNKS = st.sampled_from([1, 2, 3, 7, 1 << 22])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=1, max_size=40), CHUNKS)
def test_memory001_run_starts_read_by_chunk_are_the_sorted_keys_neighbours(values, chunk):
    key = np.array(values, dtype=np.int64)
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    expected = np.concatenate(([True], ordered[1:] != ordered[:-1]))
    assert _run_starts(key, order, chunk).tolist() == expected.tolist()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 30)), max_size=40), CHUNKS)
def test_memory002_neighbour_days_read_by_chunk_are_the_rows_before_and_after_of_the_same_item(rows, chunk):
    item = np.array([i for i, _ in rows], dtype=np.int64)
    day = np.array([d for _, d in rows], dtype=np.int32)
    order = np.lexsort((day, item))
    previous, following = [NO_PREVIOUS] * len(rows), [NO_NEXT] * len(rows)
    for before, at in zip(order[:-1].tolist(), order[1:].tolist()):
        if item[before] == item[at]:
            previous[at], following[before] = int(day[before]), int(day[at])
    found = _neighbour_days(item, order, day, chunk)
    assert (found[0].tolist(), found[1].tolist()) == (previous, following)


@settings(max_examples=100, deadline=None)
@given(st.data(), st.integers(0, 30))
def test_memory003_rows_kept_in_place_are_the_rows_taken(data, n):
    """``keep`` (in place, the refresh's) and ``take`` (a copy), of events and of their rows, agree with events
    masked by hand and the rows built from them, scored rows renumbered."""
    draw = lambda values: data.draw(st.lists(values, min_size=n, max_size=n))
    scores = draw(st.one_of(st.none(), st.floats(0, 100)))
    no_labels = pa.array([], pa.string())  # the rows read codes, never labels
    events = Events(tenant=np.array(draw(st.integers(0, 2)), dtype=np.int32), tenant_values=pa.array(["a", "b", "c"]),
                    user=np.array(draw(st.integers(0, 5)), dtype=np.int32), user_values=no_labels,
                    training=np.array(draw(st.integers(-1, 3)), dtype=np.int32), training_values=no_labels,
                    event=np.array(draw(st.integers(0, 3)), dtype=np.int8),
                    ts=np.array(draw(st.integers(0, 10 ** 15)), dtype=np.int64),
                    score=np.array([np.nan if s is None else s for s in scores], dtype=np.float64),
                    duration=np.array(draw(st.integers(0, 10 ** 6)), dtype=np.int64))
    mask = np.array(draw(st.booleans()), dtype=bool)
    kept_events = Events(**{name: value[mask] if isinstance(value, np.ndarray) else value  # masked by hand
                            for name, value in vars(events).items()})
    expected = event_rows(kept_events, {})
    rows = event_rows(events, {})
    taken = rows.take(mask)
    rows.keep(mask)
    for got in (rows, taken):
        for name, value in vars(expected).items():
            if isinstance(value, np.ndarray):
                assert getattr(got, name).tolist() == value.tolist(), name
    taken_events = events.take(mask)
    events.keep(mask)
    for got in (events, taken_events):
        for name, value in vars(kept_events).items():
            if isinstance(value, np.ndarray):
                assert np.array_equal(getattr(got, name), value, equal_nan=value.dtype.kind == "f"), name


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(GOOD_ROWS + [row for row, _, _ in BAD_ROWS]), min_size=1, max_size=30), CHUNKS)
def test_memory004_row_rules_by_chunk_find_each_rows_first_broken_rule(rows, chunk):
    """Rows breaking every rule of the contract, in any order, read by the engines' reader: the same first broken
    rule per row, whatever the chunk."""
    source = CsvBytes("activity.csv", (HEADER + "\n".join(rows) + "\n").encode())
    _, columns = activity_columns(source, [])
    raw, typed = read_activity(source, columns, [])
    parsed = parse_rows(raw, typed, dt.date(2026, 11, 1))
    assert first_broken_rule(parsed, chunk).tolist() == first_broken_rule(parsed, len(rows) + 1).tolist()
