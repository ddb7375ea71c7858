"""The API tests' apps: one over the generated snapshot for read-only tests, and one per test."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.apps import make_app


@pytest.fixture(scope="session")
def server(generated_snapshot_dir, generated_export, tenants, tmp_path_factory):
    """One app for the read-only tests (its app cache on, as in production)."""
    return make_app(generated_snapshot_dir, tmp_path_factory.mktemp("cache"), tenants,
                    source=str(generated_export)).server


@pytest.fixture()
def client(server):
    return server.test_client()


@pytest.fixture()
def snapshot_copy(generated_snapshot_dir, tmp_path) -> Path:
    """A private copy of the snapshot folder, for tests that publish or refresh."""
    copy = tmp_path / "snapshots"
    shutil.copytree(generated_snapshot_dir, copy)
    return copy


@pytest.fixture()
def make_server(tenants, tmp_path):
    """An app of its own: ``make_server(snapshot_dir, **settings)``."""
    def make(snapshot_dir, **overrides):
        return make_app(snapshot_dir, tmp_path / "cache", tenants, **overrides).server
    return make

