"""One refresh process per snapshot root from ``POST /api/v1/refresh`` (issue 13, item 14 and the operator notes).

A real gunicorn (3 workers, 4 threads each) answers parallel requests; the refresh it starts stops itself at
``validate`` (``DATAVIZ_PAUSE_AT``), so the test can count the ETL processes while it runs. On ``main`` before
the fix, ten parallel requests answered 202 and started ten processes, two requests 50 ms apart both started
one, and each truncated the running refresh's ``last-refresh.log``.
"""
from __future__ import annotations

import signal
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.support import services
from tests.support.credentials import ADMIN_KEY as ADMIN, api_keys
from tests.support.exports import write_export

pytestmark = pytest.mark.services
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def post(url: str) -> int:
    request = urllib.request.Request(url + "/api/v1/refresh", method="POST",
                                     headers={"Authorization": f"Bearer {ADMIN}"})
    try:
        with OPENER.open(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def refreshes(snap: Path) -> list[psutil.Process]:
    """The ``python -m etl refresh`` processes working on ``snap``."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "etl" in cmdline and "refresh" in cmdline and str(snap) in cmdline:
            found.append(proc)
    return found


def wait(predicate, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, what
        time.sleep(0.1)
    return value


def test_claim001_parallel_requests_start_one_process_and_never_truncate_its_log(service_logs, tmp_path):
    src, snap = tmp_path / "src", tmp_path / "snap"
    write_export(src, date="2026-11-01")
    web = services.start_gunicorn(service_logs, {
        "DATAVIZ_SOURCE": str(src), "DATAVIZ_SNAPSHOT_DIR": str(snap), "DATAVIZ_CACHE_DIR": str(tmp_path / "cache"),
        "DATAVIZ_API_KEYS": ",".join(api_keys()), "DATAVIZ_PAUSE_AT": "validate"}, workers=3)
    started: list[psutil.Process] = []
    try:
        barrier = threading.Barrier(10)
        statuses: list[int] = []

        def one():
            barrier.wait()
            statuses.append(post(web.url))

        threads = [threading.Thread(target=one) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        started = refreshes(snap)
        assert sorted(statuses) == [202] + [409] * 9, statuses
        paused = wait(lambda: [p for p in refreshes(snap) if p.status() == psutil.STATUS_STOPPED],
                      "the refresh never reached validate")
        time.sleep(1.0)  # a second process would have started by now
        started = refreshes(snap)
        assert len(started) == 1 and started == paused, [p.cmdline() for p in started]

        log = snap / "last-refresh.log"
        before = wait(lambda: log.read_bytes() if b"paused at validate" in log.read_bytes() else None,
                      "the running refresh's log")
        inode = log.stat().st_ino
        first = post(web.url)
        time.sleep(0.05)
        assert (first, post(web.url)) == (409, 409)  # two requests 50 ms apart
        assert log.read_bytes() == before and log.stat().st_ino == inode
        assert refreshes(snap) == started

        started[0].send_signal(signal.SIGCONT)  # the refresh goes on, publishes and exits: the claim is free
        started[0].wait(timeout=120)
        assert b"published snapshot" in log.read_bytes()
        assert post(web.url) == 202  # the next one starts (and finds the export up to date)
        wait(lambda: b"up to date" in log.read_bytes(), "the second refresh")
    finally:
        for proc in refreshes(snap):  # this test's own refreshes only: their command line names its folder
            proc.kill()
        web.stop()
