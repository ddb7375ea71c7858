"""Every route and parameter of api.md: shapes, defaults, and what each credential sees."""
from __future__ import annotations

import datetime as dt

import pytest

from app import queries
from tests.support.credentials import ALL_KEY, analyst, bearer, embed, tenant_key

ALL = bearer(ALL_KEY)
HEAD = ["tenant", "timezone", "from", "to", "filters", "snapshot", "data_as_of"]


def get(client, path, headers=ALL, **query):
    return client.get(path, headers=headers, query_string=query)


def test_api001_kpis_default_range_is_30_days_to_data_as_of(client, snapshot, tenants):
    tenant = tenants[0]
    response = get(client, f"/api/v1/tenants/{tenant}/kpis")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert list(body) == [*HEAD, "metrics"]
    start, end = queries.default_range(snapshot)
    assert (body["from"], body["to"]) == (start.isoformat(), end.isoformat())
    assert (end - start).days == 29
    assert body["tenant"] == tenant and body["filters"] == {}
    assert body["snapshot"] == snapshot.version and body["data_as_of"] == snapshot.manifest["data_as_of"]
    assert body["metrics"] == queries.kpis(snapshot, tenant, start, end, {})
    assert list(body["metrics"]) == list(queries.METRICS)


def test_api002_kpis_compare_previous(client, snapshot, tenants):
    tenant = tenants[1]
    body = get(client, f"/api/v1/tenants/{tenant}/kpis", compare="previous",
               **{"from": "2026-10-01", "to": "2026-10-31"}).get_json()
    assert list(body) == [*HEAD, "metrics", "previous"]
    assert body["previous"]["from"] == "2026-08-31" and body["previous"]["to"] == "2026-09-30"
    start, end = queries.previous_range(dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    assert body["previous"]["metrics"] == queries.kpis(snapshot, tenant, start, end, {})


def test_api003_one_bound_given_the_other_defaults(client, snapshot, tenants):
    path = f"/api/v1/tenants/{tenants[0]}/kpis"
    only_from = get(client, path, **{"from": "2026-09-01"}).get_json()
    assert (only_from["from"], only_from["to"]) == ("2026-09-01", snapshot.manifest["data_as_of"])
    only_to = get(client, path, to="2026-06-30").get_json()
    assert (only_to["from"], only_to["to"]) == ("2026-06-01", "2026-06-30")


@pytest.mark.parametrize("granularity, periods", [("day", 31), ("week", 5), ("month", 1)])
def test_api004_timeseries_each_granularity(client, snapshot, tenants, granularity, periods):
    tenant = tenants[2]
    body = get(client, f"/api/v1/tenants/{tenant}/timeseries", metric="active_learners", granularity=granularity,
               **{"from": "2026-10-01", "to": "2026-10-31"}).get_json()
    assert list(body) == ["tenant", "timezone", "metric", "granularity", *HEAD[2:], "points"]
    assert (body["metric"], body["granularity"]) == ("active_learners", granularity)
    assert len(body["points"]) == periods
    frame = queries.timeseries(snapshot, tenant, dt.date(2026, 10, 1), dt.date(2026, 10, 31), {},
                               "active_learners", granularity)
    assert body["points"] == [{"period": p.isoformat(), "value": v} for p, v in zip(frame["period"], frame["value"])]


def test_api005_timeseries_week_labels_are_mondays(client, tenants):
    body = get(client, f"/api/v1/tenants/{tenants[0]}/timeseries", metric="completion_rate", granularity="week",
               **{"from": "2026-10-01", "to": "2026-10-31"}).get_json()
    assert body["points"][0]["period"] == "2026-09-28"
    assert all(dt.date.fromisoformat(p["period"]).weekday() == 0 for p in body["points"])


@pytest.mark.parametrize("by", queries.DIMENSIONS)
def test_api006_breakdown_by_each_dimension(client, snapshot, tenants, by):
    tenant = tenants[3]
    body = get(client, f"/api/v1/tenants/{tenant}/breakdown", metric="completions", by=by).get_json()
    assert list(body) == ["tenant", "timezone", "metric", "by", "limit", *HEAD[2:], "rows"]
    assert body["limit"] == queries.DEFAULT_LIMIT and len(body["rows"]) <= queries.DEFAULT_LIMIT
    start, end = queries.default_range(snapshot)
    frame = queries.breakdown(snapshot, tenant, start, end, {}, "completions", by)
    assert body["rows"] == frame.to_dict("records")


def test_api007_breakdown_limit(client, tenants):
    path = f"/api/v1/tenants/{tenants[0]}/breakdown"
    one = get(client, path, metric="learning_hours", by="training", limit="1").get_json()
    assert len(one["rows"]) == 1 and one["limit"] == 1
    many = get(client, path, metric="learning_hours", by="training", limit="1000").get_json()
    assert 1 < len(many["rows"]) <= 1000
    assert many["rows"][0] == one["rows"][0]
    assert set(many["rows"][0]) == {"key", "label", "value"}


def test_api008_heatmap_168_cells_monday_first(client, snapshot, tenants):
    tenant = tenants[0]
    body = get(client, f"/api/v1/tenants/{tenant}/heatmap").get_json()
    assert list(body) == [*HEAD, "cells"]
    assert [(c["weekday"], c["hour"]) for c in body["cells"]] == [(w, h) for w in range(7) for h in range(24)]
    start, end = queries.default_range(snapshot)
    assert [c["value"] for c in body["cells"]] == list(queries.heatmap(snapshot, tenant, start, end, {})["value"])


def test_api009_training_side_filter_nulls_connections(client, snapshot, tenants):
    tenant = tenants[0]
    training = queries.filter_values(snapshot, tenant)["training"][0]["key"]
    kpis = get(client, f"/api/v1/tenants/{tenant}/kpis", training=training).get_json()
    assert kpis["metrics"]["connections"] is None and kpis["filters"] == {"training": [training]}
    heat = get(client, f"/api/v1/tenants/{tenant}/heatmap", training=training).get_json()
    assert {c["value"] for c in heat["cells"]} == {None}


def test_api010_repeated_filters_are_or_and_echoed_sorted(client, snapshot, tenants):
    tenant = tenants[0]
    groups = [v["key"] for v in queries.filter_values(snapshot, tenant)["group"]][:2]
    body = client.get(f"/api/v1/tenants/{tenant}/kpis?group={groups[1]}&group={groups[0]}&group={groups[1]}",
                      headers=ALL).get_json()
    assert body["filters"] == {"group": sorted(groups)}
    start, end = queries.default_range(snapshot)
    assert body["metrics"] == queries.kpis(snapshot, tenant, start, end, {"group": groups})


def test_api011_every_filter_dimension_is_accepted(client, snapshot, tenants):
    tenant = tenants[0]
    values = queries.filter_values(snapshot, tenant)
    query = {dim: values[dim][0]["key"] for dim in queries.DIMENSIONS}
    body = get(client, f"/api/v1/tenants/{tenant}/kpis", **query).get_json()
    assert body["filters"] == {dim: [v] for dim, v in query.items()}


def test_api012_filters_route(client, snapshot, tenants):
    tenant = tenants[4]
    body = get(client, f"/api/v1/tenants/{tenant}/filters").get_json()
    assert list(body) == ["tenant", "timezone", "snapshot", "data_as_of", "filters"]
    assert body["filters"] == queries.filter_values(snapshot, tenant)
    assert list(body["filters"]) == list(queries.DIMENSIONS)


def test_api013_locked_filter_is_applied_and_shown(client, snapshot, tenants):
    tenant = tenants[0]
    group = queries.filter_values(snapshot, tenant)["group"][0]["key"]
    headers = embed(tenant, filters={"group": [group]})
    kpis = get(client, f"/api/v1/tenants/{tenant}/kpis", headers=headers).get_json()
    assert kpis["filters"] == {"group": [group]}
    start, end = queries.default_range(snapshot)
    assert kpis["metrics"] == queries.kpis(snapshot, tenant, start, end, {"group": [group]})
    offered = get(client, f"/api/v1/tenants/{tenant}/filters", headers=headers).get_json()["filters"]
    assert offered["group"] == [{"key": group, "label": group}]
    assert offered["training"] == queries.filter_values(snapshot, tenant)["training"]


def test_api014_meta(client, snapshot):
    response = get(client, "/api/v1/meta")
    assert response.status_code == 200
    assert response.get_json() == snapshot.meta()
    assert get(client, "/api/v1/meta", headers={}).status_code == 401


def test_api015_openapi_is_public(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.get_json()["openapi"].startswith("3.1")


@pytest.mark.parametrize("credential", ["tenant_key", "embed", "analyst", "all"])
def test_api016_each_credential_kind_reads_its_tenant(client, tenants, credential):
    tenant = tenants[5]
    headers = {"tenant_key": bearer(tenant_key(tenant)), "embed": embed(tenant), "analyst": analyst(),
               "all": ALL}[credential]
    for route in ("kpis", "heatmap", "filters"):
        response = get(client, f"/api/v1/tenants/{tenant}/{route}", headers=headers)
        assert response.status_code == 200 and response.get_json()["tenant"] == tenant


def test_api017_snapshot_header_on_every_api_response(client, snapshot, tenants):
    for path, headers in [(f"/api/v1/tenants/{tenants[0]}/kpis", ALL), ("/api/v1/meta", {}),
                          ("/api/v1/nope", ALL), ("/api/v1/openapi.json", {}),
                          (f"/api/v1/tenants/{tenants[0]}/kpis?metric=x", ALL)]:
        response = client.get(path, headers=headers)
        assert response.headers["X-Dataviz-Snapshot"] == snapshot.version, path
        assert "Authorization" in response.headers["Vary"], path


def test_api018_dash_pages_keep_their_own_errors(client):
    assert client.get("/no-such-page").mimetype == "text/html"  # Dash's page router answers
    wrong_method = client.post("/healthz")
    assert wrong_method.status_code == 405 and wrong_method.mimetype != "application/problem+json"


def test_api019_head_answers_like_get(client, tenants):
    response = client.head(f"/api/v1/tenants/{tenants[0]}/kpis", headers=ALL)
    assert response.status_code == 200 and response.headers["ETag"]
