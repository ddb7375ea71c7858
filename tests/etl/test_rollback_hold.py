"""A rollback holds while the watcher runs: real ``python -m etl watch``, ``rollback`` and ``refresh`` processes.

On ``main`` before the fix, the watcher republished the export it had just been
rolled back from at its next tick (13 s after ``etl rollback`` in ``make stack``).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from etl import snapshot_format as snapshots
from tests.support.exports import write_export

ROOT = Path(__file__).resolve().parents[2]
INTERVAL = 0.2


def _wait(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _etl(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "etl", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def _rollback(env: dict) -> subprocess.CompletedProcess:
    """``etl rollback``, run again while a watcher tick holds the lock (it exits "busy" then, as documented)."""
    deadline = time.monotonic() + 30
    while (done := _etl(env, "rollback")).stdout.startswith("cannot roll back now: another refresh is running"):
        assert time.monotonic() < deadline, "the watcher never let go of the lock"
        time.sleep(0.05)
    return done


def _export_date(snap: Path) -> str:
    return snapshots.read_manifest(snap, snapshots.live_version(snap))["export"]["date"]


def test_hold001_a_rollback_holds_until_a_newer_export_or_force(tmp_path):
    src, snap = tmp_path / "src", tmp_path / "snap"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATAVIZ_SOURCE": str(src), "DATAVIZ_SNAPSHOT_DIR": str(snap),
           "DATAVIZ_CACHE_DIR": str(tmp_path / "cache")}
    write_export(src, date="2026-11-01")
    assert _etl(env, "refresh").returncode == 0
    first = snapshots.live_version(snap)
    write_export(src, date="2026-11-02")
    log = open(tmp_path / "watch.log", "wb")
    watcher = subprocess.Popen([sys.executable, "-m", "etl", "watch", "--interval", str(INTERVAL)], cwd=ROOT,
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait(lambda: snapshots.live_version(snap) != first)
        bad = snapshots.live_version(snap)
        assert _export_date(snap) == "2026-11-02"

        done = _rollback(env)
        assert done.returncode == 0 and f"{bad} → {first} is live" in done.stdout, done.stdout + done.stderr
        time.sleep(20 * INTERVAL)  # twenty ticks of the watcher
        assert snapshots.live_version(snap) == first
        assert sorted(snapshots.versions(snap)) == sorted({first, bad})  # nothing published meanwhile

        by_hand = _etl(env, "refresh")  # the same export, by hand, without --force: held too
        assert by_hand.returncode == 0 and by_hand.stdout.startswith("held: export 2026-11-02 was rolled back"), \
            by_hand.stdout + by_hand.stderr
        assert snapshots.live_version(snap) == first

        write_export(src, date="2026-11-03")  # a newer export: published, and the hold is released
        _wait(lambda: _export_date(snap) == "2026-11-03")
        newer = snapshots.live_version(snap)

        done = _rollback(env)  # rolled back again, then the operator overrides it
        assert done.returncode == 0 and snapshots.live_version(snap) == bad
        time.sleep(10 * INTERVAL)
        assert snapshots.live_version(snap) == bad
        forced = _etl(env, "refresh", "--force")
        assert forced.returncode == 0 and forced.stdout.startswith("published"), forced.stdout + forced.stderr
        assert _export_date(snap) == "2026-11-03" and snapshots.live_version(snap) != newer
        assert not (snap / "rollback-hold.json").exists()
    finally:
        watcher.send_signal(signal.SIGTERM)
        assert watcher.wait(timeout=30) == 0
        log.close()
    assert "refresh held: held: export 2026-11-02 was rolled back" in (tmp_path / "watch.log").read_text()
