"""The page arrives with its numbers (issue 12): Dash's first layout already holds the KPIs and the figures.

The renderer asks ``/_dash-layout`` from the page, whose URL (token included) is
the request's ``Referer``. Over the Flask test client: the layout's KPI values
equal the JSON API's for the same view; the tenant is the verified token's only
(a ``?tenant=`` or a forged token in the Referer gets nothing more); the answers
are cached under keys scoped by tenant and scope; the data callbacks do not run
on load; a browser that sends no Referer still gets the page, from the route callback.
"""
from __future__ import annotations

import json

import pytest

from app import answers
from app.extensions import get_cache
from app.view_state import parse
from callbacks.access import authorize
from layouts import i18n, ids
from tests.support.apps import make_app
from tests.support.credentials import (ALL_KEY, OTHER_SECRET, OTHER_TENANT, TENANT, analyst_token, bearer,
                                       embed_token)
from tests.support.dash_requests import post_callback

METRICS = ("active_learners", "completions", "completion_rate")


@pytest.fixture
def app_with_api(generated_snapshot_dir, tmp_path):
    return make_app(generated_snapshot_dir, tmp_path / "cache", snapshot_check_interval=60.0)


def first_layout(client, page_url: str | None) -> dict:
    headers = {"Referer": f"http://localhost{page_url}"} if page_url else {}
    response = client.get("/_dash-layout", headers=headers)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"  # it holds one token's data
    return response.get_json()


def components(node):
    """Every component of a layout as the renderer receives it (JSON)."""
    if isinstance(node, list):
        for child in node:
            yield from components(child)
    elif isinstance(node, dict) and "props" in node:
        yield node
        yield from components(node["props"].get("children"))


def by_id(layout: dict) -> dict:
    return {json.dumps(c["props"]["id"], sort_keys=True): c["props"] for c in components(layout)
            if "id" in c["props"]}


def prop(layout: dict, component_id, name: str):
    return by_id(layout)[json.dumps(component_id, sort_keys=True)].get(name)


def api_kpis(client, tenant: str, layout: dict, **filters) -> dict:
    dates = prop(layout, ids.range_dates_id(ids.OVERVIEW), "start_date"), \
        prop(layout, ids.range_dates_id(ids.OVERVIEW), "end_date")
    response = client.get(f"/api/v1/tenants/{tenant}/kpis", headers=bearer(ALL_KEY),
                          query_string={"from": dates[0], "to": dates[1], **filters})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["metrics"]


def shown_kpis(layout: dict) -> dict:
    return {m: prop(layout, ids.kpi_value_id(m), "children") for m in METRICS}


def expected(api: dict, locale: str = "en") -> dict:
    return {m: i18n.metric_value(m, api[m], locale) for m in METRICS}


def test_fp001_first_layout_holds_the_apis_kpis_and_every_figure(app_with_api):
    client = app_with_api.server.test_client()
    for locale in ("en", "fr"):
        layout = first_layout(client, f"/embed/overview?token={embed_token(locale=locale)}")
        assert shown_kpis(layout) == expected(api_kpis(client, TENANT, layout), locale)
        assert prop(layout, ids.RENDERED, "data") == "/embed/overview"
        for graph in ids.OVERVIEW_GRAPHS:
            # drawn from the first response: at once, or from its store once the page is drawn
            stored = by_id(layout).get(json.dumps(ids.deferred_content_id(graph), sort_keys=True))
            figure = stored["data"]["figure"] if stored else prop(layout, graph, "figure")
            table = stored["data"]["table"] if stored else prop(layout, ids.table_id(graph), "children")
            assert figure["data"], graph
            assert table, graph  # and its screen-reader table


def test_fp002_the_url_state_and_locked_filters_shape_the_first_layout(app_with_api):
    client = app_with_api.server.test_client()
    layout = first_layout(client, f"/embed/overview?token={embed_token()}&range=7d&group=HR")
    assert shown_kpis(layout) == expected(api_kpis(client, TENANT, layout, group="HR"))
    locked = embed_token(filters={"group": ["Sales"]})
    layout = first_layout(client, f"/embed/overview?token={locked}&group=HR")  # the lock wins
    assert shown_kpis(layout) == expected(api_kpis(client, TENANT, layout, group="Sales"))


def test_fp003_the_tenant_is_the_verified_tokens_only(app_with_api):
    client = app_with_api.server.test_client()
    own = first_layout(client, f"/embed/overview?token={embed_token()}")
    asked = first_layout(client, f"/embed/overview?token={embed_token()}&tenant={OTHER_TENANT}")
    other = first_layout(client, f"/embed/overview?token={embed_token(OTHER_TENANT)}")
    assert shown_kpis(asked) == shown_kpis(own) == expected(api_kpis(client, TENANT, own))
    assert shown_kpis(other) == expected(api_kpis(client, OTHER_TENANT, other)) != shown_kpis(own)
    forged_token = embed_token(OTHER_TENANT, secret=OTHER_SECRET)
    forged = json.dumps(first_layout(client, f"/embed/overview?token={forged_token}"))
    assert "could not be verified" in forged and "kpi" not in forged and "figure" not in forged


def test_fp004_answers_are_cached_under_keys_scoped_by_tenant_and_scope(app_with_api):
    client = app_with_api.server.test_client()
    tokens = [embed_token(), embed_token(filters={"group": ["Sales"]}), embed_token(OTHER_TENANT)]
    for token in tokens[:2]:
        first_layout(client, f"/embed/overview?token={token}")
    cache = get_cache(app_with_api.server)
    with app_with_api.server.test_request_context("/_dash-layout"):
        keys = [answers.key(authorize(token).for_state(parse("")), "kpis") for token in tokens]
        assert len(set(keys)) == 3  # the tenant and the scope (its locked filters) are in the key
        assert cache.get(keys[0]) is not None and cache.get(keys[1]) is not None
        assert cache.get(keys[2]) is None  # the other tenant's answer was never computed, nor shared


def test_fp005_the_data_callbacks_do_not_run_on_load(app_with_api):
    initial = {str(cb["output"]): cb.get("prevent_initial_call") for cb in app_with_api._callback_list}
    names = (ids.GRAPH_ACTIVITY, ids.GRID_EXPLORE, ids.table_id(ids.GRAPH_ACTIVITY)["type"], f"{ids.PAGE}.")
    data = [key for key in initial if any(name in key for name in names)]
    # the route, the 2 data callbacks, explore's table callback (the overview's tables come with its data) and
    # the copy of each new answer into explore's grid once it is mounted (in the browser)
    assert len(data) == 5 and all(initial[key] for key in data), initial


def test_fp006_explore_opens_with_its_chart_and_rows(app_with_api):
    client = app_with_api.server.test_client()
    layout = first_layout(client, f"/explore?token={analyst_token()}")
    assert prop(layout, ids.GRAPH_EXPLORE, "figure")["data"]
    grid = prop(layout, ids.deferred_content_id(ids.GRID_EXPLORE_BOX), "data")  # mounted after the chart
    assert grid["props"]["id"] == ids.GRID_EXPLORE and grid["props"]["rowData"]
    assert prop(layout, ids.EXPLORE_TITLE, "children")


def test_fp007_without_a_referer_the_route_callback_renders_the_same_page(app_with_api):
    client = app_with_api.server.test_client()
    shell = first_layout(client, None)
    assert prop(shell, ids.RENDERED, "data") is None and prop(shell, ids.PAGE, "children") is None
    search = f"?token={embed_token()}"
    status, body = post_callback(
        client, app_with_api, f"{ids.PAGE}.children",
        outputs=[{"id": ids.PAGE, "property": "children"}, {"id": ids.ROOT, "property": "className"}],
        inputs=[{"id": ids.ROUTE, "property": "data", "value": "/embed/overview"}],
        state=[{"id": ids.URL, "property": "search", "value": search}])
    assert status == 200
    page = body["response"][ids.PAGE]["children"]
    rendered = first_layout(client, f"/embed/overview{search}")
    assert shown_kpis(page) == shown_kpis(rendered)
