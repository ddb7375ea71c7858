"""Servers the HTTP, memory, dashboard and load benchmarks start on loopback.

Each is a child process on 127.0.0.1 with a free port, stopped by its own PID
(``tests.support.services.Service``), with its output in ``bench/.cache/logs/``.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import psutil

from bench.common import CACHE, ROOT
from tests.support.services import Service, free_port, start_redis, start_varnish  # noqa: F401 (re-exported)

BIN = Path(__import__("sys").executable).parent
LOGS = CACHE / "logs"
API_KEY = "bench-key-0123456789abcdef"
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
VCL = ROOT / "deploy" / "varnish" / "default.vcl"


def gunicorn(app: str, snapshot_root: Path | None, name: str, env: dict | None = None) -> Service:
    """``gunicorn -c deploy/gunicorn.conf.py APP`` with ``DATAVIZ_BIND`` on a free port."""
    LOGS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cache_dir = tempfile.mkdtemp(prefix="bench-cache-", dir=CACHE)
    base = {"DATAVIZ_BIND": f"127.0.0.1:{port}", "DATAVIZ_API_KEYS": f"{API_KEY}:*",
            "DATAVIZ_CACHE_DIR": cache_dir, "DATAVIZ_EMBED_SECRET": "bench-embed-secret-0123456789abcdef"}
    if snapshot_root is not None:
        base["DATAVIZ_SNAPSHOT_DIR"] = str(snapshot_root)
    service = Service(name, [str(BIN / "gunicorn"), "-c", str(GUNICORN_CONF), app], port, LOGS,
                      env={**base, **(env or {})}, cwd=str(ROOT))
    service.cache_dir = cache_dir
    return service


def stop(service: Service) -> None:
    service.stop()
    cache_dir = getattr(service, "cache_dir", None)
    if cache_dir:
        shutil.rmtree(cache_dir, ignore_errors=True)


def workers(service: Service, expected: int | None = None, timeout: float = 30.0) -> list[psutil.Process]:
    """The gunicorn worker processes (children of the master)."""
    master = psutil.Process(service.pid)
    deadline = time.monotonic() + timeout
    while True:
        kids = master.children()
        if expected is None or len(kids) >= expected or time.monotonic() > deadline:
            return kids
        time.sleep(0.1)


def varnish_available() -> bool:
    return VCL.is_file() and (shutil.which("varnishd") is not None or Path("/usr/sbin/varnishd").exists())


def varnishd(backend_port: int) -> Service:
    """varnishd with the project's VCL aimed at ``backend_port`` (``tests.support.services.start_varnish``)."""
    LOGS.mkdir(parents=True, exist_ok=True)
    return start_varnish(LOGS, backend_port)


def varnish_name(service: Service) -> str:
    """The ``-n`` folder of a varnishd started by ``varnishd`` (for varnishstat)."""
    return str(service.cleanup / "n")
