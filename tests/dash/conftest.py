"""Dashboard tests without a browser: an app over the generated snapshot and a Flask test client."""
from __future__ import annotations

import pytest

from tests.support.apps import make_app


@pytest.fixture
def dash_app(generated_snapshot_dir, tmp_path):
    return make_app(generated_snapshot_dir, tmp_path / "cache", snapshot_check_interval=60.0)


@pytest.fixture
def client(dash_app):
    return dash_app.server.test_client()


@pytest.fixture
def server_context(dash_app):
    """A request context, as a callback has: ``authorize`` reads the app from it."""
    with dash_app.server.test_request_context("/_dash-update-component", method="POST"):
        yield dash_app
