"""Many web hosts sharing one snapshot store on S3 (moto_server), each with its own local folder.

Two gunicorn instances stand for two hosts. The refresh runs as the CLI does,
in a process of its own, and must return only once both hosts serve the new
snapshot; a host that is down is reported without holding the refresh, and a
host that does not follow the pointer makes the refresh put the old one back.
Each test starts its own two hosts over its own prefix of the bucket, so the tests
run alone or in any order.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import replace
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from app.config import Settings
from etl.generate import generate_export
from etl.propagate import web_timeout
from etl.snapshot_s3 import S3Snapshots
from tests.support import services
from tests.support.credentials import ADMIN_KEY as KEY

pytestmark = pytest.mark.services

BUCKET = "shared-snapshots"
URL = f"s3://{BUCKET}/dataviz"
POLL = 1.0
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Hosts:
    url: str  # the snapshot store on S3 (its own prefix of BUCKET)
    env: dict[str, str]  # the ETL's environment
    tmp: Path
    web: dict[str, services.Service]
    host_env: dict[str, dict[str, str]]
    logs: Path

    def start(self, name: str, **extra: str) -> services.Service:
        port = self.web[name].port if name in self.web else None  # a restarted host keeps its URL
        self.web[name] = services.start_gunicorn(self.logs, {**self.host_env[name], **extra}, workers=2, port=port)
        return self.web[name]


def served(base: str) -> str | None:
    try:
        with _opener.open(urllib.request.Request(base + "/api/v1/meta", headers={"Authorization": f"Bearer {KEY}"}),
                          timeout=10) as response:
            return json.loads(response.read())["version"]
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"


def versions_served(base: str, n: int = 24) -> set[str]:
    with ThreadPoolExecutor(4) as pool:
        return set(pool.map(lambda _: served(base), range(n)))


def etl(hosts: Hosts, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "etl", *args], cwd=services.REPO, capture_output=True, text=True,
                          env={**os.environ, **hosts.env, **env}, timeout=180)


@pytest.fixture(scope="module")
def exports(moto, tmp_path_factory) -> Path:
    """The bucket, and one export that every test's ETL reads (never written to)."""
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    root = tmp_path_factory.mktemp("s3-exports")
    generate_export(str(root), events=6000, tenants=4, seed=8, end_date=dt.date(2026, 10, 31), days=60)
    return root


@pytest.fixture()
def hosts(moto, exports, service_logs, tmp_path, request):
    """Two hosts of this test's own: an empty prefix on S3, nothing published, both up and not ready."""
    tmp = tmp_path
    url = f"{URL}/{request.node.name.lower().replace('_', '-')}"
    common = {**services.s3_env(moto), "DATAVIZ_SNAPSHOT_URL": url, "DATAVIZ_API_KEYS": f"{KEY}:admin",
              "DATAVIZ_SNAPSHOT_POLL_INTERVAL": str(POLL), "PYTHONPATH": str(services.REPO)}
    host_env = {name: {**common, "DATAVIZ_SNAPSHOT_DIR": str(tmp / name / "snapshots"),
                       "DATAVIZ_CACHE_DIR": str(tmp / name / "cache")} for name in ("a", "b")}
    h = Hosts(url=url, env={}, tmp=tmp, web={}, host_env=host_env, logs=service_logs)
    for name in ("a", "b"):
        h.start(name)
    h.env = {**common, "DATAVIZ_SOURCE": str(exports), "DATAVIZ_SNAPSHOT_DIR": str(tmp / "etl"),
             "DATAVIZ_CACHE_DIR": str(tmp / "etl-cache"),
             "DATAVIZ_WEB_URLS": ",".join(h.web[n].url for n in ("a", "b"))}
    yield h
    for service in h.web.values():
        service.stop()


def published_version(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("published snapshot "), done.stdout
    return first.split()[2]


def test_s3snap001_refresh_returns_once_every_host_serves_it(hosts):
    for service in hosts.web.values():  # nothing published yet: up, not ready
        assert served(service.url) == "HTTP 503"
    first = published_version(etl(hosts, "refresh"))
    remote = S3Snapshots(hosts.url)
    assert remote.live_version() == first and remote.versions() == [first]
    for service in hosts.web.values():
        assert versions_served(service.url) == {first}

    second = published_version(etl(hosts, "refresh", "--force"))
    assert second != first
    for name, service in hosts.web.items():  # no host answers from the old snapshot once the command is back
        assert versions_served(service.url) == {second}, name
        local = hosts.tmp / name / "snapshots"
        assert (local / "CURRENT").read_text().strip() == second
        assert not list(local.glob(".download-*"))
    report = json.loads((hosts.tmp / "etl" / second / "report.json").read_text())
    assert report["web"]["laggards"] == {} and report["web"]["unreachable"] == {}
    assert {"upload", "publish", "wait_web"} <= set(report["timings"])


def test_s3snap002_rollback_flips_the_pointer_on_every_host(hosts):
    published_version(etl(hosts, "refresh"))
    published_version(etl(hosts, "refresh", "--force"))
    remote = S3Snapshots(hosts.url)
    live, previous = remote.versions()[-1], remote.versions()[-2]
    done = etl(hosts, "rollback")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"rolled back: {live} → {previous} is live")
    assert remote.live_version() == previous
    for service in hosts.web.values():
        assert versions_served(service.url) == {previous}


def test_s3snap003_a_host_down_is_reported_without_holding_the_refresh(hosts):
    down = hosts.web["b"]
    down.stop()
    started = time.monotonic()
    done = etl(hosts, "refresh", "--force")
    new = published_version(done)
    assert time.monotonic() - started < web_timeout(Settings.from_env(hosts.env))
    assert f"web {down.url} unreachable" in done.stdout.splitlines()[0]
    assert versions_served(hosts.web["a"].url) == {new}


def test_s3snap004_a_host_that_does_not_follow_makes_the_refresh_put_the_old_one_back(hosts):
    live = published_version(etl(hosts, "refresh"))
    assert S3Snapshots(hosts.url).live_version() == live
    hosts.web["b"].stop()
    lagging = hosts.start("b", DATAVIZ_SNAPSHOT_POLL_INTERVAL="3600")  # looks once, at start, then never again
    deadline = time.monotonic() + 30
    while served(lagging.url) != live:
        assert time.monotonic() < deadline, "the restarted host did not load the live snapshot"
        time.sleep(0.2)
    done = etl(hosts, "refresh", "--force", DATAVIZ_WEB_TIMEOUT="2")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "web workers did not serve" in done.stdout and lagging.url in done.stdout
    assert done.stdout.splitlines()[0].endswith(f"{live} is live again")
    assert S3Snapshots(hosts.url).live_version() == live
    assert versions_served(hosts.web["a"].url) == {live}
    assert versions_served(lagging.url) == {live}


def test_s3snap005_web_timeout_counts_the_poll_interval():
    assert web_timeout(Settings(web_timeout=30.0)) == 30.0
    assert web_timeout(Settings(web_timeout=30.0, snapshot_url=URL, snapshot_poll_interval=15.0)) == 45.0


def test_s3snap006_an_s3_snapshot_dir_means_the_s3_store():
    settings = Settings.from_env({"DATAVIZ_SNAPSHOT_DIR": URL})
    assert (settings.snapshot_url, settings.snapshot_dir) == (URL, Settings.snapshot_dir)
    both = Settings.from_env({"DATAVIZ_SNAPSHOT_DIR": "/srv/snap", "DATAVIZ_SNAPSHOT_URL": URL})
    assert (both.snapshot_url, both.snapshot_dir) == (URL, "/srv/snap")
    # the same from the command line (`--snapshot-dir s3://...` replaces the environment's folder)
    cli = replace(Settings.from_env({}), snapshot_dir=URL)
    assert (cli.snapshot_url, cli.snapshot_dir) == (URL, Settings.snapshot_dir)
