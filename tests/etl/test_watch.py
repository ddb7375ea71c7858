"""``python -m etl watch`` as a process: refreshes on new exports, skips a rejected one, stops on SIGTERM."""
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


def _wait(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_watch001_new_exports_rejects_and_sigterm(tmp_path):
    src, snap = tmp_path / "src", tmp_path / "snap"
    write_export(src)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATAVIZ_SOURCE": str(src), "DATAVIZ_SNAPSHOT_DIR": str(snap),
           "DATAVIZ_CACHE_DIR": str(tmp_path / "cache")}
    log = open(tmp_path / "watch.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "etl", "watch", "--interval", "0.2"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait(lambda: snapshots.live_version(snap) is not None)
        first = snapshots.live_version(snap)
        write_export(src, date="2026-11-02")
        _wait(lambda: snapshots.live_version(snap) != first)
        second = snapshots.live_version(snap)
        assert snapshots.read_manifest(snap, second)["export"]["date"] == "2026-11-02"

        write_export(src, date="2026-11-03", activity=b"not,a,valid\nexport\n")
        reports = lambda: sorted((snap / "reports").glob("*-2026-11-03.json"))  # noqa: E731
        _wait(lambda: len(reports()) == 1)
        time.sleep(1.0)  # five more ticks: the rejected export is not read again
        assert len(reports()) == 1 and snapshots.live_version(snap) == second
    finally:
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=15)
        log.close()
    assert code == 0 and time.monotonic() - started < 5
    text = (tmp_path / "watch.log").read_text()
    assert text.count("refresh rejected: export rejected") == 1
    assert "watch: SIGTERM received" in text and text.rstrip().endswith("watch: stopped")
