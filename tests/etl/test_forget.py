"""Erasure in the ETL (``etl.forget``, ``etl.erasure``): real exports, real refreshes, the bytes of every file.

Three exports (September, October, November) of one generated history, each
with one learner added (``tests.support.exports.add_learner``: activity rows
of every event type, a ``users.csv`` row and a malformed line that a report
quotes). They are refreshed in turn, so the snapshot root keeps three versions;
September's export is then deleted from the source, as an LMS does with old
exports.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from distributed import Client, LocalCluster

from app import refresh_trigger
from app.config import Settings
from etl import snapshot_format as snapshots
from etl.dask_engine import DaskEngine
from etl.erasure import ERASED_FILE, learner_hash
from etl.forget import forget
from etl.generate import generate_export
from etl.refresh import refresh_with_settings, run_refresh
from tests.support.credentials import ERASURE_KEY
from tests.support.exports import LEARNER_EVENTS, add_learner
from tests.support.services import REPO

TENANT, USER = "hooli", "erase-me-7f3a9c"  # hooli: a tenant of the generated export
KEY = ERASURE_KEY
DATES = ("2026-09-01", "2026-10-01", "2026-11-01")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("base")
    generate_export(str(out), events=3000, tenants=3, seed=5, end_date=dt.date(2026, 8, 31), days=60)
    return out / "2026-09-01"


def add_export(base: Path, source: Path, date: str, with_learner: bool = True) -> Path:
    folder = source / date
    shutil.copytree(base, folder)
    if with_learner:
        add_learner(folder, TENANT, USER)
    return folder


def settings(tmp: Path, **overrides) -> Settings:
    return Settings.from_env({}, source=str(tmp / "src"), snapshot_dir=str(tmp / "snap"),
                             cache_dir=str(tmp / "cache"), **{"erasure_key": KEY, **overrides})


def files_naming(root: Path, text: str = USER) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and text.encode() in p.read_bytes())


@pytest.fixture()
def three_versions(base, tmp_path) -> Settings:
    """Three versions, one per export, the November one live; September's export deleted since."""
    s = settings(tmp_path)
    for date in DATES:
        add_export(base, tmp_path / "src", date)
        assert refresh_with_settings(s).outcome == "published"
    shutil.rmtree(tmp_path / "src" / DATES[0])
    return s


def frames(root: Path, version: str) -> dict:
    return {name: snapshots.map_frame(root, version, name) for name in snapshots.FRAME_NAMES}


def test_forget001_versions_republished_or_deleted_and_nothing_names_the_learner(three_versions, base, tmp_path):
    s, root = three_versions, tmp_path / "snap"
    before = snapshots.versions(root)
    live = snapshots.live_version(root)
    assert len(before) == 3 and live == before[-1]
    named = files_naming(root)
    assert any(name.endswith("users.arrow") for name in named) and any("reports/" in name for name in named)

    result, receipt = forget(s, TENANT, [USER])

    assert (result.outcome, result.exit_code) == ("erased", 0)
    assert files_naming(root) == []
    after = snapshots.versions(root)
    actions = {v["version"]: v for v in receipt.versions}
    assert actions[before[0]]["action"] == "deleted"
    for old in before[1:]:
        entry = actions[old]
        assert entry["action"] == "republished" and entry["events_removed"] == LEARNER_EVENTS
        assert entry["users_rows_removed"] == 1
        assert entry["replaced_by"][:16] == old[:16]  # same place in the order: rollback and retention
    assert after == [actions[v]["replaced_by"] for v in before[1:]]
    assert snapshots.live_version(root) == receipt.live == after[-1]
    assert receipt.learners == receipt.learners_found == 1
    assert receipt.reports_scrubbed["examples"] >= 1
    assert receipt.propagated["app_cache"]["ok"]
    stored = json.loads(result.report_path.read_text())
    assert stored["outcome"] == "erased" and stored["tenant"] == TENANT and USER not in json.dumps(stored)

    # the numbers of everyone else: equal to a refresh of the same export with the learner's rows removed by hand
    by_hand = settings(tmp_path / "by-hand")
    add_export(base, tmp_path / "by-hand" / "src", DATES[-1], with_learner=False)
    assert refresh_with_settings(by_hand).outcome == "published"
    reference = snapshots.live_version(tmp_path / "by-hand" / "snap")
    ours, theirs = frames(root, after[-1]), frames(tmp_path / "by-hand" / "snap", reference)
    for name in snapshots.FRAME_NAMES:
        assert ours[name].equals(theirs[name]), name
    manifest = snapshots.read_manifest(root, after[-1])
    assert TENANT in manifest["tenant_digests"]  # the tenant's other learners are still there
    assert manifest["tenant_digests"] == snapshots.read_manifest(tmp_path / "by-hand" / "snap",
                                                                 reference)["tenant_digests"]


def test_forget002_a_later_refresh_of_the_same_export_keeps_them_out(three_versions, tmp_path):
    s, root = three_versions, tmp_path / "snap"
    forget(s, TENANT, [USER])

    again = refresh_with_settings(s, force=True)

    assert again.outcome == "published"
    assert again.report["erased"] == {"activity_rows": LEARNER_EVENTS, "users_rows": 1, "examples": 1}
    assert again.report["rows_rejected"] == 1  # the malformed line: counted, no longer quoted
    assert files_naming(root) == []
    users = snapshots.map_frame(root, again.version, "users").column("user_id").to_pylist()
    assert USER not in users and len(users) > 10


def test_forget003_erased_list_holds_keyed_hashes_only(three_versions, tmp_path):
    s, root = three_versions, tmp_path / "snap"
    forget(s, TENANT, [USER, "never-seen-id"])
    stored = json.loads((root / ERASED_FILE).read_text())
    assert sorted(stored["learners"][TENANT]) == sorted([learner_hash(KEY.encode(), TENANT, USER),
                                                         learner_hash(KEY.encode(), TENANT, "never-seen-id")])
    assert USER not in (root / ERASED_FILE).read_text() and "never-seen" not in (root / ERASED_FILE).read_text()


def test_forget004_an_unknown_learner_is_recorded_and_changes_no_version(three_versions, tmp_path):
    s, root = three_versions, tmp_path / "snap"
    before = snapshots.versions(root)
    result, receipt = forget(s, TENANT, ["never-seen-id"])
    assert (result.outcome, receipt.learners, receipt.learners_found, receipt.versions) == ("erased", 1, 0, [])
    assert snapshots.versions(root) == before


@pytest.mark.parametrize("key, says", [(None, "DATAVIZ_ERASURE_KEY is not set"),
                                       ("short-key", "at least 32 bytes")])
def test_forget005_refuses_without_a_strong_key(three_versions, tmp_path, key, says):
    root = tmp_path / "snap"
    before = snapshots.versions(root), snapshots.live_version(root)
    result, _ = forget(settings(tmp_path, erasure_key=key), TENANT, [USER])
    assert (result.outcome, result.exit_code) == ("refused", 2) and says in result.message
    assert KEY not in result.message
    assert (snapshots.versions(root), snapshots.live_version(root)) == before
    assert not (root / ERASED_FILE).exists()


@pytest.mark.parametrize("key, says", [(None, "DATAVIZ_ERASURE_KEY is not set"),
                                       ("another-key-" + "x" * 32, "not the key")])
def test_forget006_a_refresh_refuses_an_erased_list_it_cannot_read(three_versions, tmp_path, key, says):
    s, root = three_versions, tmp_path / "snap"
    forget(s, TENANT, [USER])
    live = snapshots.live_version(root)
    result = refresh_with_settings(settings(tmp_path, erasure_key=key), force=True)
    assert (result.outcome, result.exit_code) == ("refused", 2) and says in result.message
    assert snapshots.live_version(root) == live and files_naming(root) == []


def test_forget007_the_command_line_refuses_without_the_key_and_prints_a_receipt(three_versions, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "DATAVIZ_SOURCE": str(tmp_path / "src"),
           "DATAVIZ_SNAPSHOT_DIR": str(tmp_path / "snap"), "DATAVIZ_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("DATAVIZ_ERASURE_KEY", None)
    args = [sys.executable, "-m", "etl", "forget", "--tenant", TENANT, "--user", USER]
    refused = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "DATAVIZ_ERASURE_KEY is not set" in refused.stdout
    done = subprocess.run(args, cwd=REPO, env={**env, "DATAVIZ_ERASURE_KEY": KEY}, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    receipt = json.loads(done.stdout[:done.stdout.rindex("}") + 1])
    assert (receipt["outcome"], receipt["tenant"], receipt["learners"]) == ("erased", TENANT, 1)
    assert files_naming(tmp_path / "snap") == []
    nobody = subprocess.run(args[:-2] + ["--users-from", "-"], input="\n", cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=120)
    assert nobody.returncode == 2 and "no user id given" in nobody.stderr


def test_forget009_started_like_the_route_the_learner_is_not_in_the_process_list(three_versions, tmp_path):
    """The DELETE route's erasure reads the id from its standard input: ``ps`` shows every process's arguments."""
    s, root = three_versions, tmp_path / "snap"
    started = refresh_trigger.start_forget(s, TENANT, USER)
    assert started["status"] == "started"
    cmdline = Path(f"/proc/{started['pid']}/cmdline").read_bytes()  # the child is still importing: seconds
    assert b"forget" in cmdline and USER.encode() not in cmdline
    deadline = time.monotonic() + 300
    while refresh_trigger.refresh_running(root) is not False and time.monotonic() < deadline:
        time.sleep(0.2)
    report = refresh_trigger.last_report(root)
    assert (report["outcome"], report["learners"], report["learners_found"]) == ("erased", 1, 1)
    assert files_naming(root) == []


def test_forget008_the_dask_engine_keeps_them_out_too(three_versions, tmp_path):
    s, root = three_versions, tmp_path / "snap"
    forget(s, TENANT, [USER])
    live = snapshots.live_version(root)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=logging.WARNING) as cluster, Client(cluster) as client:
        result = run_refresh(s.source, root, force=True, engine=DaskEngine(client=client, block_size=64 << 10),
                             erasure_key=KEY)
    assert (result.outcome, result.report["engine"]) == ("published", "dask")
    assert result.report["erased"] == {"activity_rows": LEARNER_EVENTS, "users_rows": 1, "examples": 1}
    ours, pandas = frames(root, result.version), frames(root, live)
    for name in snapshots.FRAME_NAMES:
        assert ours[name].equals(pandas[name]), name
    assert files_naming(root) == []
