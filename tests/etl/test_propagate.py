"""The steps after a publish: waiting for web workers, clearing the app cache (real Redis)."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis

from app.config import Settings
from etl import snapshot_format as snapshots
from etl.propagate import clear_app_cache, wait_for_web
from etl.refresh import refresh_with_settings
from tests.support import services
from tests.support.exports import GOOD_ROWS, HEADER, write_export


class Meta(ThreadingHTTPServer):
    """A web worker stand-in whose /api/v1/meta answers ``self.version``."""

    daemon_threads = True

    def __init__(self, version: str | None):
        super().__init__(("127.0.0.1", 0), _MetaHandler)
        self.version = version
        self.auth: list[str | None] = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _MetaHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.auth.append(self.headers.get("Authorization"))
        body = json.dumps({"version": self.server.version}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_propagate001_wait_until_served_then_the_check_interval():
    web = Meta("old")
    threading.Timer(0.3, lambda: setattr(web, "version", "new")).start()
    start = time.monotonic()
    down = f"http://127.0.0.1:{services.free_port()}"
    result = wait_for_web((web.url, down), "new", published_at=start, check_interval=0.5, timeout=5, key="adm")
    elapsed = time.monotonic() - start
    assert result["laggards"] == {} and list(result["unreachable"]) == [down]
    assert 0.5 <= elapsed < 3
    assert web.auth[0] == "Bearer adm"
    web.shutdown()


def test_propagate004_with_s3_hosts_swap_on_their_own_clock():
    """Each host publishes locally when it sees the S3 pointer: the check interval counts from
    when it was first seen serving the new version, not from the S3 publish."""
    web = Meta("old")
    threading.Timer(1.0, lambda: setattr(web, "version", "new")).start()
    start = time.monotonic()
    result = wait_for_web((web.url,), "new", published_at=None, check_interval=0.5, timeout=5)
    assert result["laggards"] == {}
    assert time.monotonic() - start >= 1.5  # seen at about 1 s, then the whole check interval


def test_propagate002_laggard_puts_the_previous_snapshot_back(tmp_path):
    write_export(tmp_path / "src")
    settings = Settings.from_env({}, source=str(tmp_path / "src"), snapshot_dir=str(tmp_path / "snap"),
                                 cache_dir=str(tmp_path / "cache"), snapshot_check_interval=0.1)
    first = refresh_with_settings(settings)
    assert first.outcome == "published", first.message
    assert first.report["purge"]["reason"] == "no previous snapshot: every tenant"

    stuck = Meta(first.version)  # never swaps
    write_export(tmp_path / "src", date="2026-11-02", activity=HEADER + "\n".join(GOOD_ROWS[:3]) + "\n")
    result = refresh_with_settings(replace(settings, web_urls=(stuck.url,)), web_timeout=1.0)
    assert result.outcome == "failed" and not result.ok
    assert result.report["failed_step"] == "wait_web"
    assert result.message.startswith(f"web workers did not serve {result.report['version']} within 1s ")
    assert f"{stuck.url}: serves {first.version}" in result.message
    assert result.message.endswith(f"{first.version} is live again")
    assert snapshots.live_version(tmp_path / "snap") == first.version
    assert set(result.report["timings"]) >= {"publish", "wait_web", "restore", "purge"}
    stuck.shutdown()


@pytest.mark.services
def test_propagate003_redis_cache_cleared_within_its_prefix(service_logs, tmp_path):
    from app.cache import AppCache, make_key

    server = services.start_redis(service_logs)
    try:
        url = f"redis://127.0.0.1:{server.port}/0"
        settings = Settings.from_env({}, cache_redis_url=url)
        cache = AppCache(settings)
        for i in range(5):
            cache.set(make_key("kpis", "v1", "acme", i), b"x")
        client = redis.Redis.from_url(url)
        client.set("other-app:session", b"keep me")
        assert len(client.keys("dataviz:*")) == 5
        assert clear_app_cache(settings) == {"backend": "redis", "ok": True, "error": None}
        assert client.keys("dataviz:*") == [] and client.get("other-app:session") == b"keep me"
        assert clear_app_cache(settings)["ok"]  # nothing left to delete is not a failure
    finally:
        server.stop()
    report = clear_app_cache(settings)  # Redis gone: reported, not raised
    assert report["ok"] is False and "ConnectionError" in report["error"]

    fs = Settings.from_env({}, cache_dir=str(tmp_path / "cache"))
    cache = AppCache(fs)
    cache.set(make_key("kpis", "v1", "acme"), b"x")
    assert clear_app_cache(fs) == {"backend": "filesystem", "ok": True, "error": None}
    assert cache.get(make_key("kpis", "v1", "acme")) is None
