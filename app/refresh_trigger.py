"""Starting a refresh or an erasure from the API, and telling how they went.

A refresh is ``python -m etl refresh`` (an erasure ``python -m etl forget``,
which takes the same locks) started as a detached process (its own
session, so restarting the web worker does not kill it). One at a time per
snapshot root, decided before anything is spawned: the request takes a
``flock`` on ``<snapshot_dir>/.refresh-trigger.lock`` (across the threads and
workers of the host) and hands that open file to the child, so the
claim lasts exactly as long as the child process, and the kernel releases it
when the child exits, however it ends. A request that finds it taken, or the
ETL's own lock held (a watcher tick, a refresh by hand), starts nothing and
leaves ``last-refresh.log`` alone. Before this, the ETL's lock stopped the
work but not the processes: ten parallel requests started ten, and each
truncated the running one's log. What happened is read back from the
reports the ETL keeps in ``<snapshot_dir>/reports/``.
"""
from __future__ import annotations

import collections
import fcntl
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from app.config import Settings
from etl.snapshot_format import LOCK_FILE

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOG_NAME = "last-refresh.log"
CLAIM_FILE = ".refresh-trigger.lock"  # held by the refresh process a request started, for its whole life


def refresh_running(root: Path) -> bool | None:
    """Whether a refresh runs: a process holds the ETL's lock or a request's claim (``None``: cannot tell)."""
    held = [_held(root / name) for name in (LOCK_FILE, CLAIM_FILE)]
    return True if True in held else None if None in held else False


def _held(path: Path) -> bool | None:
    """Whether a process holds a ``flock`` on ``path``, without taking it (``None``: cannot tell).

    Probing with ``flock`` would, for an instant, make a refresh starting at
    the same moment fail as busy; ``/proc/locks`` lists the holders instead.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    wanted = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        with open("/proc/locks") as fh:
            return any(fields[1] == "FLOCK" and wanted in fields
                       for fields in (line.split() for line in fh) if len(fields) > 5)
    except OSError:
        return None


def _claim(root: Path) -> int | None:
    """An open descriptor holding the trigger's ``flock``, or ``None`` when a started refresh still holds it."""
    fd = os.open(root / CLAIM_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def start_refresh(settings: Settings) -> dict:
    """Start ``python -m etl refresh`` in the background: ``{"status": "started" | "running"}``."""
    return _start(settings, ["refresh", "--source", settings.source, "--snapshot-dir", settings.snapshot_dir])


def start_forget(settings: Settings, tenant: str, user_id: str) -> dict:
    """Start ``python -m etl forget`` for one learner, like a refresh; its receipt is the next report."""
    return _start(settings, ["forget", f"--tenant={tenant}", "--users-from=-", "--source", settings.source,
                             "--snapshot-dir", settings.snapshot_dir], stdin=f"{user_id}\n".encode())


def _start(settings: Settings, etl_args: list[str], stdin: bytes = b"") -> dict:
    """Start ``python -m etl <etl_args>`` detached, unless a refresh or an erasure runs; ``stdin`` is written to
    its standard input (the learner to forget: arguments are visible to every local user in ``ps``)."""
    root = Path(settings.snapshot_dir)
    root.mkdir(parents=True, exist_ok=True)
    claim = _claim(root)
    if claim is None:
        return {"status": "running"}
    try:
        if _held(root / LOCK_FILE):  # a watcher tick or a refresh by hand: its process is not ours to add to
            return {"status": "running"}
        env = {**os.environ, "DATAVIZ_MAX_REJECT_RATIO": str(settings.max_reject_ratio),
               "DATAVIZ_MAX_EXPORT_BYTES": str(settings.max_export_bytes),
               **({"DATAVIZ_ERASURE_KEY": settings.erasure_key} if settings.erasure_key else {})}
        with open(root / LOG_NAME, "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "etl", *etl_args],
                cwd=PROJECT_ROOT, env=env, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, close_fds=True, pass_fds=(claim,))  # the child holds the claim
        with proc.stdin:  # a few bytes: within the pipe's buffer, so this does not wait for the child
            proc.stdin.write(stdin)
    finally:
        os.close(claim)  # ours only: the child's copy of the descriptor keeps the lock until it exits
    threading.Thread(target=proc.wait, name=f"reap-{etl_args[0]}-{proc.pid}", daemon=True).start()  # no zombie
    return {"status": "started", "pid": proc.pid}


def _report_paths(root: Path) -> list[Path]:
    folder = root / "reports"
    return sorted(folder.glob("*.json")) if folder.is_dir() else []  # names start with a UTC stamp


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # pruned or being written meanwhile


def last_report(root: Path) -> dict | None:
    """The newest refresh report, with its file name."""
    for path in reversed(_report_paths(root)):
        report = _read(path)
        if report is not None:
            return {"file": path.name, **report}
    return None


def outcome_counts(root: Path) -> dict[str, int]:
    """Refresh outcomes over the kept reports (the ETL keeps the last 50)."""
    counts = collections.Counter((_read(p) or {}).get("outcome") or "unreadable" for p in _report_paths(root))
    return dict(counts)


def refresh_status(settings: Settings) -> dict:
    root = Path(settings.snapshot_dir)
    return {"running": refresh_running(root), "last_report": last_report(root)}
