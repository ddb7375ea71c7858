"""Start a refresh from the web app (``POST /api/v1/refresh``) without running it in a web worker.

A refresh takes seconds to minutes and a lot of memory: it runs in its own
process, ``python -m etl refresh`` (the whole chain: publish, web workers,
app cache, Varnish), detached from the worker. Only one runs at a time: the
worker takes the refresh lock itself (non-blocking) and hands the locked file
to the child, which keeps it until it exits. When the lock is already held,
no process is started and the caller learns which one is running, so two
requests at once start one refresh, with no window between check and start.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

from app.config import Settings
from etl.refresh import LOCK_FILE

log = logging.getLogger("dataviz.refresh_trigger")
PROJECT_ROOT = Path(__file__).resolve().parents[1]
LOG_FILE = "refresh-trigger.log"  # under the snapshot root: what the refresh processes printed


def _child_env(settings: Settings) -> dict[str, str]:
    """The app's settings as the environment of ``python -m etl`` (the app may run with overrides)."""
    return {**os.environ, "PYTHONPATH": str(PROJECT_ROOT),
           "DATAVIZ_SOURCE": settings.source, "DATAVIZ_SNAPSHOT_DIR": str(settings.snapshot_dir),
           "DATAVIZ_CACHE_DIR": str(settings.cache_dir), "DATAVIZ_API_KEYS": ",".join(settings.api_keys),
           "DATAVIZ_VARNISH_URLS": ",".join(settings.varnish_urls), "DATAVIZ_WEB_URLS": ",".join(settings.web_urls),
           "DATAVIZ_MAX_REJECT_RATIO": str(settings.max_reject_ratio),
           "DATAVIZ_CACHE_REDIS_URL": settings.cache_redis_url or ""}


def _holder(root: Path) -> int | None:
    """The PID the running refresh wrote into the lock file."""
    try:
        return int((root / LOCK_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def start_refresh(settings: Settings, force: bool = False) -> dict:
    """Start ``python -m etl refresh`` unless one runs; says which (``status``: started | running)."""
    root = Path(settings.snapshot_dir)
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return {"status": "running", "pid": _holder(root), "reports": str(root / "reports")}
        args = [sys.executable, "-m", "etl", "refresh", "--lock-fd", str(fd)] + (["--force"] if force else [])
        with open(root / LOG_FILE, "ab") as out:
            out.write(f"--- {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')} "
                      f"refresh started by the web app\n".encode())
            out.flush()
            proc = subprocess.Popen(args, pass_fds=(fd,), stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, cwd=PROJECT_ROOT, env=_child_env(settings),
                                    start_new_session=True)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{proc.pid}\n".encode(), 0)  # who holds it, until the child writes it itself
    finally:
        os.close(fd)  # the child's copy of the descriptor keeps the lock
    threading.Thread(target=proc.wait, name=f"reap-refresh-{proc.pid}", daemon=True).start()
    log.info("refresh started in process %d", proc.pid)
    return {"status": "started", "pid": proc.pid, "reports": str(root / "reports"), "log": str(root / LOG_FILE)}
