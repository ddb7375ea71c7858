"""The refresh chain in production shape, every service real and on loopback.

S3 (moto_server) → ETL → gunicorn (3 workers) → Redis app cache → Varnish
(deploy/varnish/default.vcl). The tests share one stack (the services), and each
starts from the same state (``chain``): only export 2026-11-01 in S3, published
anew, Varnish and the Redis app cache empty; so they run alone or in any order.
"""
from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import boto3
import psutil
import pytest
import redis

from app import queries
from app.config import Settings
from app.store import load_snapshot
from etl import snapshot_format as snapshots
from etl.errors import RefreshBusy
from etl.generate import generate_export
from etl.refresh import refresh_with_settings
from etl.steps import refresh_lock
from tests.support import services
from tests.support.credentials import ADMIN_KEY as ADMIN, ALL_KEY as READER, api_keys
from tests.support.s3 import upload_folder

pytestmark = pytest.mark.services

BUCKET = "chain-exports"
END = dt.date(2026, 10, 31)
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Stack:
    web: services.Service
    varnish: services.Service
    redis: redis.Redis
    settings: Settings
    env: dict[str, str]  # what `python -m etl` needs to run against this stack
    exports: Path  # the generated export (2026-11-01), as uploaded
    s3: object
    log_start: int = 0  # where this test's lines begin in gunicorn's access log

    @property
    def root(self) -> Path:
        return Path(self.settings.snapshot_dir)

    def upload(self, folder: Path) -> None:
        upload_folder(self.s3, BUCKET, "lms", folder)


def call(base: str, path: str, key: str | None = READER, method: str = "GET"):
    """(status, headers, parsed JSON body or None)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    request = urllib.request.Request(base + path, method=method, headers=headers)
    try:
        with _opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"null")


def reached_gunicorn(stack: Stack, path: str) -> int:
    """How many requests for ``path`` gunicorn logged.

    gunicorn writes its access line after the response: wait until at least one
    line is there, then a little longer, so a late line of a second request counts too.
    """
    def count() -> int:
        return stack.web.access_log.read_text()[stack.log_start:].count(f'"GET {path} ')

    deadline = time.monotonic() + 10
    while count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    return count()


def derive_export(base: Path, into: Path, date: str, extra: dict[str, int]) -> Path:
    """A copy of export ``base`` as of ``date`` in folder ``into``, with ``extra[tenant]`` more connections on
    its last day."""
    folder = into / date
    shutil.copytree(base, folder)
    activity = folder / "activity.csv.gz"
    rows = [f"x{date}-{tenant}-{i},{END}T12:00:00Z,{tenant},u-extra,connection,,,60"
            for tenant, n in extra.items() for i in range(n)]
    activity.write_bytes(gzip.compress(gzip.decompress(activity.read_bytes()) + ("\n".join(rows) + "\n").encode()))
    return folder


@pytest.fixture(scope="module")
def stack(moto, service_logs, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("chain")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    cache = services.start_redis(service_logs)
    redis_url = f"redis://127.0.0.1:{cache.port}/0"
    web_port, varnish_port = services.free_port(), services.free_port()
    env = {**services.s3_env(moto), "DATAVIZ_SOURCE": f"s3://{BUCKET}/lms",
           "DATAVIZ_SNAPSHOT_DIR": str(tmp / "snapshots"), "DATAVIZ_CACHE_REDIS_URL": redis_url,
           "DATAVIZ_API_KEYS": ",".join(api_keys()), "DATAVIZ_WEB_URLS": f"http://127.0.0.1:{web_port}",
           "DATAVIZ_VARNISH_URLS": f"http://127.0.0.1:{varnish_port}", "PYTHONPATH": str(services.REPO)}
    web = services.start_gunicorn(service_logs, env, workers=3, port=web_port)
    varnish = services.start_varnish(service_logs, web_port, port=varnish_port)
    generate_export(str(tmp / "exports"), events=12_000, tenants=5, seed=21, end_date=END, days=90)
    yield Stack(web, varnish, redis.Redis.from_url(redis_url), Settings.from_env(env), env, tmp / "exports", s3)
    for service in (varnish, web, cache):
        service.stop()


def ban_everything(varnish: services.Service) -> None:
    """Empty Varnish's cache: a BAN on every URL (loopback is among the VCL's purgers)."""
    request = urllib.request.Request(varnish.url + "/", method="BAN", headers={"X-Ban-Url": "."})
    with _opener.open(request, timeout=10) as response:
        assert response.status == 200


@pytest.fixture()
def chain(stack: Stack) -> Stack:
    """The stack as every test starts it: only export 2026-11-01 in S3, published anew (so the live snapshot
    and the one before it hold the same numbers), Varnish and the Redis app cache empty."""
    deadline = time.monotonic() + 90
    while True:  # a refresh the test before started (the webhook's) may still hold the lock
        try:
            with refresh_lock(stack.root):
                break
        except RefreshBusy:
            assert time.monotonic() < deadline, "a refresh of the test before never ended"
            time.sleep(0.2)
    listed = stack.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    if listed:
        stack.s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": o["Key"]} for o in listed]})
    stack.upload(stack.exports / "2026-11-01")
    result = refresh_with_settings(stack.settings, force=True)
    assert result.outcome == "published", result.message
    ban_everything(stack.varnish)
    stack.redis.flushdb()
    stack.log_start = len(stack.web.access_log.read_text())
    return stack


def expected_kpis(stack: Stack, version: str, tenant: str) -> dict:
    snapshot = load_snapshot(stack.root, version)
    start, end = queries.default_range(snapshot)
    return queries.kpis(snapshot, tenant, start, end, {})


def tenants(stack: Stack) -> list[str]:
    version = snapshots.live_version(stack.root)
    return sorted(snapshots.read_manifest(stack.root, version)["tenant_digests"])


def test_chain001_refresh_then_varnish_serves_and_keeps(chain, tmp_path):
    stack = chain
    stack.upload(derive_export(stack.exports / "2026-11-01", tmp_path, "2026-11-02", {tenants(stack)[-1]: 1}))
    result = refresh_with_settings(stack.settings)
    assert result.outcome == "published", result.message
    report = result.report
    assert report["web"]["laggards"] == {} and report["web"]["unreachable"] == {}
    assert report["app_cache"]["ok"] and report["purge"]["hosts"][0]["ok"]
    assert set(report["timings"]) == {"find", "validate", "transform", "write", "publish", "wait_web",
                                      "clear_cache", "purge"}

    tenant = tenants(stack)[0]
    path = f"/api/v1/tenants/{tenant}/kpis"
    status, headers, body = call(stack.varnish.url, path)
    assert (status, headers["X-Cache"], body["snapshot"]) == (200, "MISS", result.version)
    assert body["metrics"] == pytest.approx(expected_kpis(stack, result.version, tenant))
    again = call(stack.varnish.url, path)
    assert again[1]["X-Cache"] == "HIT" and again[2] == body
    assert reached_gunicorn(stack, path) == 1  # the HIT never reached gunicorn


def test_chain002_only_the_changed_tenant_is_purged(chain, tmp_path):
    stack = chain
    changed, kept = tenants(stack)[:2]
    old_changed = call(stack.varnish.url, f"/api/v1/tenants/{changed}/kpis")[2]
    kept_path = f"/api/v1/tenants/{kept}/kpis"
    kept_body = call(stack.varnish.url, kept_path)[2]
    assert call(stack.varnish.url, kept_path)[1]["X-Cache"] == "HIT"

    stack.upload(derive_export(stack.exports / "2026-11-01", tmp_path, "2026-11-02", {changed: 3}))
    result = refresh_with_settings(stack.settings)
    assert result.outcome == "published", result.message
    assert result.report["purge"]["reason"] == "1 of 5 tenants changed"
    assert result.report["purge"]["hosts"][0]["purged"] >= 1

    status, headers, body = call(stack.varnish.url, f"/api/v1/tenants/{changed}/kpis")
    assert (status, headers["X-Cache"], body["snapshot"]) == (200, "MISS", result.version)
    assert body["metrics"]["connections"] == old_changed["metrics"]["connections"] + 3
    assert body["metrics"] == pytest.approx(expected_kpis(stack, result.version, changed))
    status, headers, body = call(stack.varnish.url, kept_path)
    assert headers["X-Cache"] == "HIT" and body == kept_body  # same numbers, still cached
    assert body["metrics"] == pytest.approx(expected_kpis(stack, result.version, kept))
    assert reached_gunicorn(stack, kept_path) == 1


def _versions_served(stack: Stack, n: int) -> set[str]:
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: call(stack.web.url, "/api/v1/meta"), range(n)))
    assert {status for status, _, _ in answers} == {200}
    return {body["version"] for _, _, body in answers}


def test_chain003_every_worker_serves_the_new_snapshot_when_the_command_returns(chain):
    stack = chain
    assert len(psutil.Process(stack.web.pid).children()) == 3
    live = snapshots.live_version(stack.root)
    assert _versions_served(stack, 60) == {live}  # every worker holds the live snapshot
    done = subprocess.run([sys.executable, "-m", "etl", "refresh", "--force"], cwd=services.REPO,
                          env={**os.environ, **stack.env}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    new = snapshots.live_version(stack.root)
    assert new != live and done.stdout.startswith(f"published snapshot {new} ")
    assert _versions_served(stack, 90) == {new}


def test_chain004_a_broken_export_changes_nothing(chain, tmp_path):
    stack = chain
    tenant = tenants(stack)[0]
    path = f"/api/v1/tenants/{tenant}/kpis"
    live = snapshots.live_version(stack.root)
    cached = call(stack.varnish.url, path)
    call(stack.web.url, path)  # the app cache starts empty: fill it
    app_cache = set(stack.redis.keys("dataviz:*"))
    assert app_cache

    broken = tmp_path / "2026-11-03"
    broken.mkdir()
    (broken / "activity.csv.gz").write_bytes(gzip.compress(b"event_id,tenant_id\n1,acme\n"))
    (broken / "_SUCCESS").write_bytes(b"")
    stack.upload(broken)
    result = refresh_with_settings(stack.settings)
    assert result.outcome == "rejected" and result.report["failed_step"] == "validate"
    assert result.message == ("export rejected: activity.csv.gz: required columns missing: "
                              "occurred_at, user_id, event_type")
    assert snapshots.live_version(stack.root) == live
    status, headers, body = call(stack.varnish.url, path)
    assert headers["X-Cache"] == "HIT" and body == cached[2]
    assert set(stack.redis.keys("dataviz:*")) == app_cache
    with ThreadPoolExecutor(6) as pool:
        direct = list(pool.map(lambda _: call(stack.web.url, path), range(30)))
    assert {h["X-Dataviz-Snapshot"] for _, h, _ in direct} == {live}
    assert all(b["metrics"] == cached[2]["metrics"] for _, _, b in direct)


def test_chain005_redis_app_cache_is_shared_and_cleared_within_its_prefix(chain, tmp_path):
    stack = chain
    stack.redis.set("other-app:session", b"keep me")
    path = f"/api/v1/tenants/{tenants(stack)[1]}/kpis?from=2026-09-01&to=2026-10-31"
    keys_before = len(stack.redis.keys("dataviz:*"))
    hits_before = stack.redis.info("stats")["keyspace_hits"]
    with ThreadPoolExecutor(3) as pool:
        bodies = list(pool.map(lambda _: call(stack.web.url, path)[2], range(1)))
        bodies += list(pool.map(lambda _: call(stack.web.url, path)[2], range(24)))
    assert all(b == bodies[0] for b in bodies)
    assert len(stack.redis.keys("dataviz:*")) == keys_before + 1  # one shared entry, not one per worker
    assert stack.redis.info("stats")["keyspace_hits"] - hits_before >= 24  # read by whichever worker answered

    stack.upload(derive_export(stack.exports / "2026-11-01", tmp_path, "2026-11-04", {tenants(stack)[2]: 2}))
    result = refresh_with_settings(stack.settings)
    assert result.outcome == "published", result.message
    assert stack.redis.keys("dataviz:*") == []
    assert stack.redis.get("other-app:session") == b"keep me"


def test_chain006_webhook_starts_one_refresh(chain, tmp_path):
    stack = chain
    assert call(stack.web.url, "/api/v1/refresh", key=None, method="POST")[0] == 401
    assert call(stack.web.url, "/api/v1/refresh", key=READER, method="POST")[0] == 403
    live = snapshots.live_version(stack.root)
    stack.upload(derive_export(stack.exports / "2026-11-01", tmp_path, "2026-11-05", {tenants(stack)[3]: 1}))
    started = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    barrier = threading.Barrier(2)

    def post(_):
        barrier.wait()
        return call(stack.varnish.url, "/api/v1/refresh", key=ADMIN, method="POST")

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(post, range(2)))
    statuses = sorted(status for status, _, _ in answers)
    assert statuses[0] == 202 and statuses[1] in (202, 409), answers

    deadline = time.monotonic() + 90
    while True:
        try:
            with refresh_lock(stack.root):
                if snapshots.live_version(stack.root) != live:
                    break
        except RefreshBusy:
            pass
        assert time.monotonic() < deadline, "the webhook's refresh did not publish"
        time.sleep(0.2)
    reports = [json.loads(p.read_text()) for p in sorted((stack.root / "reports").glob("*.json"))
               if p.name > started]
    assert [r["outcome"] for r in reports] == ["published"]
    assert reports[0]["export"]["date"] == "2026-11-05" and reports[0]["purge"]["reason"] == "1 of 5 tenants changed"


def test_chain007_rollback_propagates_like_a_refresh(chain, tmp_path):
    stack = chain
    changed = tenants(stack)[3]
    stack.upload(derive_export(stack.exports / "2026-11-01", tmp_path, "2026-11-05", {changed: 1}))
    assert refresh_with_settings(stack.settings).outcome == "published"
    path = f"/api/v1/tenants/{changed}/kpis"
    live = snapshots.live_version(stack.root)
    newer = call(stack.varnish.url, path)[2]
    assert call(stack.varnish.url, path)[1]["X-Cache"] == "HIT"
    done = subprocess.run([sys.executable, "-m", "etl", "rollback"], cwd=services.REPO,
                          env={**os.environ, **stack.env}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    back = snapshots.live_version(stack.root)
    assert done.stdout.startswith(f"rolled back: {live} → {back} is live")
    status, headers, body = call(stack.varnish.url, path)
    assert headers["X-Cache"] == "MISS" and body["snapshot"] == back
    assert body["metrics"]["connections"] == newer["metrics"]["connections"] - 1
