"""The production shape on one machine, on loopback: ``make stack`` / ``make stack-stop``.

``start`` runs moto_server (S3), redis-server (app cache), gunicorn (the web
app, 3 workers), varnishd (deploy/varnish/default.vcl) and the watcher
(``python -m etl watch``), loads a demo export into the bucket, refreshes
through the whole chain and prints the URLs. Every process gets a PID file
and a log under ``var/stack/``; ``stop`` signals exactly those PIDs (after
checking that each still runs the command it started) and nothing else.
Ports are free ones unless given (``--web-port`` ...).
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATE = ROOT / "var" / "stack"
BIN = Path(sys.executable).parent
BUCKET = "dataviz-exports"
ADMIN_KEY, READER_KEY = "stack-admin-key-0123456789abcdef", "stack-reader-key-0123456789abcdef"
# stop order: the watcher first (it may be purging), the data stores last
ORDER = ("watcher", "varnish", "web", "redis", "s3")
# Client-side timeouts of varnishd (docs/security.md, "Edge limits"): request headers whole within 5 s
# and no pause over 5 s in a request body; a response sent within 60 s, no send stalled over 10 s.
VARNISH_PARAMS = ("timeout_idle=5", "send_timeout=60", "idle_send_timeout=10")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, what: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode}; see {STATE / 'logs'}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} not up after {timeout:g}s; see {STATE / 'logs'}")


def port_open(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True


def http_ok(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        opener.open(url, timeout=2).close()
    except urllib.error.HTTPError:
        return True  # it answers: gunicorn's worker is up even before a snapshot is live
    return True


def launch(name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """Start one service in its own session, its output in logs/<name>.log, its PID in pids/<name>.pid."""
    (STATE / "logs").mkdir(parents=True, exist_ok=True)
    (STATE / "pids").mkdir(parents=True, exist_ok=True)
    with open(STATE / "logs" / f"{name}.log", "ab") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, cwd=ROOT, start_new_session=True)
    (STATE / "pids" / f"{name}.pid").write_text(json.dumps({"pid": proc.pid, "exe": args[0]}))
    return proc


def running(name: str) -> int | None:
    """The PID of ``name`` if that process is alive and still runs what we started."""
    try:
        record = json.loads((STATE / "pids" / f"{name}.pid").read_text())
        cmdline = Path(f"/proc/{record['pid']}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError, KeyError):
        return None
    name_of_exe = Path(record["exe"]).name.encode()  # redis-server and gunicorn may retitle themselves
    return record["pid"] if any(name_of_exe in part for part in cmdline[:2]) else None


def start(args: argparse.Namespace) -> int:
    alive = [name for name in ORDER if running(name)]
    if alive:
        print(f"the stack is already running ({', '.join(alive)}): make stack-stop first")
        return 1
    shutil.rmtree(STATE, ignore_errors=True)
    STATE.mkdir(parents=True)
    os.chmod(STATE, 0o755)  # varnishd reads its VCL as its own user
    ports = {name: getattr(args, f"{name}_port") or free_port() for name in ("s3", "redis", "web", "varnish")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "AWS_ENDPOINT_URL": urls["s3"], "AWS_ACCESS_KEY_ID": "stack", "AWS_SECRET_ACCESS_KEY": "stack",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
           "DATAVIZ_SOURCE": f"s3://{BUCKET}/lms", "DATAVIZ_SNAPSHOT_DIR": str(STATE / "snapshots"),
           "DATAVIZ_CACHE_REDIS_URL": f"redis://127.0.0.1:{ports['redis']}/0",
           "DATAVIZ_API_KEYS": f"{ADMIN_KEY}:admin,{READER_KEY}:*",
           "DATAVIZ_WEB_URLS": urls["web"], "DATAVIZ_VARNISH_URLS": urls["varnish"], "DATAVIZ_DEMO": "1",
           # one environment for varnishd (which requires the token) and every ETL run (which sends it)
           "DATAVIZ_PURGE_TOKEN": secrets.token_hex(32)}

    s3 = launch("s3", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(ports["s3"])], env)
    wait_until(lambda: port_open(ports["s3"]), "moto_server", s3)
    redis = launch("redis", [shutil.which("redis-server") or "/usr/bin/redis-server", "--bind", "127.0.0.1",
                             "--port", str(ports["redis"]), "--save", "", "--appendonly", "no"], env)
    wait_until(lambda: port_open(ports["redis"]), "redis-server", redis)

    import boto3

    boto3.client("s3", endpoint_url=urls["s3"], region_name="us-east-1", aws_access_key_id="stack",
                 aws_secret_access_key="stack").create_bucket(Bucket=BUCKET)
    print(f"generating a demo export ({args.events} events, {args.tenants} tenants) into s3://{BUCKET}/lms")
    with open(STATE / "logs" / "generate.log", "ab") as log:
        subprocess.run([sys.executable, "-m", "etl", "generate", "--events", str(args.events), "--tenants",
                        str(args.tenants), "--seed", "7", "--out", f"s3://{BUCKET}/lms"], env=env, cwd=ROOT,
                       check=True, stdout=log, stderr=subprocess.STDOUT)

    web = launch("web", [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "app.wsgi:server"],
                 {**env, "DATAVIZ_BIND": f"127.0.0.1:{ports['web']}", "DATAVIZ_WORKERS": str(args.workers),
                  "DATAVIZ_ACCESS_LOG": str(STATE / "logs" / "web.access.log")})
    wait_until(lambda: http_ok(urls["web"] + "/healthz"), "gunicorn", web)

    vcl = (ROOT / "deploy" / "varnish" / "default.vcl").read_text()
    vcl = vcl.replace('.port = "8050";', f'.port = "{ports["web"]}";', 1)
    (STATE / "default.vcl").write_text(vcl)
    varnish = launch("varnish", [shutil.which("varnishd") or "/usr/sbin/varnishd", "-F", "-n",
                                 str(STATE / "varnish"), "-a", f"127.0.0.1:{ports['varnish']}", "-f",
                                 str(STATE / "default.vcl"), "-s", "malloc,64m", "-T", "none",
                                 *(arg for param in VARNISH_PARAMS for arg in ("-p", param))], env)
    wait_until(lambda: port_open(ports["varnish"]), "varnishd", varnish)

    print("refreshing: S3 → snapshot → web workers → app cache → Varnish")
    with open(STATE / "logs" / "refresh.log", "ab") as log:
        refresh = subprocess.run([sys.executable, "-m", "etl", "refresh"], env=env, cwd=ROOT, text=True,
                                 stdout=subprocess.PIPE, stderr=log)
    print("  " + refresh.stdout.strip().replace("\n", "\n  "))
    launch("watcher", [sys.executable, "-m", "etl", "watch", "--interval", str(args.watch_interval)], env)

    with open(os.open(STATE / "stack.env", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:  # the token
        for key in sorted(k for k in env if k.startswith(("AWS_", "DATAVIZ_"))):
            fh.write(f"export {key}={env[key]}\n")
    print(f"""
The stack runs (PIDs in {STATE / 'pids'}, logs in {STATE / 'logs'}):
  Varnish (the public face)  {urls['varnish']}/
  gunicorn ({args.workers} workers)       {urls['web']}/
  S3 (moto_server)           {urls['s3']}   bucket {BUCKET}, exports under lms/
  Redis (app cache)          redis://127.0.0.1:{ports['redis']}/0
  watcher                    python -m etl watch --interval {args.watch_interval:g}

Try:
  curl -si -H 'Authorization: Bearer {READER_KEY}' {urls['varnish']}/api/v1/meta
  curl -si -H 'Authorization: Bearer {ADMIN_KEY}' -X POST {urls['varnish']}/api/v1/refresh
  . {STATE / 'stack.env'} && .venv/bin/python -m etl refresh --force
Stop with: make stack-stop
""")
    return 0 if refresh.returncode == 0 else 1


def stop(_args: argparse.Namespace) -> int:
    for name in ORDER:
        pid = running(name)
        if pid is None:
            (STATE / "pids" / f"{name}.pid").unlink(missing_ok=True)
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while running(name) and time.monotonic() < deadline:
            time.sleep(0.1)
        if running(name):
            os.kill(pid, signal.SIGKILL)
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        (STATE / "pids" / f"{name}.pid").unlink(missing_ok=True)
        print(f"stopped {name} (pid {pid})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deploy/stack.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("start", help="start the stack, load a demo export, refresh, print the URLs")
    for name in ("s3", "redis", "web", "varnish"):
        s.add_argument(f"--{name}-port", type=int, default=0, help=f"{name} port on 127.0.0.1 (default: a free one)")
    s.add_argument("--events", type=int, default=200_000, help="events in the demo export (default 200,000)")
    s.add_argument("--tenants", type=int, default=12, help="tenants in the demo export (default 12)")
    s.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3)")
    s.add_argument("--watch-interval", type=float, default=60.0, help="seconds between watcher ticks (default 60)")
    sub.add_parser("stop", help="stop what start started (PID files under var/stack/pids)")
    args = parser.parse_args(argv)
    return start(args) if args.command == "start" else stop(args)


if __name__ == "__main__":
    sys.exit(main())
