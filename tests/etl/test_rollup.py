"""The rollup frame (``etl.rollup``) against the facts it rolls up, grouped again by pandas, row by row."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from etl import snapshot_format as snapshots
from etl.rollup import KEEP_GAIN, month_starts


def _month(day: int) -> int:
    date = dt.date(1970, 1, 1) + dt.timedelta(days=int(day))
    return (date.replace(day=1) - dt.date(1970, 1, 1)).days


def test_rollup001_month_starts():
    days = np.array([-1, 0, 30, 31, 59, 20454, 20484], dtype=np.int32)
    assert month_starts(days).tolist() == [_month(d) for d in days.tolist()]


def _expected(snapshot, ts, event: int) -> pd.DataFrame:
    """The rollup of one tenant's event type, by pandas from the facts."""
    f, users = snapshot.facts, snapshot.users
    rows = ts.events[event]
    frame = pd.DataFrame({c: f[c][rows] for c in ("day", "user", "training", "n", "duration", "score_sum",
                                                  "score_n", "completed", snapshots.PREVIOUS_PAIR,
                                                  snapshots.PREVIOUS_USER)})
    dims = [d.name for d in snapshots.side_dimensions(snapshots.USER) if d.coded]
    tenant_users = pd.DataFrame({d: users[d][ts.users] for d in dims})
    tenant_users["code"] = np.arange(ts.users.start, ts.users.stop)
    first_of_class = tenant_users.groupby(dims)["code"].transform("min")
    frame["user"] = first_of_class.to_numpy()[frame["user"].to_numpy() - ts.users.start]
    frame["day"] = [_month(d) for d in frame["day"]]
    active = snapshots.EVENT_TYPES[event] in snapshots.ACTIVE_EVENTS
    for column, counted in ((snapshots.PREVIOUS_PAIR, True), (snapshots.PREVIOUS_USER, active)):
        frame[column] = [_month(d) if counted and d != snapshots.NO_PREVIOUS else snapshots.NO_PREVIOUS
                         for d in frame[column]]
    keys = ["day", "user", "training", "completed", snapshots.PREVIOUS_PAIR, snapshots.PREVIOUS_USER]
    grouped = frame.assign(rows=1).groupby(keys, as_index=False)[
        ["n", "duration", "score_sum", "score_n", "rows"]].sum()
    return grouped.sort_values(keys).reset_index(drop=True)


def test_rollup002_each_row_stands_for_the_facts_of_its_month_class_training_and_previous_months(snapshot):
    """Every tenant and event type: the rollup's rows are the facts grouped by month, user class (the first user of
    the tenant with the same dimensions), training, ``completed`` and the months of the previous rows (the
    previous learner day only for the events that make a learner active), with sums and a count of rows; or no
    row, where they would be more than 1 / KEEP_GAIN of the facts' rows."""
    r = snapshot.rollup
    compared = dropped = 0
    for ts in snapshot.tenants.values():
        for event in range(len(snapshots.EVENT_TYPES)):
            rows = ts.rollup[event]
            found = pd.DataFrame({c: r[c][rows] for c in ("day", "user", "training", "completed",
                                                          snapshots.PREVIOUS_PAIR, snapshots.PREVIOUS_USER, "n",
                                                          "duration", "score_sum", "score_n", "rows")})
            assert (r["event"][rows] == event).all()
            assert (np.diff(found["day"].to_numpy()) >= 0).all(), "rows come in month order"
            expected = _expected(snapshot, ts, event)
            facts_rows = ts.events[event].stop - ts.events[event].start
            if len(expected) * KEEP_GAIN > facts_rows:  # not worth keeping: the queries read the facts
                assert len(found) == 0
                dropped += 1
                continue
            found = found.sort_values(list(found.columns[:6])).reset_index(drop=True)
            assert len(found) == len(expected)
            for column in expected.columns:
                if column == "score_sum":
                    assert np.allclose(found[column], expected[column], rtol=1e-12), column
                else:
                    assert found[column].astype(np.int64).tolist() == expected[column].astype(np.int64).tolist(), column
            compared += len(found)
    assert compared > 1000 and dropped, (compared, dropped)


def test_rollup003_hashed_a_piece_at_a_time_as_whole(generated_snapshot_dir, monkeypatch):
    """Keys hashed between cuts (a few rows apart here, two million in a refresh) give the frame hashed whole."""
    from etl import rollup as rollups

    root = generated_snapshot_dir
    version = snapshots.live_version(root)
    facts, users, tenants = (snapshots.map_frame(root, version, name) for name in ("facts", "users", "tenants"))
    classes = rollups.user_classes(users, np.asarray(tenants.column("users_start")))
    bounds = np.concatenate([np.asarray(tenants.column(name))
                             for name in (*snapshots.FACTS_STARTS, snapshots.FACTS_END)])
    cut = rollups._cuts
    monkeypatch.setattr(rollups, "_cuts", lambda event, month: np.zeros(0, dtype=np.int64))
    whole, whole_bounds = rollups.rollup(facts, classes, bounds)
    monkeypatch.setattr(rollups, "_cuts", lambda event, month: cut(event, month, every=7))
    pieces, piece_bounds = rollups.rollup(facts, classes, bounds)
    assert len(cut(facts.column("event").to_numpy(), rollups.month_starts(facts.column("day").to_numpy()),
                   every=7)) > 100
    assert whole.equals(pieces)
    assert whole_bounds.tolist() == piece_bounds.tolist()
    assert whole.num_rows == _snapshot_rows(root, version)


def _snapshot_rows(root, version) -> int:
    return snapshots.map_frame(root, version, "rollup").num_rows
