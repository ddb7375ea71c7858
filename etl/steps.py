"""What every refresh and rollback runs under: the one-at-a-time lock, and the step timer.

Only one refresh (or rollback) runs at a time: an ``flock`` on
``<snapshot root>/.refresh.lock`` (``etl.snapshot_format.LOCK_FILE``), which the
kernel releases when the process dies, so a crashed refresh never leaves it
held. ``Steps`` times each named step for the report, remembers which one was
running when something failed, and offers each a pause point (``etl.pause``)
for the crash tests.
"""
from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path

from etl.errors import RefreshBusy
from etl.pause import pause_point
from etl.snapshot_format import LOCK_FILE


@contextmanager
def refresh_lock(root: Path, wait: bool = False):
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError as exc:
            raise RefreshBusy("another refresh is running") from exc
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            pass  # the PID is a courtesy for people; the lock is the flock, and a full disk must not stop a refresh
        yield
    finally:
        os.close(fd)


class Steps:
    """Times each step for the report and remembers which one was running."""

    def __init__(self):
        self.timings: dict[str, float] = {}
        self.current: str | None = None

    @contextmanager
    def __call__(self, name: str):
        self.current = name
        pause_point(name)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - start, 3)
