"""Starting a refresh from the API, and telling how refreshes went.

For now a refresh is ``python -m etl refresh`` started as a detached process
(its own session, so restarting the web worker does not kill it); the ETL's
``flock`` guarantees that only one runs. What happened is read back from the
reports the ETL keeps in ``<snapshot_dir>/reports/``.
"""
from __future__ import annotations

import collections
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


def refresh_running(root: Path) -> bool | None:
    """Whether a process holds the refresh lock, without taking it (``None``: cannot tell).

    Probing with ``flock`` would, for an instant, make a refresh starting at
    the same moment fail as busy; ``/proc/locks`` lists the holders instead.
    """
    try:
        st = os.stat(root / LOCK_FILE)
    except FileNotFoundError:
        return False
    wanted = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        with open("/proc/locks") as fh:
            return any(fields[1] == "FLOCK" and wanted in fields
                       for fields in (line.split() for line in fh) if len(fields) > 5)
    except OSError:
        return None


def start_refresh(settings: Settings) -> dict:
    """Start ``python -m etl refresh`` in the background: ``{"status": "started" | "running"}``."""
    root = Path(settings.snapshot_dir)
    if refresh_running(root):
        return {"status": "running"}
    root.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DATAVIZ_MAX_REJECT_RATIO": str(settings.max_reject_ratio),
           "DATAVIZ_MAX_EXPORT_BYTES": str(settings.max_export_bytes)}
    with open(root / LOG_NAME, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "etl", "refresh", "--source", settings.source, "--snapshot-dir", str(root)],
            cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True)
    threading.Thread(target=proc.wait, name=f"reap-refresh-{proc.pid}", daemon=True).start()  # no zombie
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
