"""Browser tests: a Dash app per test over the session's generated snapshot, served by dash_duo."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.apps import make_app

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture
def dash_app(generated_snapshot_dir, tmp_path):
    return make_app(generated_snapshot_dir, tmp_path / "cache", demo=True, snapshot_check_interval=60.0)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
