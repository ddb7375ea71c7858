"""Erasure end to end, every service real and on loopback: gunicorn (2 workers), Redis app cache, Varnish
(deploy/varnish/default.vcl), the DELETE route starting a real ``python -m etl forget``; and with the
snapshots on S3 (moto_server).

The export is a generated one with one learner added (``tests.support.exports.add_learner``),
under an id found nowhere else, so "nothing holds the learner" is a search of bytes.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
import redis

from app import queries
from app.config import Settings
from app.snapshot_sync import SnapshotSync
from app.store import load_snapshot
from etl import snapshot_format as snapshots
from etl.forget import forget
from etl.generate import generate_export
from etl.refresh import refresh_with_settings, run_refresh
from tests.support import services
from tests.support.credentials import ADMIN_KEY, ALL_KEY, ERASURE_KEY, api_keys
from tests.support.exports import add_learner, tenants_of

pytestmark = pytest.mark.services
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
USER = "erase-me-e2e-4b1d"


def call(base: str, path: str, key: str | None = ALL_KEY, method: str = "GET"):
    """(status, headers, parsed JSON body or None)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    request = urllib.request.Request(base + path, method=method, headers=headers)
    try:
        with OPENER.open(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"null")


def naming(root: Path) -> list[str]:
    return sorted(str(p) for p in root.rglob("*") if p.is_file() and USER.encode() in p.read_bytes())


def test_erase001_delete_route_erases_everywhere_and_purges_varnish_and_redis(service_logs, tmp_path):
    src, snap = tmp_path / "src", tmp_path / "snap"
    generate_export(str(src), events=3000, tenants=3, seed=8, end_date=dt.date(2026, 10, 31), days=60)
    tenant = tenants_of(src / "2026-11-01")[0]
    add_learner(src / "2026-11-01", tenant, USER)
    assert run_refresh(str(src), snap).outcome == "published"
    before = snapshots.live_version(snap)
    cache = services.start_redis(service_logs)
    store = redis.Redis(port=cache.port)
    web_port, varnish_port = services.free_port(), services.free_port()
    env = {"DATAVIZ_SOURCE": str(src), "DATAVIZ_SNAPSHOT_DIR": str(snap),
           "DATAVIZ_CACHE_REDIS_URL": f"redis://127.0.0.1:{cache.port}/0",
           "DATAVIZ_API_KEYS": ",".join(api_keys()), "DATAVIZ_WEB_URLS": f"http://127.0.0.1:{web_port}",
           "DATAVIZ_VARNISH_URLS": f"http://127.0.0.1:{varnish_port}",
           "DATAVIZ_PURGE_TOKEN": services.SUITE_PURGE_TOKEN, "DATAVIZ_ERASURE_KEY": ERASURE_KEY}
    web = services.start_gunicorn(service_logs, env, workers=2, port=web_port)
    varnish = services.start_varnish(service_logs, web_port, port=varnish_port)
    try:
        path = f"/api/v1/tenants/{tenant}/kpis?from=2026-08-01&to=2026-10-31"  # the learner's days included
        status, headers, cached = call(varnish.url, path)
        assert (status, headers["X-Cache"], cached["snapshot"]) == (200, "MISS", before)
        assert call(varnish.url, path)[1]["X-Cache"] == "HIT"
        one = f"/api/v1/tenants/{tenant}/learners/{USER}"
        listed = f"/api/v1/tenants/{tenant}/learners?limit=1000&from=2026-08-01&to=2026-10-31"
        assert call(varnish.url, one)[0] == 200
        assert USER in json.dumps(call(varnish.url, listed)[2])
        cache_keys = set(store.keys())
        assert cache_keys and naming(snap)  # the learner is in the snapshot and the report, answers are cached

        delete = f"/api/v1/tenants/{tenant}/learners/{USER}"
        assert call(varnish.url, delete, key=ALL_KEY, method="DELETE")[0] == 403
        assert call(varnish.url, delete, key=None, method="DELETE")[0] == 401
        status, headers, body = call(varnish.url, delete, key=ADMIN_KEY, method="DELETE")
        assert (status, headers["Location"], body["status"]) == (202, "/api/v1/refresh/status", "started")

        deadline = time.monotonic() + 180
        while True:
            state = call(varnish.url, "/api/v1/refresh/status", key=ADMIN_KEY)[2]
            report = state["last_report"] or {}
            if report.get("outcome") == "erased" and state["running"] is False:
                break
            assert time.monotonic() < deadline, state
            time.sleep(0.3)
        after = report["live"]
        assert after != before and report["learners_found"] == 1
        assert report["propagated"]["app_cache"]["ok"] and report["propagated"]["purge"]["hosts"][0]["ok"]

        assert not cache_keys & set(store.keys())  # every entry of before is gone from Redis
        status, headers, fresh = call(varnish.url, path)
        assert (status, headers["X-Cache"], fresh.get("snapshot")) == (200, "MISS", after), fresh
        snapshot = load_snapshot(snap, after)
        expected = queries.kpis(snapshot, tenant, dt.date(2026, 8, 1), dt.date(2026, 10, 31), {})
        assert fresh["metrics"] == pytest.approx(expected)
        assert fresh["metrics"] != cached["metrics"]  # the learner's events no longer count
        assert call(varnish.url, one)[0] == 404
        status, _, page = call(varnish.url, listed)
        assert status == 200 and page["learners"] and USER not in json.dumps(page)
        assert naming(snap) == []
        assert not [k for k in store.keys() if USER.encode() in k + (store.get(k) or b"")]

        # the same export, refreshed again: the learner stays out
        again = run_refresh(str(src), snap, force=True, erasure_key=ERASURE_KEY)
        assert again.outcome == "published" and again.report["erased"]["activity_rows"] == 5
        assert naming(snap) == []
    finally:
        for service in (varnish, web, cache):
            service.stop()


def s3_objects(s3, bucket: str) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def test_erase002_with_snapshots_on_s3_the_replaced_versions_are_gone_from_s3_and_the_web_hosts(moto, tmp_path):
    src, snap, bucket = tmp_path / "src", tmp_path / "snap", "erasure-snapshots"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    generate_export(str(src), events=3000, tenants=3, seed=8, end_date=dt.date(2026, 10, 31), days=60)
    tenant = tenants_of(src / "2026-11-01")[0]
    add_learner(src / "2026-11-01", tenant, USER)
    settings = Settings.from_env({}, source=str(src), snapshot_dir=str(snap), snapshot_url=f"s3://{bucket}/dv",
                                 cache_dir=str(tmp_path / "cache"), erasure_key=ERASURE_KEY,
                                 snapshot_poll_interval=0.5)  # no web host to wait for
    host = SnapshotSync(settings.snapshot_url, tmp_path / "web-host", interval=60)  # a web host's own folder
    assert refresh_with_settings(settings).outcome == "published"
    host.sync_once()
    shutil.copytree(src / "2026-11-01", src / "2026-11-02")
    assert refresh_with_settings(settings).outcome == "published"
    host.sync_once()
    assert len(snapshots.versions(tmp_path / "web-host")) == 2 and naming(tmp_path / "web-host")
    before = s3_objects(s3, bucket)
    assert [k for k, body in before.items() if USER.encode() in body]

    result, receipt = forget(settings, tenant, [USER])

    assert result.outcome == "erased", result.message
    assert [v["action"] for v in receipt.versions] == ["republished", "republished"]
    after = s3_objects(s3, bucket)
    assert [k for k, body in after.items() if USER.encode() in body] == []
    assert after["dv/CURRENT"].decode().strip() == receipt.live == receipt.versions[-1]["replaced_by"]
    assert sorted({k.split("/")[1] for k in after if k != "dv/CURRENT"}) == [v["replaced_by"]
                                                                           for v in receipt.versions]
    assert naming(snap) == []
    assert host.sync_once() == receipt.live
    assert snapshots.versions(tmp_path / "web-host") == [receipt.live] and naming(tmp_path / "web-host") == []
