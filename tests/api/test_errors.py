"""Every error status of api.md, as RFC 9457 problems naming what is wrong, and never a 500 for bad input."""
from __future__ import annotations

import datetime as dt
import time

import jwt
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from app import queries
from tests.support.credentials import ADMIN_KEY, ALL_KEY, EMBED_SECRET, bearer, embed, tenant_key
from tests.support.problems import invalid_names, problem

ALL = bearer(ALL_KEY)
LONG = "x" * 201

INVALID = [  # (route, query string, the parameters the 400 must name)
    ("kpis", "grup=Sales", ["grup"]),
    ("kpis", "metric=connections", ["metric"]),
    ("kpis", "compare=next", ["compare"]),
    ("kpis", "compare=previous&compare=previous", ["compare"]),
    ("kpis", "from=2026-1-01", ["from"]),
    ("kpis", "from=01/10/2026", ["from"]),
    ("kpis", "to=2026-02-30", ["to"]),
    ("kpis", "to=20261031", ["to"]),
    ("kpis", "to=2026-10-31%0A", ["to"]),
    ("kpis", "from=0001-01-01&to=0001-01-02", ["from", "to"]),
    ("kpis", "from=2026-10-31&to=2026-10-01", ["from", "to"]),
    ("kpis", "from=2026-11-05", ["from"]),
    ("kpis", "from=2023-10-31&to=2026-10-31", ["from", "to"]),
    ("kpis", "from=2026-10-01&from=2026-10-02", ["from"]),
    ("kpis", f"group={LONG}", ["group"]),
    ("kpis", "group=", ["group"]),
    ("kpis", "group=Sales&format=", ["format"]),
    ("kpis", "Group=Sales", ["Group"]),
    ("kpis", "tenant=other", ["tenant"]),
    ("timeseries", "granularity=day", ["metric"]),
    ("timeseries", "metric=visits&granularity=year", ["metric", "granularity"]),
    ("timeseries", "metric=connections&granularity=day&granularity=week", ["granularity"]),
    ("timeseries", "metric=connections&granularity=Day", ["granularity"]),
    ("breakdown", "metric=completions", ["by"]),
    ("breakdown", "metric=completions&by=user", ["by"]),
    ("breakdown", "metric=completions&by=group&limit=0", ["limit"]),
    ("breakdown", "metric=completions&by=group&limit=1001", ["limit"]),
    ("breakdown", "metric=completions&by=group&limit=-1", ["limit"]),
    ("breakdown", "metric=completions&by=group&limit=ten", ["limit"]),
    ("breakdown", "metric=completions&by=group&limit=1e2", ["limit"]),
    ("breakdown", "metric=completions&by=group&limit=5&limit=6", ["limit"]),
    ("heatmap", "metric=connections", ["metric"]),
    ("filters", "from=2026-10-01", ["from"]),
]


@pytest.mark.parametrize("route, query, names", INVALID)
def test_err001_invalid_parameters_are_named(client, tenants, route, query, names):
    response = client.get(f"/api/v1/tenants/{tenants[0]}/{route}?{query}", headers=ALL)
    assert sorted(set(invalid_names(response))) == sorted(names)
    assert response.headers["Cache-Control"] == "no-store"


def test_err002_one_answer_names_every_fault(client, tenants):
    response = client.get(f"/api/v1/tenants/{tenants[0]}/breakdown?metric=x&by=y&limit=0&from=z&grup=a",
                          headers=ALL)
    body = problem(response, 400)
    assert sorted(p["name"] for p in body["invalid_params"]) == ["by", "from", "grup", "limit", "metric"]
    assert all(p["reason"] for p in body["invalid_params"])


def test_err003_longest_range_is_accepted(client, tenants):
    end = dt.date(2026, 10, 31)
    start = end - dt.timedelta(days=1095)
    response = client.get(f"/api/v1/tenants/{tenants[0]}/kpis", headers=ALL,
                          query_string={"from": start.isoformat(), "to": end.isoformat()})
    assert response.status_code == 200
    too_long = client.get(f"/api/v1/tenants/{tenants[0]}/kpis", headers=ALL,
                          query_string={"from": (start - dt.timedelta(days=1)).isoformat(), "to": end.isoformat()})
    assert invalid_names(too_long) == ["from", "to"]


def test_err004_filter_value_of_200_characters_is_accepted(client, tenants):
    response = client.get(f"/api/v1/tenants/{tenants[0]}/kpis", headers=ALL, query_string={"group": "x" * 200})
    assert response.status_code == 200 and response.get_json()["metrics"]["active_learners"] == 0


def _expired_token(tenant):
    return jwt.encode({"tenant": tenant, "exp": int(time.time()) - 3600}, EMBED_SECRET, algorithm="HS256")


@pytest.mark.parametrize("case", ["none", "empty", "basic", "unknown-key", "bad-signature", "expired",
                                  "no-tenant-claim", "embed-signed-all-tenants"])
def test_err005_401_for_missing_or_bad_credentials(client, tenants, case):
    tenant = tenants[0]
    headers = {
        "none": {},
        "empty": {"Authorization": ""},
        "basic": {"Authorization": "Basic dXNlcjpwYXNz"},
        "unknown-key": bearer("no-such-key"),
        "bad-signature": bearer(jwt.encode({"tenant": tenant, "exp": int(time.time()) + 60}, "x" * 40,
                                           algorithm="HS256")),
        "expired": bearer(_expired_token(tenant)),
        "no-tenant-claim": bearer(jwt.encode({"exp": int(time.time()) + 60}, EMBED_SECRET, algorithm="HS256")),
        "embed-signed-all-tenants": bearer(jwt.encode({"tenant": "*", "exp": int(time.time()) + 60}, EMBED_SECRET,
                                                      algorithm="HS256")),
    }[case]
    for path in (f"/api/v1/tenants/{tenant}/kpis", "/api/v1/meta"):
        response = client.get(path, headers=headers)
        problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_err006_401_comes_before_parameter_checks(client, tenants):
    problem(client.get(f"/api/v1/tenants/{tenants[0]}/kpis?metric=nope"), 401)


def test_err007_403_for_another_tenant_existing_or_not(client, tenants):
    mine, other = tenants[0], tenants[1]
    for headers in (bearer(tenant_key(mine)), embed(mine)):
        for target in (other, "no-such-tenant"):
            for route in ("kpis", "timeseries?metric=x", "breakdown", "heatmap", "filters"):
                problem(client.get(f"/api/v1/tenants/{target}/{route}", headers=headers), 403)


def test_err008_404_for_all_tenant_credential_and_absent_tenant(client):
    for headers in (ALL, bearer(ADMIN_KEY)):
        body = problem(client.get("/api/v1/tenants/no-such-tenant/kpis", headers=headers), 404)
        assert "no-such-tenant" in body["detail"]


def test_err009_403_when_a_locked_filter_would_be_widened(client, snapshot, tenants):
    tenant = tenants[0]
    groups = [v["key"] for v in queries.filter_values(snapshot, tenant)["group"]]
    headers = embed(tenant, filters={"group": [groups[0]]})
    problem(client.get(f"/api/v1/tenants/{tenant}/kpis?group={groups[1]}", headers=headers), 403)
    problem(client.get(f"/api/v1/tenants/{tenant}/kpis?group={groups[0]}&group={groups[1]}", headers=headers), 403)


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/tenants/acme", "/api/v1/tenants/acme/kpis/extra",
                                  "/api/v2/meta", "/api/v1/meta/", "/api/v1//meta", "/api/"])
def test_err010_404_for_unknown_routes(client, path):
    for method in ("GET", "POST", "DELETE"):
        problem(client.open(path, method=method, headers=ALL), 404)


@pytest.mark.parametrize("method, path, allow", [
    ("POST", "/api/v1/meta", "GET"), ("DELETE", "/api/v1/tenants/acme/kpis", "GET"),
    ("PUT", "/api/v1/openapi.json", "GET"), ("GET", "/api/v1/refresh", "POST"),
    ("POST", "/api/v1/refresh/status", "GET")])
def test_err011_405_for_a_wrong_method_with_allow(client, method, path, allow):
    response = client.open(path, method=method, headers=ALL)
    problem(response, 405)
    assert allow in response.headers["Allow"] and "POST, GET" not in response.headers["Allow"]


def test_err012_503_before_any_snapshot(make_server, tmp_path, tenants):
    client = make_server(tmp_path / "empty").test_client()
    for path in (f"/api/v1/tenants/{tenants[0]}/kpis", "/api/v1/meta"):
        response = client.get(path, headers=ALL)
        problem(response, 503)
        assert "X-Dataviz-Snapshot" not in response.headers
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_err013_unexpected_exception_is_a_bare_500(client, tenants, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals at /srv/dataviz")
    monkeypatch.setattr(queries, "kpis", explode)
    response = client.get(f"/api/v1/tenants/{tenants[0]}/kpis?from=2024-01-07&to=2024-02-07", headers=ALL)  # a query no other test caches
    body = problem(response, 500)
    text = response.get_data(as_text=True)
    assert "secret" not in text and "RuntimeError" not in text and "/srv" not in text
    assert set(body) == {"type", "title", "status", "detail"}


def test_err014_query_errors_from_the_query_layer_are_400(client, tenants, monkeypatch):
    def refuse(*args, **kwargs):
        raise queries.QueryError("cannot answer that")
    monkeypatch.setattr(queries, "heatmap", refuse)
    problem(client.get(f"/api/v1/tenants/{tenants[0]}/heatmap?to=2021-01-09", headers=ALL), 400)


ROUTES = ["kpis", "timeseries", "breakdown", "heatmap", "filters"]
NAMES = st.sampled_from(["from", "to", "metric", "granularity", "by", "limit", "compare", "group", "training",
                         "format", "x", "", "from[]", "%00"])
VALUES = st.one_of(st.text(max_size=30), st.sampled_from(["2026-10-01", "2026-10-31", "week", "completions",
                                                          "training", "10", "previous", "9999-12-31"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(ROUTES), pairs=st.lists(st.tuples(NAMES, VALUES), max_size=5))
def test_err015_no_query_string_makes_a_5xx(client, tenants, route, pairs):
    response = client.get(f"/api/v1/tenants/{tenants[0]}/{route}", headers=ALL, query_string=pairs)
    assert response.status_code in (200, 400), response.get_data(as_text=True)
    if response.status_code == 400:
        problem(response, 400)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.one_of(
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80),
    st.builds("Bearer {}".format, st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=80)),
    st.builds("Bearer {}.{}.{}".format, *[st.text("abcXYZ019-_=", max_size=30)] * 3)))
def test_err016_no_authorization_header_makes_a_5xx(client, tenants, header):
    response = client.get(f"/api/v1/tenants/{tenants[0]}/kpis", headers={"Authorization": header})
    problem(response, 401)
