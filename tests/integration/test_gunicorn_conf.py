"""deploy/gunicorn.conf.py on real gunicorn: two instances on one host keep their own control socket, and
gunicorn never listens where a client reaches it without Varnish."""
from __future__ import annotations

import json
import os
import runpy
import subprocess
import time

import pytest

from tests.support import credentials, services

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
           "DATAVIZ_CACHE_DIR": str(tmp_path / "cache"), "DATAVIZ_ACCESS_LOG": "-", **credentials.service_env()}
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


@pytest.mark.parametrize("bind", ["0.0.0.0:{port}", "[::]:{port}", ":{port}", "8.8.8.8:{port}", "example.com:{port}"])
def test_gunicorn002_gunicorn_refuses_an_address_clients_reach_without_varnish(tmp_path, bind):
    """Issue 13, item 2: gunicorn's gthread workers are pinned by slow clients, so the shipped configuration
    must never face one. Before, DATAVIZ_BIND=0.0.0.0:8050 served every interface; now gunicorn exits 1
    before it binds, naming the address, whichever way the address was given."""
    address = bind.format(port=services.free_port())
    env = {**os.environ, "PYTHONPATH": str(services.REPO), "DATAVIZ_SNAPSHOT_DIR": str(tmp_path / "snapshots"),
           "DATAVIZ_CACHE_DIR": str(tmp_path / "cache"), "DATAVIZ_WORKERS": "1"}
    for how in ({"DATAVIZ_BIND": address}, {"GUNICORN_CMD_ARGS": f"--bind={address}"}):
        done = subprocess.run([str(services.BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "app.wsgi:server"],
                              cwd=services.REPO, env={**env, **how}, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1, done.stderr
        assert f"refusing to listen on {address}" in done.stderr


def test_gunicorn003_loopback_a_unix_socket_and_a_private_address_are_accepted(service_logs, tmp_path):
    """The production shapes still start: loopback (the default, as every service test runs it), a unix
    socket for Varnish on the same host, and the check's answer for a private address."""
    conf = runpy.run_path(str(services.REPO / "deploy" / "gunicorn.conf.py"))
    assert [conf["exposure"](a) for a in ("127.0.0.1:8050", "[::1]:8050", "localhost:8050", "10.0.3.4:8050",
                                          "unix:/run/dataviz.sock", "fd://3")] == [None] * 6
    sock = tmp_path / "web.sock"
    env = {**os.environ, "PYTHONPATH": str(services.REPO), "DATAVIZ_SNAPSHOT_DIR": str(tmp_path / "snapshots"),
           "DATAVIZ_CACHE_DIR": str(tmp_path / "cache"), "DATAVIZ_WORKERS": "1", "DATAVIZ_BIND": f"unix:{sock}",
           "DATAVIZ_CONTROL_SOCKET": str(tmp_path / "web.ctl")}
    proc = subprocess.Popen([str(services.BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "app.wsgi:server"],
                            cwd=services.REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not sock.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert sock.exists() and proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(30)
