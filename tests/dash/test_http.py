"""The dashboards over HTTP (Flask test client): page guard, headers, /demo, and raw callback POSTs."""
from __future__ import annotations

import json

import pytest

from app import queries
from app.auth import verify_token
from app.config import Settings
from layouts import i18n, ids
from tests.support.apps import make_app
from tests.support.credentials import (ANALYST_SECRET, OTHER_SECRET, OTHER_TENANT, TENANT, analyst_token, embed_token,
                                       expired_token)
from tests.support import dash_requests
from tests.support.dash_requests import compact, post_callback, prop_id

URL_SEARCH = {"id": ids.URL, "property": "search"}


def test_http001_pages_without_a_valid_token_are_401_without_data(client):
    for url in ("/embed/overview", "/embed/overview?token=", "/explore?token=abc",
                f"/embed/overview?token={embed_token(secret=OTHER_SECRET)}", f"/explore?token={expired_token()}",
                f"/embed/anything?token={embed_token(secret=OTHER_SECRET)}"):
        response = client.get(url)
        assert response.status_code == 401, url
        body = response.get_data(as_text=True)
        assert "cannot be shown" in body and "Traceback" not in body and "_dash-config" not in body
        assert response.headers["Cache-Control"] == "no-store"
    assert "expired" in client.get(f"/embed/overview?token={expired_token()}").get_data(as_text=True)


def test_http002_valid_token_serves_the_page_with_embedding_headers(generated_snapshot_dir, tmp_path):
    app = make_app(generated_snapshot_dir, tmp_path / "cache", frame_ancestors="https://lms.example.com")
    client = app.server.test_client()
    for url in (f"/embed/overview?token={embed_token()}", f"/explore?token={analyst_token()}", "/", "/healthz"):
        response = client.get(url)
        assert response.status_code == 200, url
        policy = response.headers["Content-Security-Policy"]
        assert policy.startswith("default-src 'self'; script-src 'self' 'sha256-")
        assert policy.endswith("; frame-ancestors https://lms.example.com")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert "Set-Cookie" not in response.headers
        assert "X-Frame-Options" not in response.headers


def test_http003_demo_only_in_demo_mode_with_a_generated_secret(generated_snapshot_dir, tmp_path, client, caplog):
    assert "Demo LMS" not in client.get("/demo").get_data(as_text=True)  # just the Dash shell: "no such page"
    app = make_app(generated_snapshot_dir, tmp_path / "cache", demo=True, embed_secret=None)
    secret = (tmp_path / "demo-embed-secret").read_text()
    assert "generated demo embed secret" in caplog.text
    again = make_app(generated_snapshot_dir, tmp_path / "cache", demo=True, embed_secret=None)  # another worker
    assert again.server.config["DATAVIZ_SETTINGS"].embed_secret == secret
    page = app.server.test_client().get(f"/demo?tenant={OTHER_TENANT}&group=Sales&locale=fr&theme=dark")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    token = html.split('src="/embed/overview?token=')[1].split('"')[0]
    scope = verify_token(token, Settings(embed_secret=secret))
    assert scope.tenants == {OTHER_TENANT} and scope.filters == {"group": ("Sales",)}
    assert (scope.locale, scope.theme) == ("fr", "dark")
    assert "/api/v1/tenants/" in html  # the widget draws from the JSON API with the same token


def overview_call(client, dash_app, token, search):
    outputs = [[{"id": ids.kpi_value_id(m), "property": "children"} for m in queries.METRICS],
               [{"id": ids.kpi_change_id(m), "property": "children"} for m in queries.METRICS],
               *[{"id": g, "property": "figure"} for g in ids.OVERVIEW_GRAPHS],
               *[{"id": ids.table_id(g), "property": "children"} for g in ids.OVERVIEW_GRAPHS],
               {"id": ids.OVERVIEW_STATUS, "property": "children"},
               {"id": ids.OVERVIEW_ZONE, "property": "children"},
               {"id": ids.OVERVIEW_COMPLIANCE, "property": "hidden"}]
    inputs = [{**URL_SEARCH, "value": search}, {"id": ids.token_id("overview"), "property": "data", "value": token}]
    return post_callback(client, dash_app, "graph-activity.figure", outputs, inputs)


def kpi_texts(body) -> dict[str, str]:
    return {m: body["response"][compact(ids.kpi_value_id(m))]["children"] for m in queries.METRICS}


def test_http004_callback_post_with_a_forged_token_returns_no_data(client, dash_app):
    for token in (embed_token(secret=OTHER_SECRET), expired_token(), None, {"tenant": TENANT}):
        status, body = overview_call(client, dash_app, token, f"?token=x&tenant={TENANT}")
        assert status == 200
        assert set(kpi_texts(body).values()) == {"—"}
        for graph in ids.OVERVIEW_GRAPHS:
            assert body["response"][graph]["figure"]["data"] == []


def test_http004b_kpi_lists_of_different_lengths_are_answered_not_a_500(client, dash_app):
    """The two KPI wildcards come from the client and need not match (found by test_hostile_req012)."""
    outputs = [[], [{"id": ids.kpi_change_id(""), "property": "children"}],
               *[{"id": g, "property": "figure"} for g in ids.OVERVIEW_GRAPHS],
               *[{"id": ids.table_id(g), "property": "children"} for g in ids.OVERVIEW_GRAPHS],
               {"id": ids.OVERVIEW_STATUS, "property": "children"},
               {"id": ids.OVERVIEW_ZONE, "property": "children"},
               {"id": ids.OVERVIEW_COMPLIANCE, "property": "hidden"}]
    inputs = [{**URL_SEARCH, "value": ""}, {"id": ids.token_id("overview"), "property": "data", "value": embed_token()}]
    status, body = post_callback(client, dash_app, "graph-activity.figure", outputs, inputs)
    assert status == 200 and body["response"][compact(ids.kpi_change_id(""))]["children"] == ""


def test_http005_callback_post_cannot_reach_another_tenant(client, dash_app, snapshot):
    start, end = queries.default_range(snapshot)
    mine = queries.kpis(snapshot, TENANT, start, end, {})
    theirs = queries.kpis(snapshot, OTHER_TENANT, start, end, {})
    status, body = overview_call(client, dash_app, embed_token(), f"?tenant={OTHER_TENANT}")
    assert status == 200
    assert kpi_texts(body) == {m: i18n.metric_value(m, mine[m], "en") for m in queries.METRICS}
    assert i18n.metric_value("connections", theirs["connections"], "en") not in json.dumps(body)

    # Explore's table, asked for the other tenant through the URL: still the token's tenant.
    grid = ids.deferred_content_id(ids.GRID_EXPLORE_BOX)
    outputs = [{"id": ids.GRAPH_EXPLORE, "property": "figure"}, {"id": grid, "property": "data"},
               {"id": ids.EXPLORE_STATUS, "property": "children"},
               {"id": ids.EXPLORE_TITLE, "property": "children"},
               {"id": ids.EXPLORE_ZONE, "property": "children"}]
    inputs = [{**URL_SEARCH, "value": f"?tenant={OTHER_TENANT}&by=group"},
              {"id": ids.token_id("explore"), "property": "data", "value": embed_token()}]
    status, body = post_callback(client, dash_app, f"{grid}.data", outputs, inputs)
    rows = queries.breakdown(snapshot, TENANT, start, end, {}, "completions", "group", 1000)
    assert [r["value"] for r in body["response"][grid]["data"]["props"]["rowData"]] == list(rows["value"])


def sync_call(client, dash_app, token, tenant_pick, search="", group=()):
    """The explore page's URL-and-controls callback, as when the analyst's tenant picker changed."""
    return dash_requests.sync_call(client, dash_app, token, tenant=tenant_pick, search=search, group=group,
                                   preset="30d", choices=(("metric", "completions"), ("by", "training"),
                                                          ("chart", "bar"), ("gran", "auto")),
                                   changed=[prop_id(ids.tenant_id("explore"), "value")])


def test_http006_sync_post_checks_the_tenant_pick_against_the_scope(client, dash_app, snapshot):
    status, body = sync_call(client, dash_app, embed_token(), OTHER_TENANT, search="?token=t")
    assert status == 200
    tenant_key = compact(ids.tenant_id("explore"))
    assert body["response"][tenant_key]["value"] == TENANT
    options = body["response"][compact(ids.filter_id("explore", "training"))]["options"]
    assert [o["value"] for o in options] == [o["key"] for o in queries.filter_values(snapshot, TENANT)["training"]]
    assert "tenant=" not in body["response"]["location-url"]["search"]

    status, body = sync_call(client, dash_app, analyst_token(), OTHER_TENANT, search=f"?token=t&tenant={TENANT}")
    assert body["response"][tenant_key]["value"] == OTHER_TENANT
    assert f"tenant={OTHER_TENANT}" in body["response"]["location-url"]["search"]

    status, body = sync_call(client, dash_app, embed_token(secret=OTHER_SECRET), OTHER_TENANT)
    assert status == 204  # nothing updated, nothing leaked


def test_http007_sync_post_keeps_locked_filters(client, dash_app):
    token = embed_token(filters={"group": ["Sales"]})
    status, body = sync_call(client, dash_app, token, TENANT, search="?token=t", group=["HR"])
    group_key = compact(ids.filter_id("explore", "group"))
    assert status == 200 and body["response"][group_key]["value"] == ["Sales"]
    assert "group=" not in body["response"]["location-url"]["search"]


@pytest.mark.parametrize("path", ["/embed/overview", "/explore"])
def test_http008_token_is_only_read_from_the_url_not_cookies(client, path):
    client.set_cookie("token", embed_token())
    assert client.get(path).status_code == 401


def test_http009_urls_prints_an_explore_link_or_how_to_get_one():
    from app.urls import explore_line

    assert "mint_token('<analyst secret>', '*')" in explore_line("http://h")
    line = explore_line("http://h", {"DATAVIZ_ANALYST_SECRET": ANALYST_SECRET})
    token = line.split("token=")[1].split()[0]
    assert verify_token(token, Settings(analyst_secret=ANALYST_SECRET)).all_tenants
