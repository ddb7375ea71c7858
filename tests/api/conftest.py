"""An app over the generated snapshot, with one credential of each kind, and request helpers."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.factory import create_app
from app.auth import mint_token

ADMIN_KEY = "admin-key-0123456789abcdef"
ALL_KEY = "all-tenants-key-0123456789"
EMBED_SECRET = "embed-secret-for-tests-0123456789abcdef"
ANALYST_SECRET = "analyst-secret-for-tests-0123456789abcdef"


def tenant_key(tenant: str) -> str:
    return f"key-for-{tenant}-0123456789abcdef"


def bearer(credential: str) -> dict:
    return {"Authorization": f"Bearer {credential}"}


def embed(tenant: str, **claims) -> dict:
    return bearer(mint_token(EMBED_SECRET, tenant, **claims))


def analyst() -> dict:
    return bearer(mint_token(ANALYST_SECRET, "*"))


def build_app(snapshot_dir: Path, tenants, cache_dir: Path, **overrides):
    keys = (f"{ADMIN_KEY}:admin", f"{ALL_KEY}:*", *(f"{tenant_key(t)}:{t}" for t in tenants))
    settings = {"snapshot_dir": str(snapshot_dir), "api_keys": keys, "embed_secret": EMBED_SECRET,
                "analyst_secret": ANALYST_SECRET, "cache_dir": str(cache_dir), **overrides}
    return create_app(**settings)


@pytest.fixture(scope="session")
def tenants(snapshot) -> list[str]:
    return sorted(snapshot.tenants)


@pytest.fixture(scope="session")
def server(generated_snapshot_dir, generated_export, tenants, tmp_path_factory):
    """One app for the read-only tests (its app cache on, as in production)."""
    return build_app(generated_snapshot_dir, tenants, tmp_path_factory.mktemp("cache"),
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
        return build_app(snapshot_dir, tenants, tmp_path / "cache", **overrides).server
    return make


def problem(response, status: int) -> dict:
    """The problem+json body of ``response``, checked for shape and status."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def invalid_names(response) -> list[str]:
    return [p["name"] for p in problem(response, 400)["invalid_params"]]
