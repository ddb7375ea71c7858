"""The product (refresh, then app.queries and the API) equals the oracle on exports that are not clean.

The generated export behind tests/test_metrics_vs_oracle.py has no rejected rows, no empty event ids,
lower-case event types and exact-copy duplicates only. Here the product runs on the hand-checked
tricky export (tests/support/tricky_export.py) and on seeded messy exports with rejected rows (some
sharing an event_id with a later valid row), empty ids, mixed-case types and near-duplicates, and
every answer over a grid of tenants, ranges, filters, metrics, granularities and dimensions is
compared with the oracle's.
"""
from __future__ import annotations

import datetime as dt
import random

import pytest

from app import queries
from app.store import SnapshotStore
from etl.refresh import run_refresh
from tests.support.apps import make_app
from tests.support.credentials import ALL_KEY, bearer
from tests.support.exports import write_export as write_product_export
from tests.support.oracle import Oracle, same_value as same
from tests.support.tricky_export import ACTIVITY, RANGE, TRAININGS, USERS

# the spec's names, spelled here rather than taken from the product
METRICS = ("connections", "active_learners", "enrolments", "starts", "completions", "completion_rate", "avg_score",
           "learning_hours")
DIMS = ("group", "country", "training", "category", "format")
GRANULARITIES = ("day", "week", "month")
EXPORT_DATE = "2026-11-30"


def messy_export(seed: int) -> tuple[str, str, str]:
    """(activity, users, trainings) CSV texts: about 400 rows over three tenants, of which some 4% are
    rejected, with empty event ids, types in any case, exact and near duplicates, and offsets."""
    rng = random.Random(seed)
    tenants = ("acme", "globex", "Hooli.eu")
    rows: list[str] = []
    for i in range(400):
        tenant = rng.choice(tenants)
        user = f"u{rng.randrange(12)}"
        kind = rng.choice(("connection", "connection", "enrolment", "start", "completion"))
        kind = rng.choice((kind, kind.upper(), kind.capitalize(), kind[0].upper() + kind[1:-1] + kind[-1].upper()))
        training = "" if kind.lower() == "connection" else f"T{rng.randrange(5)}"
        when = dt.datetime(2026, 9, 1, tzinfo=dt.timezone.utc) + dt.timedelta(minutes=rng.randrange(90 * 24 * 60))
        offset = rng.choice(("Z", "+02:00", "-05:00", ""))
        stamp = (when.strftime("%Y-%m-%dT%H:%M:%S") + offset) if offset in ("Z", "") else \
            (when + dt.timedelta(hours=int(offset[:3]))).strftime("%Y-%m-%dT%H:%M:%S") + offset
        score = f"{rng.uniform(0, 100):.1f}" if kind.lower() == "completion" and rng.random() < 0.7 else ""
        duration = str(rng.randrange(0, 4000)) if rng.random() < 0.6 else ""
        event_id = "" if rng.random() < 0.08 else f"m{i}"
        roll = rng.random()
        if roll < 0.04:  # a rejected row, sometimes with the id a later valid row carries
            event_id = f"m{i + 1}" if rng.random() < 0.5 else event_id
            broken = rng.randrange(4)
            stamp = "not-a-date" if broken == 0 else stamp
            kind = "login" if broken == 1 else kind
            duration = "-5" if broken == 2 else duration
            user = "" if broken == 3 else user
        elif roll < 0.10 and rows:  # a duplicate id: an exact copy, or the same id with another duration
            source = rng.choice(rows)
            rows.append(source if rng.random() < 0.5 else source.rsplit(",", 1)[0] + ",7")
            continue
        rows.append(f"{tenant},{event_id},{user},{stamp},{kind},{training},{score},{duration}")
    activity = "tenant_id,event_id,user_id,occurred_at,event_type,training_id,score,duration_s\n" + \
        "\n".join(rows) + "\n"
    users = "user_id,tenant_id,country,group\n" + "".join(
        f"u{u},{t},{rng.choice(('FR', 'DE', ''))},{rng.choice(('Sales', 'Ops', ''))}\n"
        for t in tenants for u in range(10))  # u10 and u11 are not in users.csv
    trainings = "tenant_id,training_id,title,category,format\n" + "".join(
        f'{t},T{n},"{rng.choice(("Intro", "", "Deep, dive"))}",{rng.choice(("Compliance", "Sales", ""))},video\n'
        for t in tenants for n in range(4))  # T4 is not in trainings.csv
    return activity, users, trainings


EXPORTS = {"tricky": (ACTIVITY, USERS, TRAININGS), **{f"messy-{seed}": messy_export(seed) for seed in (1, 2)}}


@pytest.fixture(scope="module", params=sorted(EXPORTS))
def both(request, tmp_path_factory):
    """(snapshot, oracle, snapshot folder) over the same export folder."""
    root = tmp_path_factory.mktemp(request.param)
    activity, users, trainings = EXPORTS[request.param]
    folder = write_product_export(root / "src", EXPORT_DATE, activity=activity, users=users, trainings=trainings)
    result = run_refresh(str(root / "src"), root / "snap", max_reject_ratio=0.5)
    assert result.outcome == "published", result.message
    return SnapshotStore(root / "snap").current(), Oracle(str(folder)), root / "snap", result.report


def ranges(oracle: Oracle, tenant: str) -> list[tuple[dt.date, dt.date]]:
    first, last = oracle.data_range(tenant)
    return [(first, last), RANGE, (first - dt.timedelta(days=30), first), (last - dt.timedelta(days=6), last)]


def filter_sets(oracle: Oracle, tenant: str) -> list[dict]:
    values = oracle.filter_values(tenant)
    sets = [{}]
    for dim, pairs in values.items():
        sets += [{dim: [key]} for key, _ in pairs]
        sets.append({dim: [key for key, _ in pairs] + ["no-such-value"]})
    present = [dim for dim in DIMS if values.get(dim)]
    if len(present) >= 2:
        sets.append({present[0]: [values[present[0]][0][0]], present[-1]: [values[present[-1]][-1][0]]})
    return sets


def test_tricky001_refresh_report_matches_the_oracle(both):
    _, oracle, _, report = both
    assert report["rows_read"] == oracle.report["rows_read"]
    assert report["rows_accepted"] == oracle.report["accepted"]
    assert report["rows_rejected"] == oracle.report["rejected"]
    assert report["duplicates_dropped"] == oracle.report["duplicates"]


def test_tricky002_tenants_and_filter_values(both):
    snapshot, oracle, _, _ = both
    assert sorted(snapshot.tenants) == oracle.tenants()
    for tenant in oracle.tenants():
        mine = {dim: [(v["key"], v["label"]) for v in vals]
                for dim, vals in queries.filter_values(snapshot, tenant).items()}
        assert mine == oracle.filter_values(tenant), tenant


def test_tricky003_kpis_and_heatmap(both):
    snapshot, oracle, _, _ = both
    non_empty = 0
    for tenant in oracle.tenants():
        for start, end in ranges(oracle, tenant):
            for filters in filter_sets(oracle, tenant):
                where = (tenant, start, end, filters)
                mine, theirs = queries.kpis(snapshot, *where), oracle.kpis(*where)
                assert {m: (mine[m], theirs[m]) for m in METRICS if not same(mine[m], theirs[m])} == {}, where
                non_empty += bool(theirs["connections"] or theirs["enrolments"])
                assert list(zip(*(queries.heatmap(snapshot, *where)[c] for c in ("weekday", "hour", "value")))) \
                    == oracle.heatmap(*where), where
    assert non_empty >= 20  # the grid compares answers with data in them, not only empty ones


def test_tricky004_timeseries_and_breakdown(both):
    """Every metric by every granularity and dimension over each tenant's whole history, with a sixth of the
    KPIs' filter sets (each answer is a list: fewer combinations keep the test under a minute)."""
    snapshot, oracle, _, _ = both
    for tenant in oracle.tenants():
        first, last = oracle.data_range(tenant)
        for start, end in ((first, last),):
            for filters in filter_sets(oracle, tenant)[::6]:
                where = (tenant, start, end, filters)
                for metric in METRICS:
                    for granularity in GRANULARITIES:
                        series = queries.timeseries(snapshot, *where, metric, granularity)
                        expected = oracle.timeseries(*where, metric, granularity)
                        assert list(series["period"]) == [p for p, _ in expected], (where, metric, granularity)
                        assert all(same(a, b) for a, (_, b) in zip(series["value"], expected)), \
                            (where, metric, granularity, list(series["value"]), expected)
                    for by in DIMS:
                        for limit in (1, 1000):
                            rows = queries.breakdown(snapshot, *where, metric, by, limit)
                            expected = oracle.breakdown(*where, metric, by, limit)
                            assert list(zip(rows.get("key", []), rows.get("label", []))) == \
                                [(k, label) for k, label, _ in expected], (where, metric, by, limit)
                            assert all(same(a, c) for a, (_, _, c) in zip(rows.get("value", []), expected)), \
                                (where, metric, by, limit)


def test_tricky005_the_api_answers_the_oracles_numbers(both, tmp_path):
    _, oracle, snapshot_dir, _ = both
    client = make_app(snapshot_dir, tmp_path / "cache", oracle.tenants()).server.test_client()
    for tenant in oracle.tenants():
        for start, end in ranges(oracle, tenant)[:2]:
            for filters in filter_sets(oracle, tenant)[::4]:
                query = {"from": start.isoformat(), "to": end.isoformat(), **filters}
                response = client.get(f"/api/v1/tenants/{tenant}/kpis", headers=bearer(ALL_KEY), query_string=query)
                assert response.status_code == 200, response.get_data(as_text=True)
                mine, theirs = response.get_json()["metrics"], oracle.kpis(tenant, start, end, filters)
                assert set(mine) == set(theirs) and all(same(mine[m], theirs[m]) for m in mine), (query, mine, theirs)
