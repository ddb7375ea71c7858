"""The learner index (``app.learner_index``): the pages it answers are the pages the range's rows give, for
ranges that reach the tenant's last day (with and without user-side filters) and for those it leaves to the
rows; it belongs to one snapshot object, so a hot swap or an erasure never lists from a stale one."""
from __future__ import annotations

import datetime as dt
import gc
import weakref

from hypothesis import event, given, settings, strategies as st

from app import learner_index, learners, queries, store
from app.config import Settings
from etl.forget import forget
from etl.refresh import refresh_with_settings
from tests.support.credentials import ERASURE_KEY
from tests.support.exports import write_export

COHORTS = ("active", "connected", "enrolled", "started", "completed", "not_completed")


@st.composite
def index_args(draw, snapshot):
    """A tenant, a range ending around its last day of data (at it, after it, or a day or a month before it:
    the rows' path), filters (none, user side, training side), a cohort, a sort and a page position."""
    tenant = draw(st.sampled_from(sorted(snapshot.tenants)))
    ts = snapshot.tenants[tenant]
    end = store.day_date(draw(st.sampled_from([ts.last_day, ts.last_day + 3, ts.last_day - 1, ts.last_day - 30])))
    if draw(st.booleans()):
        end = max(end, snapshot.data_as_of)
    start = end - dt.timedelta(days=draw(st.sampled_from([0, 6, 29, 364, 2000])))
    values = queries.filter_values(snapshot, tenant)
    filters = {}
    for dim in draw(st.lists(st.sampled_from(["group", "country", "group", "country", "category"]), max_size=2,
                             unique=True)):
        filters[dim] = draw(st.lists(st.sampled_from([v["key"] for v in values[dim]]), min_size=1, max_size=2,
                                     unique=True))
    return tenant, start, end, filters


def test_lix001_the_index_gives_the_pages_the_rows_give(snapshot, monkeypatch):
    """Pages with the index and without it (``range_days`` answering None: the rows' path) are identical."""
    seen = {"indexed": 0, "rows": 0}
    with_index = learner_index.range_days

    @settings(max_examples=60, deadline=None)
    @given(data=st.data(), cohort=st.sampled_from(COHORTS),
           sort=st.sampled_from(["last_activity", "last_activity", "name", "connections", "avg_score"]),
           order=st.sampled_from(learners.ORDERS), limit=st.sampled_from([1, 7, 50]), pages=st.integers(1, 3))
    def check(data, cohort, sort, order, limit, pages):
        args = data.draw(index_args(snapshot))
        indexed = with_index(snapshot, *args) is not None
        seen["indexed" if indexed else "rows"] += 1
        event("indexed" if indexed else "rows")
        walked = {}
        for mode, range_days in (("index", with_index), ("rows", lambda *a: None)):
            monkeypatch.setattr(learner_index, "range_days", range_days)
            after, walked[mode] = None, []
            for _ in range(pages):
                page = learners.learner_page(snapshot, *args, cohort=cohort, sort=sort, order=order, limit=limit,
                                             after=after)
                walked[mode].append((page.total, page.rows.to_dict("records"), page.next))
                if page.next is None:
                    break
                after = page.next
        monkeypatch.setattr(learner_index, "range_days", with_index)
        assert walked["index"] == walked["rows"], args

    check()
    assert seen["indexed"] >= 15 and seen["rows"] >= 10, seen


def test_lix002_a_hot_swap_or_an_erasure_lists_from_the_new_snapshot_and_releases_the_old_index(tmp_path):
    s = Settings.from_env({}, source=str(tmp_path / "src"), snapshot_dir=str(tmp_path / "snap"),
                          cache_dir=str(tmp_path / "cache"), erasure_key=ERASURE_KEY)
    write_export(tmp_path / "src")
    assert refresh_with_settings(s).outcome == "published"
    live = store.SnapshotStore(tmp_path / "snap")
    held = live.current()
    month = (held.data_as_of - dt.timedelta(days=29), held.data_as_of)
    assert learner_index.range_days(held, "acme", *month, {}) is not None  # the index answers this list
    assert learners.learner_page(held, "acme", *month, {}).rows["user_id"].tolist() == ["u1", "u2"]

    result, _ = forget(s, "acme", ["u2"])
    assert result.ok, result.message
    erased = live.current()
    assert erased is not held
    assert learners.learner_page(erased, "acme", *month, {}).rows["user_id"].tolist() == ["u1"]
    assert learners.learner_page(held, "acme", *month, {}).total == 2  # a request in flight keeps its snapshot

    gone = weakref.ref(held)
    del held  # the request ends: the index does not keep the old snapshot (its mapping) alive
    gc.collect()
    assert gone() is None and live.retired == 0
