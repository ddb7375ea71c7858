"""Failing services, each real and on loopback: Redis down or stalled, every Varnish unreachable during a purge,
S3 slow, stalled or cut half-way. No request fails that did not have to, nothing is lost, and everything
comes back by itself once the fault is gone.

Faults come from stopping the service (by PID) or from ``tests.support.faults.FaultyProxy`` in front of it.
"""
from __future__ import annotations

import datetime as dt
import http.client
import time
from pathlib import Path

import boto3
import pytest
import redis

from app import cache as app_cache
from app.config import Settings
from etl import purge as purging
from etl import snapshot_format as snapshots
from etl.refresh import refresh_with_settings, run_refresh
from tests.support import services
from tests.support.apps import make_app
from tests.support.credentials import ALL_KEY, OTHER_SECRET, bearer, embed_token
from tests.support.exports import GOOD_ROWS, HEADER, write_export
from tests.support.faults import FaultyProxy
from tests.support.s3 import upload_folder
from tests.support.varnish_backend import Backend

pytestmark = pytest.mark.services


# --- Redis ------------------------------------------------------------------------------------------------------

def readiness(client) -> dict:
    response = client.get("/readyz")
    assert response.status_code == 200
    return response.get_json()


def cache_up_metric(client) -> str:
    line = next(l for l in client.get("/metrics").get_data(as_text=True).splitlines()
                if l.startswith("dataviz_app_cache_up "))
    return line.split()[1]


def timed_answers(client, tenant: str, n: int) -> float:
    """Seconds for ``n`` distinct data requests, all of which must succeed."""
    start = time.monotonic()
    for i in range(n):
        response = client.get(f"/api/v1/tenants/{tenant}/kpis?from=2026-10-{1 + i % 28:02d}", headers=bearer(ALL_KEY))
        assert response.status_code == 200
    return time.monotonic() - start


def test_fault001_redis_down_at_start_mid_run_and_stalled(generated_snapshot_dir, tenants, service_logs, tmp_path,
                                                          monkeypatch):
    monkeypatch.setattr(app_cache, "RETRY_SECONDS", 0.5)
    port = services.free_port()
    app = make_app(generated_snapshot_dir, tmp_path / "cache", tenants,
                    cache_redis_url=f"redis://127.0.0.1:{port}/0")
    client = app.server.test_client()
    tenant = tenants[0]

    # down at start-up: every answer, uncached, and /readyz and /metrics say so
    assert timed_answers(client, tenant, 5) < 10
    assert readiness(client)["app_cache"] == "down" and readiness(client)["status"] == "degraded"
    assert cache_up_metric(client) == "0.0"

    server = services.start_redis(service_logs, port=port)
    try:
        time.sleep(0.6)
        timed_answers(client, tenant, 3)
        assert readiness(client)["app_cache"] == "up" and readiness(client)["status"] == "ready"
        assert cache_up_metric(client) == "1.0"
        assert redis.Redis(port=port).keys("dataviz:*")

        server.stop()  # mid-run
        assert timed_answers(client, tenant, 5) < 10
        assert readiness(client)["app_cache"] == "down"
        server = services.start_redis(service_logs, port=port)
        time.sleep(0.6)
        timed_answers(client, tenant, 2)
        assert readiness(client)["app_cache"] == "up"
    finally:
        server.stop()

    # a Redis that accepts and never answers: one request pays the socket timeout, the next ones skip the cache
    monkeypatch.setattr(app_cache, "RETRY_SECONDS", 2.0)
    server = services.start_redis(service_logs)
    stall = FaultyProxy(server.port, mode="stall")
    try:
        stalled = make_app(generated_snapshot_dir, tmp_path / "cache2", tenants,
                            cache_redis_url=f"redis://127.0.0.1:{stall.port}/0").server.test_client()
        assert timed_answers(stalled, tenant, 10) < 5  # without the bypass: 10 × (0.5 s get + 0.5 s set)
        assert readiness(stalled)["app_cache"] == "down"
        stall.set("pass")
        time.sleep(2.1)
        timed_answers(stalled, tenant, 2)
        assert readiness(stalled)["app_cache"] == "up"
    finally:
        stall.close()
        server.stop()


# --- Varnish ----------------------------------------------------------------------------------------------------

def varnish_get(port: int, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=bearer("k"))
        response = conn.getresponse()
        response.read()
        return response.status, response.headers.get("X-Cache")
    finally:
        conn.close()


def test_fault002_every_varnish_unreachable_during_a_purge(tmp_path, service_logs):
    """The refresh publishes, says the purge is pending, and the next tick purges once Varnish is back."""
    backend = Backend()
    first = services.start_varnish(service_logs, backend.server_address[1])
    second_port = services.free_port()  # the second Varnish is down, and comes back later on this port
    cut = FaultyProxy(first.port, mode="refuse")  # the first is up, but unreachable from the ETL
    settings = Settings(source=str(tmp_path / "src"), snapshot_dir=str(tmp_path / "snap"),
                        cache_dir=str(tmp_path / "cache"), varnish_urls=(cut.url, f"http://127.0.0.1:{second_port}"),
                        purge_token=services.SUITE_PURGE_TOKEN)
    second = None
    try:
        write_export(tmp_path / "src", date="2026-11-01")
        cut.set("pass")
        assert refresh_with_settings(settings).outcome == "published"
        path = "/api/v1/tenants/acme/kpis"
        varnish_get(first.port, path)
        assert varnish_get(first.port, path) == (200, "HIT")

        cut.set("refuse")
        write_export(tmp_path / "src", date="2026-11-02",
                     activity=HEADER + "\n".join(GOOD_ROWS + ["e9,2026-10-31T13:00:00Z,acme,u3,connection,,,5"]) + "\n")
        result = refresh_with_settings(settings)
        assert result.outcome == "published" and result.ok
        assert "Varnish purge of 1 keys pending on " in result.message
        assert set(result.report["purge"]["pending"]) == set(settings.varnish_urls)
        assert set(purging.load_pending(Path(settings.snapshot_dir))) == set(settings.varnish_urls)
        assert varnish_get(first.port, path) == (200, "HIT")  # stale until the purge gets through

        cut.set("pass")
        second = services.start_varnish(service_logs, backend.server_address[1], port=second_port)
        again = refresh_with_settings(settings)  # the next refresh or watcher tick
        assert again.outcome == "up_to_date"
        assert all(host["ok"] for host in again.report["retried_purges"]["hosts"])
        assert purging.load_pending(Path(settings.snapshot_dir)) == {}
        assert varnish_get(first.port, path) == (200, "MISS")
    finally:
        cut.close()
        for service in (first, second):
            if service is not None:
                service.stop()
        backend.shutdown()


# --- S3 -----------------------------------------------------------------------------------------------------------

@pytest.fixture()
def s3_behind_proxy(moto, generated_export, monkeypatch, request):
    """The generated export (activity about 2 MB gzip) in a bucket, reached through a proxy."""
    name = f"faults-{request.node.name.lower().replace('_', '-')[:40]}"
    boto3.client("s3").create_bucket(Bucket=name)
    for folder in generated_export.iterdir():
        upload_folder(boto3.client("s3"), name, "lms", folder)
    proxy = FaultyProxy(moto.port)
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    yield f"s3://{name}/lms", proxy
    proxy.close()


def test_fault003_s3_slow_stalled_or_cut_half_way(s3_behind_proxy, tmp_path):
    source, proxy = s3_behind_proxy
    root = tmp_path / "snap"

    proxy.set("cut", after=300_000, faults=1)  # cut once in the middle of the download: the retry recovers
    result = run_refresh(source, root, s3_timeout=2)
    assert result.outcome == "published", result.message
    assert proxy.faulted == 1
    complete = result.report["rows_accepted"]
    live = result.version

    proxy.set("cut", after=300_000)  # cut every time: the refresh fails, the live snapshot stays
    result = run_refresh(source, root, s3_timeout=2, force=True)
    assert result.outcome == "failed" and result.message.startswith(f"source unreachable: cannot download {source}/")
    assert snapshots.live_version(root) == live

    proxy.set("stall", after=300_000)  # an answer that stops coming: bounded by the timeout and the retries
    start = time.monotonic()
    result = run_refresh(source, root, s3_timeout=1, force=True)
    assert result.outcome == "failed" and "cannot download" in result.message
    assert time.monotonic() - start < 60
    assert snapshots.live_version(root) == live

    proxy.set("stall")  # even the listing stalls
    result = run_refresh(source, root, s3_timeout=1, force=True)
    assert result.outcome == "failed" and result.message.startswith(f"source unreachable: cannot list {source}")

    proxy.set("slow", delay=0.02)  # slow but moving: loads, all of it
    result = run_refresh(source, root, s3_timeout=2, force=True)
    assert result.outcome == "published" and result.report["rows_accepted"] == complete


# --- gunicorn -----------------------------------------------------------------------------------------------------

def load(port: int, tenants: list[str], seconds: float, threads: int = 6) -> tuple[int, list[str]]:
    """Distinct data requests (so Varnish passes each to gunicorn) from ``threads`` clients; (answered, failures)."""
    import itertools
    import threading

    counter = itertools.count()
    failures: list[str] = []
    answered = [0]
    deadline = time.monotonic() + seconds

    def client():
        while time.monotonic() < deadline:
            i = next(counter)
            start = dt.date(2023, 11, 1) + dt.timedelta(days=i % 300)
            end = dt.date(2026, 10, 31) - dt.timedelta(days=i // 300 % 300)
            path = f"/api/v1/tenants/{tenants[i % len(tenants)]}/timeseries?metric=active_learners&granularity=day" \
                   f"&from={start}&to={end}"
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request("GET", path, headers=bearer(ALL_KEY))
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    failures.append(f"{response.status} {path}")
                answered[0] += 1
            except (OSError, http.client.HTTPException) as exc:  # a cut response is a failure, not a dead thread
                failures.append(f"{exc.__class__.__name__} {path}")
            finally:
                conn.close()

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return answered[0], failures


CLIENTS = 6


def test_fault004_gunicorn_worker_killed_under_load(generated_snapshot_dir, tenants, service_logs, tmp_path):
    """Only the requests the killed worker held fail, directly or through Varnish (which retries a GET whose
    backend connection broke before the headers, not a body cut mid-stream). The master starts a new worker."""
    import threading

    import psutil

    env = {"DATAVIZ_SNAPSHOT_DIR": str(generated_snapshot_dir), "DATAVIZ_API_KEYS": f"{ALL_KEY}:*",
           "DATAVIZ_CACHE_DIR": str(tmp_path / "cache"), "DATAVIZ_APP_CACHE": "0"}
    web = services.start_gunicorn(service_logs, env, workers=3)
    varnish = services.start_varnish(service_logs, web.port)
    try:
        for port in (web.port, varnish.port):
            load(port, tenants, 1.0, threads=3)  # every worker has its snapshot loaded
            before = {p.pid for p in psutil.Process(web.pid).children()}
            victim = sorted(before)[0]
            threading.Timer(1.5, lambda: psutil.Process(victim).kill()).start()
            answered, failures = load(port, tenants, 4.0, threads=CLIENTS)
            # Only the requests the victim held when it died fail, at most one per client. Through Varnish, a
            # request whose backend connection broke before the headers is asked again (vcl_backend_error), but
            # a body already streaming to the client when the worker died is cut (IncompleteRead) and counted.
            assert len(failures) <= CLIENTS, failures
            assert answered > 50
            deadline = time.monotonic() + 30
            while len(psutil.Process(web.pid).children()) < 3 or victim in {p.pid for p in psutil.Process(web.pid).children()}:
                assert time.monotonic() < deadline, "gunicorn did not replace the killed worker"
                time.sleep(0.2)
        token = embed_token(tenants[0], secret=OTHER_SECRET)
        for path in (f"/embed/overview?token={token}", f"/explore?token={token}&tenant={tenants[1]}"):
            request_status = varnish_get(web.port, path)[0]
            assert request_status == 401
        deadline = time.monotonic() + 10  # a worker writes its access line after the response: wait for it
        while "/embed/overview" not in web.access_log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        logs = web.log_path.read_text() + web.access_log.read_text()
        assert "/embed/overview" in logs and token not in logs and ALL_KEY not in logs  # no credential in any log
    finally:
        varnish.stop()
        web.stop()
