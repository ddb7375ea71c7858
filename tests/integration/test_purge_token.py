"""Issue 13, item 13: PURGE and BAN need the shared token, and the ETL sends it.

A real varnishd with the shipped VCL, in front of the counting backend; the
ETL's refresh chain purges it with the token from ``DATAVIZ_PURGE_TOKEN``.
Without the token the purge is refused and reported pending; a varnishd
started without the token (or with a short one) refuses every PURGE and BAN.
"""
from __future__ import annotations

import http.client
import json
import logging
from pathlib import Path

import pytest

from app.config import Settings
from etl import purge as purging
from etl.refresh import refresh_with_settings
from tests.support import services
from tests.support.exports import GOOD_ROWS, HEADER, write_export
from tests.support.varnish_backend import Backend

pytestmark = pytest.mark.services
TOKEN = services.SUITE_PURGE_TOKEN
PATH = "/api/v1/tenants/acme/kpis"


def request(port: int, method: str, path: str, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def backend():
    server = Backend()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def varnish(service_logs, backend):
    proxy = services.start_varnish(service_logs, backend.server_address[1])  # DATAVIZ_PURGE_TOKEN=TOKEN
    yield proxy
    proxy.stop()


def two_exports(tmp_path: Path, env: dict) -> Settings:
    """Settings read from ``env`` (as the CLI reads them) and a first export published, acme changed in the next."""
    settings = Settings.from_env({"DATAVIZ_SOURCE": str(tmp_path / "src"), "DATAVIZ_SNAPSHOT_DIR": str(tmp_path / "snap"),
                                  "DATAVIZ_CACHE_DIR": str(tmp_path / "cache"), **env})
    write_export(tmp_path / "src", date="2026-11-01")
    assert refresh_with_settings(settings).outcome == "published"
    write_export(tmp_path / "src", date="2026-11-02",
                 activity=HEADER + "\n".join(GOOD_ROWS + ["e9,2026-10-31T13:00:00Z,acme,u3,connection,,,5"]) + "\n")
    return settings


def cached(proxy) -> str:
    request(proxy.port, "GET", PATH)
    return request(proxy.port, "GET", PATH)[1]["X-Cache"]


def test_token001_the_refresh_purges_with_the_token_and_never_logs_it(varnish, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    settings = two_exports(tmp_path, {"DATAVIZ_VARNISH_URLS": varnish.url, "DATAVIZ_PURGE_TOKEN": TOKEN})
    assert settings.purge_token == TOKEN and TOKEN not in repr(settings)
    assert cached(varnish) == "HIT"
    result = refresh_with_settings(settings)
    assert result.outcome == "published" and "pending" not in result.message, result.message
    hosts = result.report["purge"]["hosts"]
    assert [(h["ok"], h["purged"]) for h in hosts] == [(True, 1)], hosts
    assert request(varnish.port, "GET", PATH)[1]["X-Cache"] == "MISS"
    written = "".join(p.read_text() for p in (tmp_path / "snap").rglob("*.json"))
    assert TOKEN not in caplog.text and TOKEN not in written


def test_token002_without_the_token_the_purge_is_refused_reported_and_kept(varnish, tmp_path):
    settings = two_exports(tmp_path, {"DATAVIZ_VARNISH_URLS": varnish.url})
    assert cached(varnish) == "HIT"
    result = refresh_with_settings(settings)
    assert result.outcome == "published" and "keys pending on" in result.message, result.message
    [host] = result.report["purge"]["hosts"]
    assert not host["ok"] and "Forbidden" in host["error"] and "X-Purge-Token" in host["error"], host
    assert request(varnish.port, "GET", PATH)[1]["X-Cache"] == "HIT"
    # the operator sets the token: the next tick sends what is pending
    again = refresh_with_settings(Settings.from_env({"DATAVIZ_SOURCE": settings.source,
                                                     "DATAVIZ_SNAPSHOT_DIR": settings.snapshot_dir,
                                                     "DATAVIZ_CACHE_DIR": settings.cache_dir,
                                                     "DATAVIZ_VARNISH_URLS": varnish.url,
                                                     "DATAVIZ_PURGE_TOKEN": TOKEN}))
    assert again.outcome == "up_to_date" and all(h["ok"] for h in again.report["retried_purges"]["hosts"])
    assert purging.load_pending(Path(settings.snapshot_dir)) == {}
    assert request(varnish.port, "GET", PATH)[1]["X-Cache"] == "MISS"


@pytest.mark.parametrize("env", [{}, {"DATAVIZ_PURGE_TOKEN": "short-token"}], ids=["unset", "short"])
def test_token003_a_varnish_without_a_real_token_refuses_every_purge(service_logs, backend, env):
    """Fail closed: a varnishd started without its environment never opens PURGE and BAN to the whole host."""
    proxy = services.start_varnish(service_logs, backend.server_address[1], env=env)
    try:
        assert cached(proxy) == "HIT"
        for sent in ({}, {"X-Purge-Token": env.get("DATAVIZ_PURGE_TOKEN", "")}, {"X-Purge-Token": TOKEN}):
            for method, headers in (("PURGE", {"xkey-purge": "tenant-acme"}), ("BAN", {"X-Ban-Url": "."})):
                status, answer, body = request(proxy.port, method, "/", {**headers, **sent})
                assert status == 403 and answer["Content-Type"] == "application/problem+json", (method, sent, body)
                assert "DATAVIZ_PURGE_TOKEN" in json.loads(body)["detail"]
        assert request(proxy.port, "GET", PATH)[1]["X-Cache"] == "HIT"
    finally:
        proxy.stop()
