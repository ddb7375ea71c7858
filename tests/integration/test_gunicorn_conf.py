"""deploy/gunicorn.conf.py on real gunicorn: two instances on one host keep their own control socket, and
gunicorn never listens where a client reaches it without Varnish."""
from __future__ import annotations

import concurrent.futures
import json
import os
import runpy
import subprocess
import threading
import time

import pytest
import requests

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


# What the overview's HTML asks for first, in the order a browser asks (Dash accepts a path without its fingerprint).
SUITES = ("dash/deps/polyfill@7.12.1.min.js", "dash/deps/react@18.3.1.min.js", "dash/deps/react-dom@18.3.1.min.js",
          "dash/deps/prop-types@15.8.1.min.js", "dash/dash-renderer/build/dash_renderer.min.js",
          "dash/dcc/dash_core_components.js", "dash/dcc/dash_core_components-shared.js",
          "dash/html/dash_html_components.min.js")


def test_gunicorn004_a_fresh_worker_serves_every_script_of_the_page_at_once(service_logs, tmp_path,
                                                                               generated_snapshot_dir):
    """Issue 12: a fresh worker's first requests, on its four threads at once, were the page's scripts (its
    HTML came from another worker); Dash's first-request setup was marked done as it started, so the
    requests beside it found no library registered and got ``"dash" is not a registered library``
    (a 500, a 404 since the component-suite handler). Now every one is served. Nothing reaches the
    worker before them: the test waits for the port alone, not for /healthz."""
    from tests.support.credentials import embed_token, service_env

    port = services.free_port()
    env = {"DATAVIZ_BIND": f"127.0.0.1:{port}", "DATAVIZ_WORKERS": "1", "DATAVIZ_ACCESS_LOG": "-",
           "PYTHONPATH": str(services.REPO), "DATAVIZ_SNAPSHOT_DIR": str(generated_snapshot_dir),
           "DATAVIZ_CACHE_DIR": str(tmp_path / "cache"), "DATAVIZ_CONTROL_SOCKET": str(tmp_path / "web.ctl"),
           **service_env()}
    web = services.Service("gunicorn-fresh", [str(services.BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py",
                                              "app.wsgi:server"], port, service_logs, env=env, cwd=str(services.REPO))
    page = f"{web.url}/embed/overview?token={embed_token()}"
    start = threading.Barrier(len(SUITES) * 2)

    def fetch(path: str) -> tuple[str, int, str]:
        start.wait()
        answer = requests.get(f"{web.url}/_dash-component-suites/{path}", headers={"Referer": page}, timeout=60)
        return path, answer.status_code, answer.text[:200] if answer.status_code != 200 else ""

    try:
        with concurrent.futures.ThreadPoolExecutor(len(SUITES) * 2) as pool:
            answers = list(pool.map(fetch, SUITES * 2))
    finally:
        web.stop()
    assert [a for a in answers if a[1] != 200] == []
