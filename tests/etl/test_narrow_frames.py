"""Snapshot columns are stored as narrow as their values allow, and every reader copes with any width."""
from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from app import queries
from app.store import SnapshotStore, load_snapshot
from etl.refresh import run_refresh
from etl.transform import narrowest
from tests.support.exports import GOOD_ROWS, HEADER, write_export

WIDTHS = (np.int8, np.int16, np.int32, np.int64)
BOUNDARIES = [int(b) + d for kind in WIDTHS[:-1] for b in (np.iinfo(kind).min, np.iinfo(kind).max) for d in (-1, 0, 1)]


@given(arrays(np.int64, st.integers(0, 50), elements=st.one_of(
    st.sampled_from(BOUNDARIES), st.integers(-2 ** 63, 2 ** 63 - 1), st.integers(-200, 200))))
def test_narrow001_smallest_type_that_holds_every_value(values):
    narrow = narrowest(values)
    assert np.array_equal(narrow, values)
    if narrow.dtype != np.int8:
        smaller = np.iinfo(WIDTHS[WIDTHS.index(narrow.dtype.type) - 1])
        assert values.min() < smaller.min or values.max() > smaller.max


def test_narrow002_generated_snapshot_is_stored_narrow(snapshot):
    facts, hourly = snapshot.facts, snapshot.hourly
    assert facts["score_n"].dtype == np.int8  # a handful of scored completions per fact row
    assert facts["n"].dtype.itemsize <= 2 and hourly["n"].dtype.itemsize <= 2
    assert facts["training"].dtype.itemsize <= 2 and hourly["group"].dtype == np.int8


def _snapshot(tmp_path, name: str, rows: list[str], users: str | None = None):
    write_export(tmp_path / name, activity=HEADER + "\n".join(rows) + "\n", users=users)
    result = run_refresh(str(tmp_path / name), tmp_path / f"{name}-snap")
    assert result.outcome == "published", result.message
    return load_snapshot(tmp_path / f"{name}-snap", result.version)


def test_narrow003_filter_code_wider_than_the_column(tmp_path):
    """A group whose code does not fit the hourly column (int8 here) matches nothing instead of failing."""
    users = "tenant_id,user_id,group,country\n" + "".join(f"acme,u{i:03d},G{i:03d},FR\n" for i in range(200))
    rows = ["c0,2026-10-30T08:00:00Z,acme,u000,connection,,,60"]
    rows += [f"e{i},2026-10-30T09:00:00Z,acme,u{i:03d},enrolment,T1,," for i in range(200)]
    snap = _snapshot(tmp_path, "wide", rows, users)
    assert snap.hourly["group"].dtype == np.int8 and snap.codes["group"]["G199"] > 127
    day = dt.date(2026, 10, 30)
    heat = queries.heatmap(snap, "acme", day, day, {"group": ["G199"]})
    assert heat["value"].tolist() == [0] * 168
    heat = queries.heatmap(snap, "acme", day, day, {"group": ["G000", "G199"]})
    assert sum(heat["value"]) == 1
    assert queries.kpis(snap, "acme", day, day, {"group": ["G199"]})["enrolments"] == 1


def test_narrow004_a_wider_column_changes_no_other_tenants_digest(tmp_path):
    """One long session in acme widens the whole duration column; beta's digest (and cache) stays."""
    base_root, long_root = tmp_path / "base-snap", tmp_path / "long-snap"
    base = _snapshot(tmp_path, "base", GOOD_ROWS)
    long = _snapshot(tmp_path, "long", GOOD_ROWS + ["e9,2026-10-31T13:00:00Z,acme,u1,connection,,,100000"])
    assert base.facts["duration"].dtype == np.int16 and long.facts["duration"].dtype == np.int32
    digests = {root: SnapshotStore(root).current().manifest["tenant_digests"] for root in (base_root, long_root)}
    assert digests[long_root]["beta"] == digests[base_root]["beta"]
    assert digests[long_root]["acme"] != digests[base_root]["acme"]
    assert queries.kpis(long, "acme", dt.date(2026, 10, 31), dt.date(2026, 10, 31), {})["learning_hours"] == (
        (600 + 900 + 100000) / 3600)
