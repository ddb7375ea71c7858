"""Every number the API answers equals the independent DuckDB oracle's for the same query."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.support.credentials import ALL_KEY, bearer
from tests.support.oracle import daylight_saving_changes, same_value as same

ALL = bearer(ALL_KEY)


def same_metrics(mine: dict, theirs: dict) -> bool:
    return set(mine) == set(theirs) and all(same(mine[m], theirs[m]) for m in mine)


def get(client, tenant, route, **query):
    response = client.get(f"/api/v1/tenants/{tenant}/{route}", headers=ALL, query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def filters_of(body) -> dict:
    return {dim: values for dim, values in body["filters"].items()}


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def some_filters(oracle, tenant) -> list[dict]:
    values = oracle.filter_values(tenant)
    first = {dim: [key for key, _ in pairs[:2]] for dim, pairs in values.items() if pairs}
    return [{}, {"group": first["group"]}, {"country": first["country"][:1], "format": first["format"][:1]},
            {"training": first["training"], "group": first["group"][:1]}, {"category": first["category"]}]


def test_orc001_kpis_with_previous_period(client, oracle):
    tenants = oracle.tenants()
    for i, tenant in enumerate(tenants[:4]):
        for filters in some_filters(oracle, tenant):
            query = {"compare": "previous", **filters}
            if i % 2:
                query.update({"from": "2026-04-01", "to": "2026-06-30"})
            body = get(client, tenant, "kpis", **query)
            assert filters_of(body) == {d: sorted(v) for d, v in filters.items()}
            theirs = oracle.kpis(tenant, day(body["from"]), day(body["to"]), filters)
            assert same_metrics(body["metrics"], theirs), (tenant, filters, body["metrics"], theirs)
            previous = body["previous"]
            theirs = oracle.kpis(tenant, day(previous["from"]), day(previous["to"]), filters)
            assert same_metrics(previous["metrics"], theirs), (tenant, filters, previous, theirs)


def test_orc002_kpis_whole_history(client, oracle):
    for tenant in oracle.tenants():
        start, end = oracle.data_range(tenant)
        if (end - start).days >= 1096:
            start = end - dt.timedelta(days=1095)
        body = get(client, tenant, "kpis", **{"from": start.isoformat(), "to": end.isoformat()})
        assert same_metrics(body["metrics"], oracle.kpis(tenant, start, end, {})), tenant


@pytest.mark.parametrize("metric, granularity, span", [
    ("active_learners", "week", ("2026-08-01", "2026-10-31")), ("completion_rate", "month", ("2025-11-15", "2026-10-31")),
    ("connections", "day", None), ("avg_score", "week", ("2026-01-01", "2026-03-31")),
    ("learning_hours", "month", ("2026-01-01", "2026-10-31")), ("enrolments", "day", ("2026-10-01", "2026-10-14")),
    ("overdue", "week", ("2026-08-01", "2026-11-30")), ("on_time_rate", "month", ("2025-11-01", "2026-12-31")),
    ("due_soon", "day", ("2026-10-25", "2026-11-20")), ("at_risk_learners", "week", ("2026-10-01", "2026-12-31"))])
def test_orc003_timeseries(client, oracle, metric, granularity, span):
    for tenant in oracle.tenants()[2:6]:
        for filters in some_filters(oracle, tenant)[:3]:
            query = {"metric": metric, "granularity": granularity, **filters}
            if span:
                query.update({"from": span[0], "to": span[1]})
            body = get(client, tenant, "timeseries", **query)
            theirs = oracle.timeseries(tenant, day(body["from"]), day(body["to"]), filters, metric, granularity)
            assert [p["period"] for p in body["points"]] == [p.isoformat() for p, _ in theirs]
            assert all(same(p["value"], v) for p, (_, v) in zip(body["points"], theirs)), (tenant, metric, filters)


@pytest.mark.parametrize("metric, by, limit", [
    ("completions", "training", 5), ("active_learners", "group", 10), ("connections", "country", 1000),
    ("completion_rate", "category", 3), ("learning_hours", "format", 10), ("avg_score", "training", 1000),
    ("overdue", "group", 10), ("on_time_rate", "training", 1000), ("due_soon", "category", 5),
    ("at_risk_learners", "country", 1000), ("completed_late", "format", 3)])
def test_orc004_breakdown(client, oracle, metric, by, limit):
    for tenant in oracle.tenants()[3:7]:
        for filters in some_filters(oracle, tenant)[:3]:
            body = get(client, tenant, "breakdown", metric=metric, by=by, limit=str(limit),
                       **{"from": "2026-07-01", "to": "2026-10-31", **filters})
            theirs = oracle.breakdown(tenant, day(body["from"]), day(body["to"]), filters, metric, by, limit)
            assert [(r["key"], r["label"]) for r in body["rows"]] == [(k, label) for k, label, _ in theirs]
            assert all(same(r["value"], v) for r, (_, _, v) in zip(body["rows"], theirs)), (tenant, by, filters)


def test_orc005_heatmap(client, oracle):
    for tenant in oracle.tenants()[6:9]:
        for filters in some_filters(oracle, tenant):
            body = get(client, tenant, "heatmap", **{"from": "2026-01-01", "to": "2026-10-31", **filters})
            theirs = oracle.heatmap(tenant, day(body["from"]), day(body["to"]), filters)
            assert [(c["weekday"], c["hour"], c["value"]) for c in body["cells"]] == theirs, (tenant, filters)


def test_orc006_filter_values(client, oracle):
    for tenant in oracle.tenants():
        body = get(client, tenant, "filters")
        mine = {dim: [(v["key"], v["label"]) for v in values] for dim, values in body["filters"].items()}
        assert mine == oracle.filter_values(tenant), tenant


def test_orc007_tenants_match(client, oracle):
    meta = client.get("/api/v1/meta", headers=ALL).get_json()
    assert meta["tenants"] == len(oracle.tenants())


def test_orc008_every_tenant_answer_carries_its_time_zone(client, oracle):
    zones = set()
    for tenant in oracle.tenants():
        for route, query in (("kpis", {}), ("timeseries", {"metric": "connections", "granularity": "week"}),
                             ("breakdown", {"metric": "connections", "by": "group"}), ("heatmap", {}), ("filters", {})):
            assert get(client, tenant, route, **query)["timezone"] == oracle.timezone(tenant), (tenant, route)
        zones.add(oracle.timezone(tenant))
    assert len(zones) >= 5, zones


def test_orc009_ranges_across_daylight_saving_changes(client, oracle):
    """Each tenant whose zone changes its offset within its data: a week around the last change, with the
    previous period, days, and the heatmap's local hours."""
    compared = 0
    for tenant in oracle.tenants():
        start, end = oracle.data_range(tenant)
        changes = daylight_saving_changes(oracle.timezone(tenant), start, end)
        if not changes:
            continue
        span = {"from": (changes[-1] - dt.timedelta(days=3)).isoformat(),
                "to": (changes[-1] + dt.timedelta(days=3)).isoformat()}
        body = get(client, tenant, "kpis", compare="previous", **span)
        assert same_metrics(body["metrics"], oracle.kpis(tenant, day(body["from"]), day(body["to"]), {}))
        previous = body["previous"]
        assert same_metrics(previous["metrics"], oracle.kpis(tenant, day(previous["from"]), day(previous["to"]), {}))
        body = get(client, tenant, "timeseries", metric="active_learners", granularity="day", **span)
        theirs = oracle.timeseries(tenant, day(body["from"]), day(body["to"]), {}, "active_learners", "day")
        assert [(p["period"], p["value"]) for p in body["points"]] == [(p.isoformat(), v) for p, v in theirs]
        body = get(client, tenant, "heatmap", **span)
        theirs = oracle.heatmap(tenant, day(body["from"]), day(body["to"]), {})
        assert [(c["weekday"], c["hour"], c["value"]) for c in body["cells"]] == theirs, tenant
        compared += 1
    assert compared >= 4


@pytest.mark.parametrize("cohort, sort, order, limit", [
    (None, None, None, "40"), ("completed", "avg_score", "asc", "7"), ("not_completed", "name", "desc", "25"),
    ("enrolled", "learning_hours", "desc", "1000"), ("connected", "group", "asc", "30")])
def test_orc010_learner_pages_walked_equal_the_whole_list(client, oracle, cohort, sort, order, limit):
    for tenant in oracle.tenants()[1:4]:
        for filters in some_filters(oracle, tenant)[:4]:
            query = {"from": "2026-08-01", "to": "2026-10-31", "limit": limit, **filters,
                     **{k: v for k, v in (("cohort", cohort), ("sort", sort), ("order", order)) if v}}
            rows, cursor, totals = [], None, set()
            while True:
                body = get(client, tenant, "learners", **query, **({"cursor": cursor} if cursor else {}))
                rows += body["learners"]
                totals.add(body["total"])
                cursor = body["next_cursor"]
                if cursor is None:
                    break
            theirs = oracle.learners(tenant, day(body["from"]), day(body["to"]), filters, cohort or "active",
                                     sort or "last_activity", order or "desc")
            assert totals == {len(theirs)}
            assert [r["user_id"] for r in rows] == [r["user_id"] for r in theirs], (tenant, filters)
            for mine, row in zip(rows, theirs):
                expected = {**row, "last_activity": row["last_activity"] and row["last_activity"].isoformat()}
                assert all(same(mine[k], expected[k]) for k in expected), (mine, expected)


def test_orc011_one_learner(client, oracle):
    for tenant in oracle.tenants()[:5]:
        body = get(client, tenant, "learners", limit="5", **{"from": "2026-10-01", "to": "2026-10-31"})
        for filters in some_filters(oracle, tenant)[:3]:
            for row in body["learners"]:
                theirs = oracle.learner_trainings(tenant, row["user_id"], filters)
                response = client.get(f"/api/v1/tenants/{tenant}/learners/{row['user_id']}", headers=ALL,
                                      query_string=filters)
                if theirs is None:
                    assert response.status_code == 404
                    continue
                mine = response.get_json()
                assert mine["learner"]["user_id"] == row["user_id"] and mine["learner"]["name"] == row["name"]
                dates = ("enrolled_on", "started_on", "completed_on", "assigned_on", "due_on")
                expected = [{**t, **{d: t[d] and t[d].isoformat() for d in dates}} for t in theirs]
                assert [t["training_id"] for t in mine["trainings"]] == [t["training_id"] for t in expected]
                assert all(same(a[k], b[k]) for a, b in zip(mine["trainings"], expected) for k in b)
