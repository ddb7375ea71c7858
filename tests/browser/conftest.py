"""Browser tests: a Dash app per test over the session's generated snapshot, served by dash_duo."""
from __future__ import annotations

from pathlib import Path

import pytest

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


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def dash_thread_server():
    """dash's fixture of the same name, the app served on a free port (see ``FreePortRunner``)."""
    with FreePortRunner() as starter:
        yield starter
