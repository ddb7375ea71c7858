"""Real services for the tests, each started on 127.0.0.1 with a free port and stopped by PID."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process {proc.args!r} exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class Service:
    """A child process listening on a loopback port; ``stop()`` kills exactly that PID."""

    def __init__(self, name: str, args: list[str], port: int, log_dir: Path, env: dict | None = None,
                 cwd: str | None = None):
        self.name = name
        self.port = port
        self.cleanup: Path | None = None  # a folder to remove once the process is gone
        self.log_path = Path(log_dir) / f"{name}-{port}.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True)
        try:
            wait_for_port(port, proc=self.proc)
        except Exception:
            self.stop()
            raise RuntimeError(f"{name} did not start: {self.log_path.read_text()[-2000:]}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        if self.cleanup is not None:
            shutil.rmtree(self.cleanup, ignore_errors=True)


def start_moto(log_dir: Path) -> Service:
    port = free_port()
    return Service("moto", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], port, log_dir)


def start_redis(log_dir: Path, port: int | None = None) -> Service:
    """redis-server without persistence; ``port`` to start it again where a test stopped it."""
    port = port or free_port()
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    return Service("redis", [exe, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                             "--appendonly", "no", "--protected-mode", "yes"], port, log_dir)


def s3_env(moto: Service) -> dict[str, str]:
    """Environment that points boto3 at the moto server (and nowhere else)."""
    return {"AWS_ENDPOINT_URL": moto.url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}


REPO = Path(__file__).resolve().parents[2]
VCL = REPO / "deploy" / "varnish" / "default.vcl"


def vcl_for_backend(vcl_text: str, host: str, port: int) -> str:
    """The VCL with its backend pointed at ``host:port`` (the file's own default is 127.0.0.1:8050)."""
    import re

    text, n = re.subn(r'(backend default \{\s*\.host = )"[^"]*";(\s*\.port = )"\d+";',
                      rf'\1"{host}";\g<2>"{port}";', vcl_text)
    if n != 1:
        raise ValueError("no `backend default` with .host and .port in the VCL")
    return text


# The suite's own load through Varnish (fault tests, the soak, benchmarks) comes from one loopback
# address with one credential, far past the per-client rate limits of the VCL: raised for it.
SUITE_EDGE_LIMITS = {"DATAVIZ_EDGE_CLIENT_LIMIT": "1000000", "DATAVIZ_EDGE_CREDENTIAL_LIMIT": "1000000",
                     "DATAVIZ_EDGE_FAILURE_LIMIT": "1000000"}


def start_varnish(log_dir: Path, backend_port: int, vcl: Path = VCL, port: int | None = None,
                  params: tuple[str, ...] = (), env: dict[str, str] | None = None) -> Service:
    """varnishd in the foreground with its own work dir, the VCL aimed at ``backend_port``, 64 MB of RAM.

    ``params``: ``name=value`` run-time parameters (``-p``), e.g. deploy/stack.py's VARNISH_PARAMS.
    ``env``: varnishd's environment on top of ours (the VCL reads ``DATAVIZ_PURGE_TOKEN`` and the
    ``DATAVIZ_EDGE_*`` limits from it); None means ``SUITE_EDGE_LIMITS``, ``{}`` the VCL's own defaults.
    """
    port = port or free_port()
    # Not under pytest's private tmp: varnishd reads the VCL as its own unprivileged user.
    workdir = Path(tempfile.mkdtemp(prefix=f"dataviz-varnish-{port}-"))
    os.chmod(workdir, 0o755)
    compiled = workdir / "default.vcl"
    compiled.write_text(vcl_for_backend(vcl.read_text(), "127.0.0.1", backend_port))
    exe = shutil.which("varnishd") or "/usr/sbin/varnishd"
    try:
        service = Service("varnish", [exe, "-F", "-n", str(workdir / "n"), "-a", f"127.0.0.1:{port}",
                                      "-f", str(compiled), "-s", "malloc,64m", "-T", "none",
                                      *(arg for param in params for arg in ("-p", param))], port, log_dir,
                          env=SUITE_EDGE_LIMITS if env is None else env)
    except Exception:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    service.cleanup = workdir
    return service


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    """Until ``url`` answers at all (any HTTP status): gunicorn listens before its workers can answer."""
    import urllib.error
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process {proc.args!r} exited with {proc.returncode}")
        try:
            opener.open(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer after {timeout}s")


def start_gunicorn(log_dir: Path, env: dict[str, str], workers: int = 3, port: int | None = None) -> Service:
    """The web app as in production: ``gunicorn -c deploy/gunicorn.conf.py app.wsgi:server``.

    The access log goes to ``<service>.access.log`` so tests can count the
    requests that reached gunicorn.
    """
    port = port or free_port()
    access_log = Path(log_dir) / f"gunicorn-{port}.access.log"
    service = Service("gunicorn", [str(BIN / "gunicorn"), "-c", str(REPO / "deploy" / "gunicorn.conf.py"),
                                   "app.wsgi:server"], port, log_dir, cwd=str(REPO),
                      env={"DATAVIZ_BIND": f"127.0.0.1:{port}", "DATAVIZ_WORKERS": str(workers),
                           "DATAVIZ_ACCESS_LOG": str(access_log), "PYTHONPATH": str(REPO), **env})
    service.access_log = access_log
    wait_http(f"{service.url}/healthz", proc=service.proc)
    return service
