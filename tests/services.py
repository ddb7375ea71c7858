"""Real services for the tests, each started on 127.0.0.1 with a free port and stopped by PID."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
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


def start_moto(log_dir: Path) -> Service:
    port = free_port()
    return Service("moto", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], port, log_dir)


def start_redis(log_dir: Path) -> Service:
    port = free_port()
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    return Service("redis", [exe, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                             "--appendonly", "no", "--protected-mode", "yes"], port, log_dir)


def s3_env(moto: Service) -> dict[str, str]:
    """Environment that points boto3 at the moto server (and nowhere else)."""
    return {"AWS_ENDPOINT_URL": moto.url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
