"""deploy/gunicorn.conf.py on real gunicorn: two instances on one host keep their own control socket."""
from __future__ import annotations

import json
import subprocess

import pytest

from tests.support import services

pytestmark = pytest.mark.services


def control(socket_path, command: str) -> dict:
    done = subprocess.run([str(services.BIN / "gunicornc"), "-s", str(socket_path), "-c", command, "-j"],
                          capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_gunicorn001_each_instance_has_its_own_control_socket(service_logs, tmp_path):
    """gunicorn 27's default is one socket per user: the second instance took the first one's over."""
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    env = {"XDG_RUNTIME_DIR": str(run), "DATAVIZ_SNAPSHOT_DIR": str(tmp_path / "snapshots"),
           "DATAVIZ_CACHE_DIR": str(tmp_path / "cache"), "DATAVIZ_ACCESS_LOG": "-",
           "DATAVIZ_EMBED_SECRET": "gunicorn-embed-secret-0123456789abcdefghij",
           "DATAVIZ_ANALYST_SECRET": "gunicorn-analyst-secret-0123456789abcdefgh"}
    first = services.start_gunicorn(service_logs, env, workers=1)
    second = services.start_gunicorn(service_logs, env, workers=1)
    try:
        sockets = sorted(run.glob("*.ctl"))
        assert len(sockets) == 2, sockets
        ports = set()
        for path in sockets:
            listeners = json.dumps(control(path, "show listeners"))
            ports |= {p for p in (first.port, second.port) if f":{p}" in listeners}
            assert len([p for p in (first.port, second.port) if f":{p}" in listeners]) == 1, listeners
        assert ports == {first.port, second.port}
    finally:
        second.stop()
        first.stop()
    assert not list(run.glob("*.ctl"))  # each removed its own on the way out
