"""A web host following the snapshots on S3 (moto_server) when S3 holds a damaged version (issue 13).

A real gunicorn follows ``DATAVIZ_SNAPSHOT_URL``; the ETL publishes a good
snapshot, then the S3 pointer is moved to a copy of it whose facts frame
keeps its size but lost its Arrow IPC footer. On ``main`` before the fix the
download compared sizes only: the host named the damaged version in its local
``CURRENT`` (its workers then refused it), and ``/metrics`` said nothing.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import boto3
import pytest

from app.snapshot_sync import SnapshotSync
from etl import snapshot_format as snapshots
from etl.snapshot_format import SnapshotError
from tests.support import services
from tests.support.credentials import ADMIN_KEY as KEY, api_keys
from tests.support.exports import write_export

pytestmark = pytest.mark.services
BUCKET = "sync-faults"
URL = f"s3://{BUCKET}/dataviz"
DAMAGED = "20991231T000000Z-dead"
FACTS_FILE = f"facts{snapshots.FRAME_SUFFIX}"
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(url: str, key: str | None = KEY) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with OPENER.open(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def gauge(web: services.Service) -> float | None:
    """``dataviz_snapshot_sync_failing`` on the host's /metrics, ``None`` when absent."""
    for line in get(web.url + "/metrics", key=None)[1].decode().splitlines():
        if line.startswith("dataviz_snapshot_sync_failing "):
            return float(line.split()[1])
    return None


def wait(predicate, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, what
        time.sleep(0.2)
    return value


def damaged_copy(s3, good: str) -> None:
    """``good`` copied under ``DAMAGED``: same sizes, but the facts frame's footer zeroed."""
    prefix = "dataviz/"
    for obj in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}{good}/")["Contents"]:
        name = obj["Key"].rsplit("/", 1)[1]
        body = s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
        if name == FACTS_FILE:
            body = body[:-64] + b"\0" * 64
        if name != "manifest.json":
            s3.put_object(Bucket=BUCKET, Key=f"{prefix}{DAMAGED}/{name}", Body=body)
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{prefix}{good}/manifest.json")["Body"].read())
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}{DAMAGED}/manifest.json", Body=json.dumps(manifest).encode())


def point(s3, version: str) -> None:
    s3.put_object(Bucket=BUCKET, Key="dataviz/CURRENT", Body=(version + "\n").encode())


def test_sync001_a_damaged_download_never_goes_live_and_the_gauge_says_so(moto, service_logs, tmp_path):

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    write_export(tmp_path / "exports", date="2026-11-01")
    common = {**services.s3_env(moto), "DATAVIZ_SNAPSHOT_URL": URL, "PYTHONPATH": str(services.REPO)}
    done = subprocess.run([sys.executable, "-m", "etl", "refresh"], cwd=services.REPO, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **common, "DATAVIZ_SOURCE": str(tmp_path / "exports"),
                                            "DATAVIZ_SNAPSHOT_DIR": str(tmp_path / "etl")})
    assert done.returncode == 0, done.stdout + done.stderr
    good = done.stdout.split()[2]
    local = tmp_path / "host"
    web = services.start_gunicorn(service_logs, {**common, "DATAVIZ_SNAPSHOT_DIR": str(local),
                                                 "DATAVIZ_CACHE_DIR": str(tmp_path / "cache"),
                                                 "DATAVIZ_API_KEYS": ",".join(api_keys()),
                                                 "DATAVIZ_SNAPSHOT_POLL_INTERVAL": "0.3"}, workers=1)
    try:
        wait(lambda: json.loads(get(web.url + "/api/v1/meta")[1]).get("version") == good, "the host serves it")
        assert gauge(web) == 0

        damaged_copy(s3, good)
        point(s3, DAMAGED)
        wait(lambda: gauge(web) == 1, "dataviz_snapshot_sync_failing never went to 1")
        assert snapshots.live_version(local) == good  # never named in the host's CURRENT
        assert not (local / DAMAGED).exists() and not list(local.glob(".download-*"))
        assert json.loads(get(web.url + "/api/v1/meta")[1])["version"] == good
        status, body = get(web.url + "/readyz", key=None)
        assert json.loads(body)["status"] == "degraded", body

        point(s3, good)  # the operator puts the good one back: the next look at S3 succeeds
        wait(lambda: gauge(web) == 0, "dataviz_snapshot_sync_failing never went back to 0")
    finally:
        web.stop()

    sync = SnapshotSync(URL, tmp_path / "other-host", interval=60)  # the same check, directly: the reason
    point(s3, DAMAGED)
    with pytest.raises(SnapshotError, match=f"cannot read {FACTS_FILE}"):
        sync.sync_once()
    assert snapshots.live_version(tmp_path / "other-host") is None
