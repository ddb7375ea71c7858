"""Shared fixtures: a generated export and its snapshot, and real services on loopback."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from tests.support import services

END_DATE = dt.date(2026, 10, 31)
BROWSER_TESTS = "tests/browser/"


def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist's units of work (``--dist loadscope``, pytest.ini): a module's tests stay together, so its
    module-scoped services start once, and every browser test joins one unit, so that two Chromiums and their
    apps never share the two cores at once (the browser tests wait on what a page does in time). xdist's own
    ``loadgroup`` cannot say this here: it renames test ids, which pytest 9 no longer lets a plugin do."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModulesWithBrowserTestsTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return BROWSER_TESTS if nodeid.startswith(BROWSER_TESTS) else super()._split_scope(nodeid)

    return ModulesWithBrowserTestsTogether(config, log)


@pytest.fixture(scope="session")
def service_logs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("service-logs")


@pytest.fixture(scope="session")
def moto(service_logs):
    """A real S3-compatible server (moto_server) on a free loopback port; env set for boto3."""
    server = services.start_moto(service_logs)
    saved = {k: os.environ.get(k) for k in services.s3_env(server)}
    os.environ.update(services.s3_env(server))
    yield server
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    server.stop()


@pytest.fixture(scope="session")
def generated_export(tmp_path_factory) -> Path:
    """A realistic export (120k events, 10 tenants) shared by the correctness tests."""
    from etl.generate import generate_export

    root = tmp_path_factory.mktemp("exports")
    generate_export(str(root), events=120_000, tenants=10, seed=11, end_date=END_DATE, days=400)
    return root


@pytest.fixture(scope="session")
def generated_snapshot_dir(generated_export, tmp_path_factory) -> Path:
    from etl.refresh import run_refresh

    root = tmp_path_factory.mktemp("snapshots")
    result = run_refresh(str(generated_export), root)
    assert result.outcome == "published", result.message
    return root


@pytest.fixture(scope="session")
def snapshot(generated_snapshot_dir):
    from app.store import SnapshotStore

    return SnapshotStore(generated_snapshot_dir).current()


@pytest.fixture(scope="session")
def tenants(snapshot) -> list[str]:
    """The generated snapshot's tenants, sorted."""
    return sorted(snapshot.tenants)


@pytest.fixture(scope="session")
def oracle(generated_export):
    """The independent DuckDB computation over the generated export's raw CSVs."""
    from tests.support.oracle import Oracle

    (folder,) = [p for p in generated_export.iterdir() if p.is_dir()]
    return Oracle(str(folder))
