"""Dashboard tests without a browser: an app over the generated snapshot and a Flask test client."""
from __future__ import annotations

import json

import pytest

from tests.dashboards import make_app


@pytest.fixture
def dash_app(generated_snapshot_dir, tmp_path):
    return make_app(generated_snapshot_dir, tmp_path / "cache")


@pytest.fixture
def client(dash_app):
    return dash_app.server.test_client()


@pytest.fixture
def server_context(dash_app):
    """A request context, as a callback has: ``authorize`` reads the app from it."""
    with dash_app.server.test_request_context("/_dash-update-component", method="POST"):
        yield dash_app


def callback_key(dash_app, fragment: str) -> str:
    (key,) = [k for k in dash_app.callback_map if fragment in k]
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
