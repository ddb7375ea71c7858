"""Dash callback requests as the renderer sends them, for tests without a browser."""
from __future__ import annotations

import json


def callback_key(dash_app, fragment: str, reading=None) -> str:
    """The one callback whose key holds ``fragment``; a second writer of an output (``id.prop@<hash>``) is
    named only by a fragment holding ``@``; ``reading`` (a component id): among those, the one with that input."""
    keys = [k for k in dash_app.callback_map if fragment in k and ("@" in fragment or "@" not in k)]
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
