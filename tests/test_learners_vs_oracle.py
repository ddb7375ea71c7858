"""Every learner list and learner of app.learners equals the independent DuckDB computation over the raw CSVs.

Random tenants, ranges, filters, cohorts, sort columns, orders and page sizes are drawn by hypothesis over the
generated export; every page is walked from the first to the last, and the pages together must be the oracle's
whole list, in its order. Tenants with assignments (in several zones) are drawn more often, ranges reach past
``data_as_of`` (due dates on both sides of it), and the assignment cohorts of a tenant without any are refused.
"""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import event, given, settings, strategies as st

from app import learner_index, learners, queries
from app.learner_assignments import NoAssignments
from tests.support.oracle import ASSIGNMENT_COHORTS, LEARNER_COHORTS, same_value as same

SETTINGS = settings(max_examples=40, deadline=None)
SORTABLE = learners.COLUMNS


def assigning(snapshot) -> list[str]:
    """The tenants with assignments, sorted."""
    return sorted(t for t, ts in snapshot.tenants.items() if ts.assignments.stop > ts.assignments.start)


@st.composite
def list_args(draw, snapshot):
    """A tenant (one with assignments more often than not), a range mostly over its data (now and then after
    ``data_as_of``, where assignments are due soon), and filters (user side, training side or none)."""
    tenant = draw(st.sampled_from(assigning(snapshot) * 2 + sorted(snapshot.tenants)))
    ts = snapshot.tenants[tenant]
    first = dt.date(1970, 1, 1) + dt.timedelta(days=ts.first_day)
    last = dt.date(1970, 1, 1) + dt.timedelta(days=ts.last_day)
    start = draw(st.dates(first - dt.timedelta(days=10), max(last, snapshot.data_as_of) + dt.timedelta(days=20)))
    end = start + dt.timedelta(days=draw(st.sampled_from([0, 6, 30, 90, 400])))
    values = queries.filter_values(snapshot, tenant)
    filters = {}
    for dim in draw(st.lists(st.sampled_from(queries.DIMENSIONS), max_size=2, unique=True)):
        keys = [v["key"] for v in values[dim]] + ["no-such-value"]
        filters[dim] = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3, unique=True))
    return tenant, start, end, filters


def same_rows(mine: list[dict], theirs: list[dict]) -> bool:
    return len(mine) == len(theirs) and not first_difference(mine, theirs)


def first_difference(mine: list[dict], theirs: list[dict]) -> dict:
    """The first row that differs: its position and the differing ``{column: (mine, theirs)}``."""
    for i, (a, b) in enumerate(zip(mine, theirs)):
        differ = {k: (a.get(k), b.get(k)) for k in set(a) | set(b) if not same(a.get(k), b.get(k))}
        if differ:
            return {"row": i, **differ}
    return {}


def walk(snapshot, args, cohort, sort, order, limit) -> tuple[list[dict], set[int]]:
    """Every page from the first: the rows, and the totals the pages announced."""
    rows, totals, after = [], set(), None
    while True:
        page = learners.learner_page(snapshot, *args, cohort=cohort, sort=sort, order=order, limit=limit,
                                     after=after)
        assert len(page.rows) <= limit
        assert page.next is None or len(page.rows) == limit
        rows += page.rows.to_dict("records")
        totals.add(page.total)
        if page.next is None:
            return rows, totals
        after = page.next


def test_learners001_every_page_walked_equals_the_oracle(snapshot, oracle):
    seen = {"with rows": 0}

    @SETTINGS
    @given(data=st.data(), cohort=st.sampled_from(LEARNER_COHORTS), sort=st.sampled_from(SORTABLE),
           order=st.sampled_from(learners.ORDERS), limit=st.sampled_from([1, 3, 7, 50, 1000]))
    def check(data, cohort, sort, order, limit):
        args = data.draw(list_args(snapshot))
        theirs = oracle.learners(*args, cohort=cohort, sort=sort, order=order)
        if theirs is None:  # an assignment cohort of a tenant without assignments
            with pytest.raises(NoAssignments, match="has none"):
                learners.learner_page(snapshot, *args, cohort=cohort, sort=sort, order=order, limit=limit)
            event("refused")
            return
        if limit < 7 and len(theirs) > 300:
            limit = 50  # keep the walk short; small pages are walked over short lists
        mine, totals = walk(snapshot, args, cohort, sort, order, limit)
        assert totals == {len(theirs)}
        assert same_rows(mine, theirs), (args, first_difference(mine, theirs))
        chunks = learners.learner_chunks(snapshot, *args, cohort=cohort, sort=sort, order=order, chunk=limit)
        assert same_rows([r for c in chunks for r in c.to_dict("records")], theirs)
        event(f"{cohort}: {'rows' if theirs else 'no row'}")
        seen["with rows"] += bool(theirs)
        seen[cohort] = seen.get(cohort, 0) + bool(theirs)

    check()
    assert seen["with rows"] >= 10  # most draws list someone; a training filter value may match no one


def test_learners006_assignment_cohorts_and_columns(snapshot, oracle):
    """The cohorts assignments decide, and the ``assigned``/``overdue`` columns, for tenants with assignments:
    every page walked; ``at_risk`` totals the ``at_risk_learners`` KPI for the same filters."""
    seen: dict[str, int] = {}

    @SETTINGS
    @given(data=st.data(), cohort=st.sampled_from(ASSIGNMENT_COHORTS),
           sort=st.sampled_from(("overdue", "assigned", "last_activity", "name")),
           order=st.sampled_from(learners.ORDERS), limit=st.sampled_from([1, 7, 50]))
    def check(data, cohort, sort, order, limit):
        tenant, start, end, filters = data.draw(list_args(snapshot))
        if tenant not in assigning(snapshot):
            tenant = data.draw(st.sampled_from(assigning(snapshot)))
            filters = {}
        args = (tenant, start, end, filters)
        theirs = oracle.learners(*args, cohort=cohort, sort=sort, order=order)
        mine, totals = walk(snapshot, args, cohort, sort, order, 50 if len(theirs) > 300 else limit)
        assert totals == {len(theirs)}
        assert same_rows(mine, theirs), (args, first_difference(mine, theirs))
        if cohort == "at_risk":
            assert len(theirs) == queries.kpis(snapshot, *args)["at_risk_learners"]
        seen[cohort] = seen.get(cohort, 0) + bool(theirs)

    check()
    end = snapshot.data_as_of
    for cohort in (c for c in ASSIGNMENT_COHORTS if not seen.get(c)):  # the draws missed it: a year, no filter
        most = max(assigning(snapshot), key=lambda t: snapshot.tenants[t].assignments.stop -
                   snapshot.tenants[t].assignments.start)
        args = (most, end - dt.timedelta(days=364), end, {})
        theirs = oracle.learners(*args, cohort=cohort, sort="name", order="asc")
        mine, totals = walk(snapshot, args, cohort, "name", "asc", 50)
        assert totals == {len(theirs)} and same_rows(mine, theirs), (cohort, first_difference(mine, theirs))
        seen[cohort] = bool(theirs)
    assert all(seen.get(c) for c in ASSIGNMENT_COHORTS), seen  # each cohort listed someone at least once


def test_learners002_default_order_is_latest_activity_first(snapshot, oracle):
    tenant = max(snapshot.tenants, key=lambda t: snapshot.tenants[t].users.stop - snapshot.tenants[t].users.start)
    end = snapshot.data_as_of
    start = end - dt.timedelta(days=29)
    page = learners.learner_page(snapshot, tenant, start, end, {}, limit=1000)
    theirs = oracle.learners(tenant, start, end, {})
    assert page.total == len(theirs) > 50
    assert same_rows(page.rows.to_dict("records"), theirs[:1000])


def test_learners003_one_learners_trainings(snapshot, oracle):
    @SETTINGS
    @given(data=st.data())
    def check(data):
        tenant, _, _, filters = data.draw(list_args(snapshot))
        ts = snapshot.tenants[tenant]
        assignees = snapshot.assignments["user"][ts.assignments].tolist()  # learners with assignments, more often
        row = data.draw(st.one_of(st.integers(ts.users.start, ts.users.stop - 1), st.sampled_from(assignees))
                        if assignees else st.integers(ts.users.start, ts.users.stop - 1))
        user_id = snapshot.users.take("user_id", [row])[0]
        theirs = oracle.learner_trainings(tenant, user_id, filters)
        if theirs is None:
            with pytest.raises(learners.UnknownLearner):
                learners.learner_trainings(snapshot, tenant, user_id, filters)
            return
        mine = learners.learner_trainings(snapshot, tenant, user_id, filters)
        assert mine["user_id"] == user_id
        assert same_rows(mine["trainings"], theirs), (mine["trainings"], theirs)

    check()


def test_learners004_unknown_learner_and_assignment_cohorts_without_assignments(snapshot):
    tenant = sorted(snapshot.tenants)[0]
    for user_id in ("", "no-such-user", "u", "zzzzzzzz"):
        with pytest.raises(learners.UnknownLearner):
            learners.learner_trainings(snapshot, tenant, user_id, {})
    end = snapshot.data_as_of
    (without, *_) = sorted(set(snapshot.tenants) - set(assigning(snapshot)))
    for cohort in learners.ASSIGNMENT_COHORTS:
        with pytest.raises(NoAssignments, match="has none"):
            learners.learner_page(snapshot, without, end, end, {}, cohort=cohort)
        with pytest.raises(NoAssignments, match="has none"):
            learners.learner_chunks(snapshot, without, end, end, {}, cohort=cohort)
    page = learners.learner_page(snapshot, without, end - dt.timedelta(days=89), end, {})
    assert page.total and page.rows["assigned"].isna().all() and page.rows["overdue"].isna().all()
    for bad in ({"cohort": "everyone"}, {"sort": "score"}, {"order": "up"}, {"limit": 0}, {"limit": 1001}):
        with pytest.raises(queries.QueryError):
            learners.learner_page(snapshot, tenant, end, end, {}, **bad)


@pytest.mark.parametrize("order", learners.ORDERS)
@pytest.mark.parametrize("sort", SORTABLE)
def test_learners005_every_column_both_ways_for_the_largest_tenant(snapshot, oracle, sort, order):
    """Not left to chance: every sort column in both orders, where ties (equal names, groups, counts) abound."""
    tenant = max(snapshot.tenants, key=lambda t: snapshot.tenants[t].users.stop - snapshot.tenants[t].users.start)
    end = snapshot.data_as_of
    args = (tenant, end - dt.timedelta(days=89), end, {})
    theirs = oracle.learners(*args, sort=sort, order=order)
    mine, totals = walk(snapshot, args, "active", sort, order, 97)
    assert totals == {len(theirs)} and len(theirs) > 97
    assert same_rows(mine, theirs), first_difference(mine, theirs)


def test_learners007_ranges_the_learner_index_answers_and_those_just_before(snapshot, oracle):
    """Ranges ending at the tenant's last day of data or after it (the learner index answers, with or without a
    user-side filter) and a day or a month before it (the range's rows), every page walked, equal the oracle's
    list."""
    seen = {"indexed": 0, "rows": 0}

    @SETTINGS
    @given(data=st.data(), cohort=st.sampled_from(LEARNER_COHORTS),
           sort=st.sampled_from(["last_activity", "last_activity", "name", "completions", "avg_score"]),
           order=st.sampled_from(learners.ORDERS), limit=st.sampled_from([7, 50, 1000]))
    def check(data, cohort, sort, order, limit):
        tenant = data.draw(st.sampled_from(sorted(snapshot.tenants)))
        ts = snapshot.tenants[tenant]
        last = dt.date(1970, 1, 1) + dt.timedelta(days=ts.last_day)
        end = data.draw(st.sampled_from([last, last, max(last, snapshot.data_as_of) + dt.timedelta(days=5),
                                         last - dt.timedelta(days=1), last - dt.timedelta(days=30)]))
        start = end - dt.timedelta(days=data.draw(st.sampled_from([0, 29, 364])))
        values = queries.filter_values(snapshot, tenant)
        filters = {dim: data.draw(st.lists(st.sampled_from([v["key"] for v in values[dim]]), min_size=1,
                                           max_size=2, unique=True))
                   for dim in data.draw(st.lists(st.sampled_from(["group", "country"]), max_size=2, unique=True))}
        args = (tenant, start, end, filters)
        theirs = oracle.learners(*args, cohort=cohort, sort=sort, order=order)
        if theirs is None:  # an assignment cohort of a tenant without assignments
            return
        mine, totals = walk(snapshot, args, cohort, sort, order, 50 if len(theirs) > 300 else limit)
        assert totals == {len(theirs)}
        assert same_rows(mine, theirs), (args, first_difference(mine, theirs))
        indexed = learner_index.range_days(snapshot, *args) is not None
        seen["indexed" if indexed else "rows"] += bool(theirs)
        event("indexed" if indexed else "rows")

    check()
    tenant = max(snapshot.tenants, key=lambda t: snapshot.tenants[t].users.stop - snapshot.tenants[t].users.start)
    last = dt.date(1970, 1, 1) + dt.timedelta(days=snapshot.tenants[tenant].last_day)
    for end, indexed in ((last, True), (last - dt.timedelta(days=30), False)):  # each path once, whatever was drawn
        args = (tenant, end - dt.timedelta(days=29), end, {"group": [queries.filter_values(snapshot, tenant)[
            "group"][0]["key"]]})
        assert (learner_index.range_days(snapshot, *args) is not None) == indexed
        for cohort, sort in (("active", "last_activity"), ("completed", "name")):
            theirs = oracle.learners(*args, cohort=cohort, sort=sort, order="desc")
            mine, totals = walk(snapshot, args, cohort, sort, "desc", 50)
            assert theirs and totals == {len(theirs)} and same_rows(mine, theirs), (args, cohort)
    assert seen["indexed"] and seen["rows"], seen  # the draws reached both paths too
