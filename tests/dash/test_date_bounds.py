"""Issue 13, item 3: the dashboards refuse the ranges the API refuses, with the same reason, at once.

Before, any embed-token holder could ask explore for 1900 to 9999 by day (72 s,
145 MB on a production snapshot), and a range near year 1 was a 500.
"""
from __future__ import annotations

import json
import time

from app.dates import MAX_RANGE_DAYS
from layouts import ids
from tests.support.credentials import TENANT, embed_token
from tests.support.dash_requests import post_callback, prop_id

URL_SEARCH = {"id": ids.URL, "property": "search"}
GRID_STORE = ids.deferred_content_id(ids.GRID_EXPLORE_BOX)
EXPLORE_OUTPUTS = [{"id": ids.GRAPH_EXPLORE, "property": "figure"}, {"id": GRID_STORE, "property": "data"},
                   {"id": ids.EXPLORE_STATUS, "property": "children"},
                   {"id": ids.EXPLORE_TITLE, "property": "children"},
                   {"id": ids.EXPLORE_ZONE, "property": "children"}]


def explore_call(client, dash_app, search):
    inputs = [{**URL_SEARCH, "value": search}, {"id": ids.token_id("explore"), "property": "data",
                                                "value": embed_token()}]
    return post_callback(client, dash_app, f"{GRID_STORE}.data", EXPLORE_OUTPUTS, inputs)


def route_call(client, dash_app, search):
    outputs = [{"id": ids.PAGE, "property": "children"}, {"id": ids.ROOT, "property": "className"}]
    inputs = [{"id": ids.ROUTE, "property": "data", "value": "/explore"}]  # the path, once the route gate passes it
    state = [{**URL_SEARCH, "value": search}]
    return post_callback(client, dash_app, f"{ids.PAGE}.children", outputs, inputs, state)


def test_dates001_explore_for_1900_to_9999_by_day_is_refused_at_once_with_a_message(client, dash_app):
    started = time.perf_counter()
    status, body = explore_call(client, dash_app, "?from=1900-01-01&to=9999-12-31&chart=line&gran=day")
    assert time.perf_counter() - started < 5
    assert status == 200
    assert body["response"][GRID_STORE]["data"]["props"]["rowData"] == []
    text = json.dumps(body["response"][ids.EXPLORE_STATUS])
    assert "This date range cannot be shown" in text and "9999-12-31 is outside 1900-01-01 to 2999-12-31" in text


def test_dates002_a_range_near_year_one_is_a_message_not_a_500(client, dash_app):
    outputs = [[{"id": ids.kpi_value_id(m), "property": "children"} for m in ("completions",)],
               [{"id": ids.kpi_change_id(m), "property": "children"} for m in ("completions",)],
               *[{"id": g, "property": "figure"} for g in ids.OVERVIEW_GRAPHS],
               *[{"id": ids.table_id(g), "property": "children"} for g in ids.OVERVIEW_GRAPHS],
               {"id": ids.OVERVIEW_STATUS, "property": "children"},
               {"id": ids.OVERVIEW_ZONE, "property": "children"},
               {"id": ids.OVERVIEW_COMPLIANCE, "property": "hidden"}]
    inputs = [{**URL_SEARCH, "value": "?from=0001-01-01&to=0001-01-02"},
              {"id": ids.token_id("overview"), "property": "data", "value": embed_token()}]
    status, body = post_callback(client, dash_app, "graph-activity.figure", outputs, inputs)
    assert status == 200
    assert "This date range cannot be shown" in json.dumps(body["response"][ids.OVERVIEW_STATUS])


def test_dates003_over_three_years_the_dashboards_and_the_api_give_the_same_reason(client, dash_app):
    search = "?from=2020-01-01&to=2026-10-31"
    reason = f"the range 2020-01-01 to 2026-10-31 spans 2496 days; at most {MAX_RANGE_DAYS}"
    status, body = explore_call(client, dash_app, search)
    assert status == 200 and reason in json.dumps(body["response"][ids.EXPLORE_STATUS])
    api = client.get(f"/api/v1/tenants/{TENANT}/kpis{search}",
                     headers={"Authorization": f"Bearer {embed_token()}"})
    assert api.status_code == 400
    assert {p["reason"] for p in api.get_json()["invalid_params"]} == {reason}


def test_dates004_the_page_and_the_url_sync_refuse_it_too_without_a_500(client, dash_app):
    search = f"?token={embed_token()}&from=1900-01-01&to=9999-12-31"
    status, body = route_call(client, dash_app, search)
    assert status == 200 and "This date range cannot be shown" in json.dumps(body)
    page = "explore"
    filters = [{"id": ids.filter_id(page, "group"), "property": "value", "value": []}]
    outputs = [{**URL_SEARCH}, filters, [{"id": ids.range_preset_id(page), "property": "value"}],
               [{"id": ids.range_dates_id(page), "property": "start_date"}],
               [{"id": ids.range_dates_id(page), "property": "end_date"}], [], [], [],
               [{"id": ids.filter_id(page, "group"), "property": "options"}], [], [], []]
    inputs = [{**URL_SEARCH, "value": search}, filters, [{"id": ids.range_preset_id(page), "property": "value",
                                                          "value": "custom"}],
              [{"id": ids.range_dates_id(page), "property": "start_date", "value": "1900-01-01"}],
              [{"id": ids.range_dates_id(page), "property": "end_date", "value": "9999-12-31"}], [], [], [], []]
    state = [[{"id": ids.token_id(page), "property": "data", "value": embed_token()}]]
    status, body = post_callback(client, dash_app, "location-url.search", outputs, inputs, state,
                                 [prop_id(ids.URL, "search")])
    assert status == 200, body
