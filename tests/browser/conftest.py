"""Browser tests: a Dash app per test over the session's generated snapshot, served by dash_duo."""
from __future__ import annotations

from pathlib import Path

import pytest
from dash.testing.dash_page import DashPageMixin

from tests.support.apps import make_app
from tests.support.browser import FreePortRunner
from tests.support.credentials import EMBED_SECRET

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture
def dash_app(generated_snapshot_dir, tmp_path):
    """In demo mode (``/demo`` frames the embed), which refuses a configured embed secret: the test
    secret is placed where demo mode keeps the one it generates, so tests mint tokens with it."""
    (tmp_path / "demo-embed-secret").write_text(EMBED_SECRET)
    return make_app(generated_snapshot_dir, tmp_path / "cache", demo=True, embed_secret=None,
                    snapshot_check_interval=60.0)


@pytest.fixture(autouse=True)
def page_drawn_by_dash(monkeypatch):
    """``dash_duo.wait_for_page`` waits for Dash's page, not just its entry point: until Dash has drawn it, the
    document shows the page's static picture (layouts/first_paint.py), whose copies of the page's elements a
    test would otherwise find first, and find gone a moment later."""
    monkeypatch.setattr(DashPageMixin, "dash_entry_locator", property(lambda self: "#react-entry-point main"))


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def dash_thread_server():
    """dash's fixture of the same name, the app served on a free port (see ``FreePortRunner``)."""
    with FreePortRunner() as starter:
        yield starter
