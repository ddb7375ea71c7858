"""Issue 13, items 8 and 9: crafted callbacks are refused with a 4xx, never a 500, and a locked
dashboard sends only its own filter values.

Before: CSV row data that is not a row, an unknown choice name, dates near year 1,
a 100k-deep JSON body and an unknown component-suite path were 500s; a
dashboard locked to group=Sales sent every group name of the tenant in its
dropdown options (the API already hid them).
"""
from __future__ import annotations

import json

from app import queries
from layouts import ids
from tests.support.credentials import OTHER_TENANT, TENANT, analyst_token, embed_token, expired_token
from tests.support.dash_requests import post_callback, prop_id, sync_call

URL_SEARCH = {"id": ids.URL, "property": "search"}
PAGE = "explore"


def test_crafted001_an_unknown_choice_name_or_value_is_ignored_not_a_500(client, dash_app):
    """Renderer-shaped, so answered like the renderer's (tests/api test_hostile_req012 wants 200 or 204)."""
    status, body = sync_call(client, dash_app, embed_token(), choices=(("nope", "x"), ("metric", "completions")),
                             changed=[prop_id(ids.choice_id(PAGE, "nope"), "value")])
    assert status == 200 and '"x"' not in json.dumps(body)
    status, body = sync_call(client, dash_app, embed_token(), choices=(("metric", "nope"),),
                             changed=[prop_id(ids.choice_id(PAGE, "metric"), "value")])
    assert status == 200 and "nope" not in json.dumps(body)


def test_crafted002_dates_near_year_one_from_the_picker_are_not_a_500(client, dash_app):
    status, _ = sync_call(client, dash_app, embed_token(), start="0001-01-01", end="0001-01-02",
                          changed=[prop_id(ids.range_dates_id(PAGE), "start_date")])
    assert status in (200, 204)


def test_crafted003_csv_row_data_that_is_not_rows_is_not_a_500(client, dash_app):
    outputs = {"id": ids.DOWNLOAD_CSV, "property": "data"}
    for shown in ([{"key": {"a": 1}}], [{"key": [1, 2]}], "rows", [None, 3, {"label": None}], {"a": 1}):
        inputs = [{"id": ids.BUTTON_CSV, "property": "n_clicks", "value": 1}]
        state = [{**URL_SEARCH, "value": "?by=group"},
                 {"id": ids.token_id(PAGE), "property": "data", "value": embed_token()},
                 {"id": ids.GRID_EXPLORE, "property": "virtualRowData", "value": shown}]
        status, body = post_callback(client, dash_app, f"{ids.DOWNLOAD_CSV}.data", outputs, inputs, state)
        assert status == 200, shown
        assert "Group" in body["response"][ids.DOWNLOAD_CSV]["data"]["content"]


def test_crafted004_a_100k_deep_json_body_is_a_400(client):
    body = "[" * 100_000 + "]" * 100_000
    response = client.post("/_dash-update-component", data=body, content_type="application/json")
    assert response.status_code == 400


def test_crafted005_unknown_component_suite_paths_are_404(client):
    for path in ("/_dash-component-suites/dash/nope.js", "/_dash-component-suites/nope/nope.js",
                 "/_dash-component-suites/dash/../../app/auth.py", "/_dash-component-suites/dash/dcc/x.v9m1.js"):
        response = client.get(path)
        assert 400 <= response.status_code < 500, (path, response.status_code)


def test_crafted006_a_dashboard_locked_to_sales_sends_only_sales_in_its_options(client, dash_app, snapshot):
    values = queries.filter_values(snapshot, TENANT)
    groups = [o["key"] for o in values["group"]]
    elsewhere = {o["key"] for dim, options in values.items() if dim != "group" for o in options}
    assert "Sales" in groups and len(groups) > 1
    status, body = sync_call(client, dash_app, embed_token(filters={"group": ["Sales"]}),
                             changed=[prop_id(ids.range_dates_id(PAGE), "start_date")])
    assert status == 200
    options = body["response"][json.dumps(ids.filter_id(PAGE, "group"), sort_keys=True, separators=(",", ":"))]
    assert [o["value"] for o in options["options"]] == ["Sales"]
    sent = json.dumps(body)
    assert not [g for g in groups if g != "Sales" and g not in elsewhere and json.dumps(g) in sent]


def tenant_search(client, dash_app, token, search, tenant=TENANT, page=PAGE):
    """The analyst's picker asking for the tenants that match ``search`` (``callbacks.sync.tenant_search``)."""
    picker = ids.tenant_id(page)
    return post_callback(client, dash_app, '"page":["MATCH"],"type":"tenant"}.options',
                         {"id": picker, "property": "options"},
                         [{"id": picker, "property": "search_value", "value": search}],
                         [{"id": picker, "property": "value", "value": tenant},
                          {"id": ids.token_id(page), "property": "data", "value": token}])


def test_crafted007_the_tenant_search_answers_analysts_only(client, dash_app, snapshot):
    """Typing in the picker lists the matching tenants, by name or id in any case, with the page's own; a
    tenant's token (its picker is hidden), an expired token or a request not shaped like the picker's lists none."""
    status, body = tenant_search(client, dash_app, analyst_token(), OTHER_TENANT[:3].upper())
    assert status == 200
    options = body["response"][json.dumps(ids.tenant_id(PAGE), sort_keys=True, separators=(",", ":"))]["options"]
    assert [o["value"] for o in options] == [TENANT, OTHER_TENANT]
    assert options[1]["label"] == snapshot.tenants[OTHER_TENANT].name
    name = snapshot.tenants[OTHER_TENANT].name
    status, body = tenant_search(client, dash_app, analyst_token(), name[1:].lower(), tenant=OTHER_TENANT)
    assert status == 200 and OTHER_TENANT in json.dumps(body)
    for token in (embed_token(), expired_token(), "nope", None):
        status, body = tenant_search(client, dash_app, token, OTHER_TENANT)
        assert status == 204 and body is None, token
    status, _ = tenant_search(client, dash_app, analyst_token(), OTHER_TENANT, page=None)
    assert status == 400
