"""Dash callback requests as the renderer sends them, for tests without a browser."""
from __future__ import annotations

import json

from app import queries
from layouts import ids
from tests.support.credentials import TENANT


def callback_key(dash_app, fragment: str, reading=None) -> str:
    """The one callback whose key holds ``fragment``; a second writer of an output (``id.prop@<hash>``) is
    named for that output only by a fragment holding ``@``; ``reading`` (a component id): among those, the one
    with that input."""
    keys = [k for k in dash_app.callback_map if fragment in k and ("@" in fragment or f"{fragment}@" not in k)]
    if reading is not None:
        keys = [k for k in keys
                if any(compact(i["id"]) == compact(reading) for i in dash_app.callback_map[k]["inputs"])]
    (key,) = keys
    return key


def compact(component_id) -> str:
    """How Dash names a component: a dict id is compact JSON with sorted keys."""
    if isinstance(component_id, dict):
        return json.dumps(component_id, sort_keys=True, separators=(",", ":"))
    return component_id


def prop_id(component_id, prop: str) -> str:
    return f"{compact(component_id)}.{prop}"


def post_callback(client, dash_app, fragment: str, outputs, inputs, state=(), changed=None):
    """POST to ``/_dash-update-component`` as the renderer would; returns (status, JSON or None).

    ``changed`` defaults to the first input, as when that input alone changed.
    """
    body = {"output": callback_key(dash_app, fragment), "outputs": outputs, "inputs": list(inputs),
            "state": list(state),
            "changedPropIds": changed if changed is not None else [prop_id(inputs[0]["id"], inputs[0]["property"])]}
    response = client.post("/_dash-update-component", json=body)
    return response.status_code, (response.get_json() if response.status_code == 200 else None)


def sync_call(client, dash_app, token, *, choices=(("metric", "completions"),), start="2026-10-02",
              end="2026-10-31", changed=None, tenant=TENANT, page="explore", search="", group=(), preset="custom"):
    """The URL-and-controls callback (``callbacks.sync``) as explore's renderer posts it, with ``tenant`` in the
    tenant picker, ``group`` in the group filter and ``search`` as the URL's query string."""
    filters = [{"id": ids.filter_id(page, d), "property": "value", "value": list(group) if d == "group" else []}
               for d in queries.DIMENSIONS]
    choice_ids = [{"id": ids.choice_id(page, n), "property": "value", "value": v} for n, v in choices]
    url = {"id": ids.URL, "property": "search"}
    outputs = [{**url}, [dict(f, property="value") for f in filters],
               [{"id": ids.range_preset_id(page), "property": "value"}],
               [{"id": ids.range_dates_id(page), "property": "start_date"}],
               [{"id": ids.range_dates_id(page), "property": "end_date"}],
               [{"id": c["id"], "property": "value"} for c in choice_ids],
               [{"id": ids.tenant_id(page), "property": "value"}],
               [{"id": ids.GRAPH_EXPLORE, "property": "clickData"}],
               [{"id": f["id"], "property": "options"} for f in filters],
               [{"id": c["id"], "property": "options"} for c in choice_ids],
               [{"id": ids.tenant_id(page), "property": "options"}],
               [{"id": ids.chips_id(page), "property": "children"}]]
    inputs = [{**url, "value": search}, filters,
              [{"id": ids.range_preset_id(page), "property": "value", "value": preset}],
              [{"id": ids.range_dates_id(page), "property": "start_date", "value": start}],
              [{"id": ids.range_dates_id(page), "property": "end_date", "value": end}],
              choice_ids, [{"id": ids.tenant_id(page), "property": "value", "value": tenant}],
              [{"id": ids.GRAPH_EXPLORE, "property": "clickData", "value": None}], []]
    state = [[{"id": ids.token_id(page), "property": "data", "value": token}]]
    return post_callback(client, dash_app, "location-url.search", outputs, inputs, state, changed)
