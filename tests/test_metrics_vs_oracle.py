"""Every number of app.queries equals the independent DuckDB computation over the raw CSVs.

Random tenants, ranges (empty ones, week and month edges included) and filter
combinations are drawn by hypothesis over a generated export whose tenants are
in several time zones (daylight saving, 30- and 45-minute offsets, across the
date line), so every day, period and heatmap hour compared is a local one. The
kpis, time series and breakdowns are compared twice: with whole months read from the rollup frame as served, and
with the rollup kept and read for every whole month (``rolled_snapshot``). The
assignment metrics have comparisons of their own (``test_oracle011`` on), with
ranges of due dates around ``data_as_of``: the activity ones' ranges follow the events.
"""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import event, given, settings, strategies as st

from app import queries
from app.catalog import ACTIVITY_METRICS, COMPLIANCE_METRICS, USER_DIMENSIONS
from tests.support.oracle import daylight_saving_changes, same_value as same

# The product's dimensions, as its metrics (queries.METRICS): a dimension is compared as soon as it is declared,
# and the comparisons fail until the oracle defines it too.
USER_DIMS = USER_DIMENSIONS
DIMS = queries.DIMENSIONS
SETTINGS = settings(max_examples=60, deadline=None)


@pytest.fixture(scope="module")
def fully_rolled_up(generated_export, tmp_path_factory):
    """The same export refreshed with the rollup kept for every tenant's event type, however few facts rows it
    saves (``etl.rollup.KEEP_GAIN``): the generated tenants are small, and most keep none as served."""
    from etl import rollup
    from etl.refresh import run_refresh
    from app.store import SnapshotStore

    root = tmp_path_factory.mktemp("rolled-up")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rollup, "KEEP_GAIN", 0)
        assert run_refresh(str(generated_export), root).outcome == "published"
    return SnapshotStore(root).current()


@pytest.fixture(params=["rollup as served", "rollup for every whole month"])
def rolled_snapshot(request, snapshot, monkeypatch):
    """The snapshot as served (whole months read from the rollup where the ETL kept it and it has at most half the
    facts' rows, ``queries.ROLLUP_GAIN``, in ranges of ``queries.ROLLUP_FROM_ROWS`` rows or more); or one with the
    rollup kept everywhere, read for every whole month, so that every comparison over whole months goes
    through it."""
    if request.param == "rollup as served":
        return snapshot
    monkeypatch.setattr(queries, "ROLLUP_GAIN", 0)
    monkeypatch.setattr(queries, "ROLLUP_FROM_ROWS", 0)
    return request.getfixturevalue("fully_rolled_up")


@st.composite
def query_args(draw, snapshot, dims=DIMS):
    """A tenant, a range and filters; most ranges overlap the tenant's data and most filter values exist, so
    that most examples compare answers with data in them (empty ranges and unknown values stay possible)."""
    tenant = draw(st.sampled_from(sorted(snapshot.tenants)))
    ts = snapshot.tenants[tenant]
    first = dt.date(1970, 1, 1) + dt.timedelta(days=ts.first_day)
    last = dt.date(1970, 1, 1) + dt.timedelta(days=ts.last_day)
    inside = st.dates(first, last)
    start = draw(st.one_of(inside, inside, inside, st.dates(first - dt.timedelta(days=40), last + dt.timedelta(days=5))))
    length = draw(st.sampled_from([1, 6, 7, 13, 30, 31, 45, 92, 200, 366]))
    end = start + dt.timedelta(days=length - 1)
    values = queries.filter_values(snapshot, tenant)
    filters = {}
    for dim in draw(st.lists(st.sampled_from(dims), max_size=draw(st.sampled_from([1, 1, 2, 3])), unique=True)):
        keys = [v["key"] for v in values[dim]]
        keys += keys + keys + ["no-such-value"]
        filters[dim] = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3, unique=True))
    return tenant, start, end, filters


def has_data(values) -> bool:
    """Some value is neither zero nor null."""
    return any(v is not None and v == v and v != 0 for v in values)


class Share:
    """How many examples compared answers with data in them; ``check`` fails when too few did.

    The least shares sit about three standard deviations under what 60 examples gave in trial runs (kpis
    0.7, timeseries and heatmap 0.6, breakdown 0.55: a breakdown of a sparse tenant often has no row). Drawn by
    hypothesis, examples are not independent, so shares spread wider than that: timeseries gave 27 to 38 of 60
    in 6 runs with a fresh example database, and 20 in one CI run, so it asks for a quarter.
    """

    def __init__(self):
        self.seen = self.with_data = 0

    def count(self, values) -> None:
        data = has_data(values)
        event("compared data" if data else "compared zeros or nulls only")
        self.seen += 1
        self.with_data += data

    def check(self, least: float) -> None:
        assert self.seen and self.with_data >= least * self.seen, (self.with_data, self.seen)


def test_oracle001_tenants_and_filter_values(snapshot, oracle):
    assert sorted(snapshot.tenants) == oracle.tenants()
    for tenant in oracle.tenants():
        mine = {dim: [(v["key"], v["label"]) for v in vals] for dim, vals in queries.filter_values(snapshot, tenant).items()}
        assert mine == oracle.filter_values(tenant), tenant


def test_oracle002_kpis_whole_history_every_tenant(snapshot, oracle):
    for tenant in oracle.tenants():
        start, end = oracle.data_range(tenant)
        mine = queries.kpis(snapshot, tenant, start, end, {})
        theirs = oracle.kpis(tenant, start, end, {})
        assert all(same(mine[m], theirs[m]) for m in queries.METRICS), (tenant, mine, theirs)


def test_oracle003_kpis(rolled_snapshot, oracle):
    snapshot = rolled_snapshot
    share = Share()

    @SETTINGS
    @given(data=st.data())
    def check(data):
        tenant, start, end, filters = data.draw(query_args(snapshot))
        mine = queries.kpis(snapshot, tenant, start, end, filters)
        theirs = oracle.kpis(tenant, start, end, filters)
        assert {m: mine[m] for m in queries.METRICS if not same(mine[m], theirs[m])} == {}, (mine, theirs)
        share.count(theirs.values())

    check()
    share.check(0.5)


def test_oracle004_timeseries(rolled_snapshot, oracle):
    snapshot = rolled_snapshot
    share = Share()

    @SETTINGS
    @given(data=st.data(), metric=st.sampled_from(ACTIVITY_METRICS),
           granularity=st.sampled_from(queries.GRANULARITIES))
    def check(data, metric, granularity):
        tenant, start, end, filters = data.draw(query_args(snapshot))
        mine = queries.timeseries(snapshot, tenant, start, end, filters, metric, granularity)
        theirs = oracle.timeseries(tenant, start, end, filters, metric, granularity)
        assert list(mine["period"]) == [p for p, _ in theirs]
        assert all(same(a, b) for a, (_, b) in zip(mine["value"], theirs)), (list(mine["value"]), theirs)
        share.count(v for _, v in theirs)

    check()
    share.check(0.25)


def test_oracle005_breakdown(rolled_snapshot, oracle):
    snapshot = rolled_snapshot
    share = Share()

    @SETTINGS
    @given(data=st.data(), metric=st.sampled_from(ACTIVITY_METRICS), by=st.sampled_from(DIMS),
           limit=st.sampled_from([1, 3, 10, 1000]))
    def check(data, metric, by, limit):
        # half the draws filter on the user side only: a training-side filter often leaves no row at all
        tenant, start, end, filters = data.draw(query_args(snapshot, data.draw(st.sampled_from([USER_DIMS, DIMS]))))
        mine = queries.breakdown(snapshot, tenant, start, end, filters, metric, by, limit)
        theirs = oracle.breakdown(tenant, start, end, filters, metric, by, limit)
        assert [(k, l) for k, l in zip(mine.get("key", []), mine.get("label", []))] == \
            [(k, l) for k, l, _ in theirs]
        assert all(same(a, c) for a, (_, _, c) in zip(mine.get("value", []), theirs))
        share.count(c for _, _, c in theirs)

    check()
    share.check(0.35)


def test_oracle006_heatmap(snapshot, oracle):
    share = Share()

    @SETTINGS
    @given(data=st.data())
    def check(data):
        # a training-side filter leaves connections out, and the heatmap counts connections: most draws
        # filter on the user side only, so that the heatmap has cells
        dims = data.draw(st.sampled_from([USER_DIMS, USER_DIMS, USER_DIMS, DIMS]))
        tenant, start, end, filters = data.draw(query_args(snapshot, dims))
        mine = queries.heatmap(snapshot, tenant, start, end, filters)
        theirs = oracle.heatmap(tenant, start, end, filters)
        assert list(zip(mine["weekday"], mine["hour"], mine["value"])) == theirs
        share.count(value for _, _, value in theirs)

    check()
    share.check(0.4)


@st.composite
def long_range_args(draw, snapshot, dims=DIMS):
    """A tenant, a range of 1 to 40 whole months (up to three years, the history is 400 days) with a partial
    month at either edge or none, and filters: distinct counts over whole months plus partial edges."""
    tenant, start, _, filters = draw(query_args(snapshot, dims))
    if draw(st.booleans()):
        start = start.replace(day=1)  # no partial month at the start
    months = draw(st.integers(1, 40))
    year, month = divmod(start.month - 1 + months, 12)
    next_month = dt.date(start.year + year, month + 1, 1)
    end = next_month - dt.timedelta(days=draw(st.sampled_from([1, 1, 2, 15, 27])))  # whole, or a partial edge
    return tenant, start, max(start, end), filters


def test_oracle008_long_ranges_of_whole_months_and_partial_edges(rolled_snapshot, oracle):
    snapshot = rolled_snapshot
    share = Share()

    @SETTINGS
    @given(data=st.data(), metric=st.sampled_from(ACTIVITY_METRICS), by=st.sampled_from(DIMS))
    def check(data, metric, by):
        dims = data.draw(st.sampled_from([USER_DIMS, DIMS]))
        tenant, start, end, filters = data.draw(long_range_args(snapshot, dims))
        mine = queries.kpis(snapshot, tenant, start, end, filters)
        theirs = oracle.kpis(tenant, start, end, filters)
        assert {m: mine[m] for m in queries.METRICS if not same(mine[m], theirs[m])} == {}, (mine, theirs)
        series = queries.timeseries(snapshot, tenant, start, end, filters, metric, "month")
        expected = oracle.timeseries(tenant, start, end, filters, metric, "month")
        assert list(series["period"]) == [p for p, _ in expected]
        assert all(same(a, b) for a, (_, b) in zip(series["value"], expected)), (list(series["value"]), expected)
        rows = queries.breakdown(snapshot, tenant, start, end, filters, metric, by, 1000)
        expected_rows = oracle.breakdown(tenant, start, end, filters, metric, by, 1000)
        assert list(zip(rows.get("key", []), rows.get("label", []))) == [(k, l) for k, l, _ in expected_rows]
        assert all(same(a, c) for a, (_, _, c) in zip(rows.get("value", []), expected_rows))
        share.count(theirs.values())

    check()
    share.check(0.5)


def test_oracle007_refresh_report_matches(generated_snapshot_dir, oracle):
    import json
    from etl import snapshot_format as snapshots

    version = snapshots.live_version(generated_snapshot_dir)
    report = json.loads((generated_snapshot_dir / version / "report.json").read_text())
    assert report["rows_read"] == oracle.report["rows_read"]
    assert report["rows_accepted"] == oracle.report["accepted"]
    assert report["duplicates_dropped"] == oracle.report["duplicates"]


def test_oracle009_tenant_names_and_zones(snapshot, oracle):
    """The generated tenants span zones with daylight saving on both hemispheres, 30- and 45-minute offsets and
    one across the date line; each tenant's name and zone are the oracle's."""
    zones = {snapshot.tenants[t].timezone for t in snapshot.tenants}
    assert {"Europe/Paris", "Australia/Adelaide", "Asia/Kolkata", "Asia/Kathmandu", "Pacific/Auckland"} <= zones
    for tenant in oracle.tenants():
        assert (snapshot.tenants[tenant].name, snapshot.tenants[tenant].timezone) == \
            (oracle.tenant_name(tenant), oracle.timezone(tenant))


def test_oracle010_ranges_across_daylight_saving_changes(snapshot, oracle):
    """Short ranges that start or end on, or span, a daylight-saving change of the tenant's zone: days,
    previous-period-sized ranges and the heatmap's local hours (a day with an hour twice, or none)."""
    changing = {}
    for tenant, ts in snapshot.tenants.items():
        first = dt.date(1970, 1, 1) + dt.timedelta(days=ts.first_day)
        last = dt.date(1970, 1, 1) + dt.timedelta(days=ts.last_day)
        changes = daylight_saving_changes(ts.timezone, first, last)
        if changes:
            changing[tenant] = changes
    assert len({snapshot.tenants[t].timezone for t in changing}) >= 4, changing
    share = Share()

    @SETTINGS
    @given(tenant=st.sampled_from(sorted(changing)), data=st.data(), before=st.integers(0, 3),
           after=st.integers(0, 3), metric=st.sampled_from(queries.METRICS))
    def check(tenant, data, before, after, metric):
        change = data.draw(st.sampled_from(changing[tenant]))
        start, end = change - dt.timedelta(days=before), change + dt.timedelta(days=after)
        mine = queries.kpis(snapshot, tenant, start, end, {})
        theirs = oracle.kpis(tenant, start, end, {})
        assert {m: mine[m] for m in queries.METRICS if not same(mine[m], theirs[m])} == {}, (mine, theirs)
        series = queries.timeseries(snapshot, tenant, start, end, {}, metric, "day")
        expected = oracle.timeseries(tenant, start, end, {}, metric, "day")
        assert list(series["period"]) == [p for p, _ in expected]
        assert all(same(a, b) for a, (_, b) in zip(series["value"], expected)), (list(series["value"]), expected)
        cells = queries.heatmap(snapshot, tenant, start, end, {})
        assert list(zip(cells["weekday"], cells["hour"], cells["value"])) == oracle.heatmap(tenant, start, end, {})
        share.count(theirs.values())

    check()
    share.check(0.5)


def test_oracle011_the_assignments_cover_the_cases_the_comparisons_need(snapshot, oracle):
    """Due dates on both sides of data_as_of, due times (not days), completions before the assignment, every
    status, tenants in several zones with assignments and one without."""
    as_of = snapshot.data_as_of
    cases = dict(zip(("before", "after", "due_time", "done_before_assigned", "on_time", "late", "tenants", "zones"),
                     oracle.con.execute("""
        SELECT count(*) FILTER (WHERE due_day <= ?), count(*) FILTER (WHERE due_day > ?),
               count(*) FILTER (WHERE epoch_us(due_utc) % 1000000 = 0),  -- a day ends at .999999
               count(*) FILTER (WHERE completed_utc < assigned_utc),
               count(*) FILTER (WHERE completed_utc <= due_utc), count(*) FILTER (WHERE completed_utc > due_utc),
               count(DISTINCT tenant_id), count(DISTINCT a.tenant_id || coalesce(t.timezone, 'UTC'))
        FROM assignments a LEFT JOIN tenants t USING (tenant_id)""", [as_of, as_of]).fetchone()))
    assert all(count > 0 for count in cases.values()), cases
    assert cases["zones"] >= 4 and cases["tenants"] < len(oracle.tenants()), cases
    values = [queries.kpis(snapshot, t, as_of, as_of, {}) for t in sorted(snapshot.tenants)]
    assert any(v["due_soon"] for v in values) and any(v["at_risk_learners"] for v in values)
    assert any(v["due_soon"] is None for v in values)


@st.composite
def due_date_args(draw, snapshot, dims=DIMS):
    """A tenant with assignments (now and then one without), a range of due dates around data_as_of, and filters
    on either side."""
    assigned = sorted(t for t, ts in snapshot.tenants.items() if ts.assignments.stop > ts.assignments.start)
    tenant = draw(st.sampled_from(assigned + assigned + assigned + sorted(snapshot.tenants)))
    as_of = snapshot.data_as_of
    start = draw(st.dates(as_of - dt.timedelta(days=200), as_of + dt.timedelta(days=20)))
    end = start + dt.timedelta(days=draw(st.sampled_from([1, 7, 14, 31, 92, 200, 400])) - 1)
    _, _, _, filters = draw(query_args(snapshot, dims))
    values = queries.filter_values(snapshot, tenant)
    filters = {dim: [v for v in vals if v in {o["key"] for o in values[dim]}] or vals for dim, vals in filters.items()}
    return tenant, start, end, filters


def test_oracle012_assignment_metrics(snapshot, oracle):
    share = Share()

    @SETTINGS
    @given(data=st.data(), metric=st.sampled_from(COMPLIANCE_METRICS),
           granularity=st.sampled_from(queries.GRANULARITIES), by=st.sampled_from(DIMS),
           limit=st.sampled_from([1, 3, 1000]))
    def check(data, metric, granularity, by, limit):
        tenant, start, end, filters = data.draw(due_date_args(snapshot, data.draw(st.sampled_from([USER_DIMS, DIMS]))))
        mine = queries.kpis(snapshot, tenant, start, end, filters)
        theirs = oracle.kpis(tenant, start, end, filters)
        assert {m: mine[m] for m in queries.METRICS if not same(mine[m], theirs[m])} == {}, (mine, theirs)
        series = queries.timeseries(snapshot, tenant, start, end, filters, metric, granularity)
        expected = oracle.timeseries(tenant, start, end, filters, metric, granularity)
        assert list(series["period"]) == [p for p, _ in expected]
        assert all(same(a, b) for a, (_, b) in zip(series["value"], expected)), (list(series["value"]), expected)
        rows = queries.breakdown(snapshot, tenant, start, end, filters, metric, by, limit)
        expected_rows = oracle.breakdown(tenant, start, end, filters, metric, by, limit)
        assert list(zip(rows.get("key", []), rows.get("label", []))) == [(k, l) for k, l, _ in expected_rows]
        assert all(same(a, c) for a, (_, _, c) in zip(rows.get("value", []), expected_rows))
        share.count([theirs[m] for m in COMPLIANCE_METRICS])

    check()
    # With a fresh example database (as in CI), 33 runs gave 28 to 56 examples of 60 with data, median 46: the
    # filters often select no assignment. 0.5 failed one CI run; 0.35 still needs 21 examples with data.
    share.check(0.35)
