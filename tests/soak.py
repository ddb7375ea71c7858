"""The soak: ``make soak`` (``python -m tests.soak --minutes 10``), not part of ``make test``.

The production shape on loopback: Redis, gunicorn (3 workers), Varnish with
deploy/varnish/default.vcl, and a refresh through the whole chain every
``--refresh-every`` seconds, each from a new export that changes one tenant.
Requests go out at a fixed rate: API answers through Varnish (mostly hits),
API answers and dashboard callbacks straight to gunicorn. Every request must
succeed, and each worker's RSS, sampled every 10 s, must not grow by more
than ``--rss-growth-mb`` between the end of the warm-up and the end.

Prints a summary and writes it as JSON (``--out``); exits 1 if a request
failed, a refresh did not publish, or a worker grew past the bound.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gzip
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

from app import queries
from etl.generate import generate_export
from layouts import ids
from tests.support import services
from tests.support.credentials import ALL_KEY as READER, EMBED_SECRET, embed_token

END = dt.date(2026, 10, 31)


class Results:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter = Counter()
        self.failures: list[str] = []

    def record(self, kind: str, seconds: float, status: int | str) -> None:
        with self.lock:
            self.latency[kind].append(seconds)
            self.statuses[f"{kind} {status}"] += 1
            if status not in (200, 204):
                self.failures.append(f"{time.strftime('%H:%M:%S')} {kind} {status}")


def request(port: int, method: str, path: str, headers: dict, body: bytes | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def overview_body(token: str) -> bytes:
    """The overview page's one callback, as the Dash renderer sends it."""
    def kpi(make) -> list[dict]:
        return [{"id": make(m), "property": "children"} for m in queries.METRICS]

    outputs = [kpi(ids.kpi_value_id), kpi(ids.kpi_change_id), *[{"id": g, "property": "figure"}
                                                                for g in ids.OVERVIEW_GRAPHS],
               *[{"id": ids.table_id(g), "property": "children"} for g in ids.OVERVIEW_GRAPHS],
               {"id": ids.OVERVIEW_STATUS, "property": "children"},
               {"id": ids.OVERVIEW_ZONE, "property": "children"},
               {"id": ids.OVERVIEW_COMPLIANCE, "property": "hidden"}]
    output = "..{}..".format("...".join(
        [f'{json.dumps({"metric": ["ALL"], "type": t}, sort_keys=True, separators=(",", ":"))}.children'
         for t in (ids.kpi_value_id("x")["type"], ids.kpi_change_id("x")["type"])]
        + [f"{g}.figure" for g in ids.OVERVIEW_GRAPHS]
        + [f'{json.dumps(ids.table_id(g), sort_keys=True, separators=(",", ":"))}.children' for g in ids.OVERVIEW_GRAPHS]
        + [f"{ids.OVERVIEW_STATUS}.children", f"{ids.OVERVIEW_ZONE}.children", f"{ids.OVERVIEW_COMPLIANCE}.hidden"]))
    inputs = [{"id": ids.URL, "property": "search", "value": f"?token={token}"},
              {"id": ids.token_id("overview"), "property": "data", "value": token}]
    return json.dumps({"output": output, "outputs": outputs, "inputs": inputs, "state": [],
                       "changedPropIds": [f"{ids.URL}.search"]}).encode()


def make_requests(tenants: list[str], web: int, varnish: int):
    """The mix, as (kind, port, method, path, headers, body) makers."""
    rng = random.Random(3)
    api = [f"kpis{q}" for q in ("", "?compare=previous", "?from=2026-01-01&to=2026-10-31")] + [
        "timeseries?metric=active_learners&granularity=week", "breakdown?metric=completions&by=training",
        "heatmap", "filters"]
    reader = {"Authorization": f"Bearer {READER}"}

    def next_request():
        tenant = rng.choice(tenants)
        roll = rng.random()
        if roll < 0.70:
            return "varnish-api", varnish, "GET", f"/api/v1/tenants/{tenant}/{rng.choice(api)}", reader, None
        if roll < 0.85:
            return "web-api", web, "GET", f"/api/v1/tenants/{tenant}/{rng.choice(api)}", reader, None
        if roll < 0.97:
            token = embed_token(tenant)
            return ("web-callback", web, "POST", "/_dash-update-component", {"Content-Type": "application/json"},
                    overview_body(token))
        return "web-meta", web, "GET", "/api/v1/meta", reader, None
    return next_request


def new_export(base: Path, date: dt.date, tenant: str, extra: int) -> Path:
    """Export ``base`` again as of ``date``, with ``extra`` more connections for ``tenant`` on its last day."""
    folder = base.parent / date.isoformat()
    shutil.copytree(base, folder)
    rows = "".join(f"s{date}-{i},{END}T12:00:00Z,{tenant},u-soak,connection,,,60\n" for i in range(extra))
    activity = folder / "activity.csv.gz"
    activity.write_bytes(gzip.compress(gzip.decompress(activity.read_bytes()) + rows.encode(), compresslevel=1))
    return folder


def refresh(env: dict) -> dict:
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "etl", "refresh"], cwd=services.REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    return {"at": time.strftime("%H:%M:%S"), "seconds": round(time.monotonic() - start, 2),
            "exit": done.returncode, "message": done.stdout.splitlines()[0] if done.stdout else done.stderr[-300:]}


def rss_mb(master: int) -> dict[int, float]:
    return {p.pid: p.memory_info().rss / 2**20 for p in psutil.Process(master).children()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--rate", type=float, default=40.0, help="requests per second (default 40)")
    p.add_argument("--refresh-every", type=float, default=120.0, help="seconds between refreshes (default 120)")
    p.add_argument("--events", type=int, default=300_000)
    p.add_argument("--rss-growth-mb", type=float, default=64.0)
    p.add_argument("--warmup", type=float, default=60.0, help="seconds before the RSS baseline (default 60)")
    p.add_argument("--out", default="var/soak/soak.json")
    args = p.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="dataviz-soak-"))
    logs = work / "logs"
    logs.mkdir()
    started: list[services.Service] = []
    try:
        print(f"soak: {args.minutes:g} min at {args.rate:g} req/s, a refresh every {args.refresh_every:g} s; in {work}")
        generate_export(str(work / "exports"), events=args.events, tenants=12, seed=5, end_date=END, days=400)
        base = work / "exports" / (END + dt.timedelta(days=1)).isoformat()
        cache = services.start_redis(logs)
        started.append(cache)
        web_port, varnish_port = services.free_port(), services.free_port()
        env = {**os.environ, "PYTHONPATH": str(services.REPO), "DATAVIZ_SOURCE": str(work / "exports"),
               "DATAVIZ_SNAPSHOT_DIR": str(work / "snapshots"),
               "DATAVIZ_CACHE_REDIS_URL": f"redis://127.0.0.1:{cache.port}/0",
               "DATAVIZ_API_KEYS": f"{READER}:*", "DATAVIZ_EMBED_SECRET": EMBED_SECRET,
               "DATAVIZ_WEB_URLS": f"http://127.0.0.1:{web_port}",
               "DATAVIZ_VARNISH_URLS": f"http://127.0.0.1:{varnish_port}",
               "DATAVIZ_PURGE_TOKEN": services.SUITE_PURGE_TOKEN}
        web = services.start_gunicorn(logs, {k: v for k, v in env.items() if k.startswith(("DATAVIZ_", "PYTHON"))},
                                      workers=3, port=web_port)
        started.append(web)
        started.append(services.start_varnish(logs, web_port, port=varnish_port))
        refreshes = [refresh(env)]
        tenants = sorted(json.loads(max((work / "snapshots").glob("*/manifest.json")).read_text())["tenant_digests"])

        results = Results()
        next_request = make_requests(tenants, web_port, varnish_port)
        samples: list[dict] = []
        stop = threading.Event()

        def send(kind, port, method, path, headers, body):
            start = time.monotonic()
            try:
                status = request(port, method, path, headers, body)
            except (OSError, http.client.HTTPException) as exc:  # refused, reset, or a body cut short
                status = exc.__class__.__name__
            results.record(kind, time.monotonic() - start, status)

        def sample():
            while not stop.is_set():
                samples.append({"t": round(time.monotonic() - t0, 1), "rss_mb": rss_mb(web.pid)})
                stop.wait(10)

        t0 = time.monotonic()
        end = t0 + args.minutes * 60
        threading.Thread(target=sample, daemon=True).start()
        day, n = END, 0
        next_refresh = t0 + args.refresh_every
        refresher: threading.Thread | None = None
        with ThreadPoolExecutor(32) as pool:
            while time.monotonic() < end:
                if time.monotonic() >= next_refresh and (refresher is None or not refresher.is_alive()):
                    day += dt.timedelta(days=1)
                    new_export(base, day + dt.timedelta(days=1), random.Random(n).choice(tenants), 5 + n % 7)
                    refresher = threading.Thread(target=lambda: refreshes.append(refresh(env)))
                    refresher.start()
                    next_refresh += args.refresh_every
                pool.submit(send, *next_request())
                n += 1
                time.sleep(max(0.0, t0 + n / args.rate - time.monotonic()))
            if refresher is not None:
                refresher.join()
        stop.set()
        elapsed = time.monotonic() - t0
        samples.append({"t": round(elapsed, 1), "rss_mb": rss_mb(web.pid)})
        return report(args, results, refreshes, samples, elapsed)
    finally:
        for service in reversed(started):
            service.stop()
        shutil.rmtree(work, ignore_errors=True)


def report(args, results: Results, refreshes: list[dict], samples: list[dict], elapsed: float) -> int:
    def pct(values, q):
        return round(statistics.quantiles(values, n=100)[q - 1] * 1000, 1) if len(values) > 1 else None

    baseline = next((s["rss_mb"] for s in samples if s["t"] >= args.warmup), samples[0]["rss_mb"])
    last = samples[-1]["rss_mb"]
    workers = {pid: {"baseline_mb": round(baseline[pid], 1), "max_mb": round(max(s["rss_mb"].get(pid, 0) for s in samples), 1),
                     "end_mb": round(last[pid], 1), "growth_mb": round(last[pid] - baseline[pid], 1)}
               for pid in last if pid in baseline}
    total = sum(len(v) for v in results.latency.values())
    summary = {
        "minutes": round(elapsed / 60, 2), "rate_target": args.rate, "requests": total,
        "rate_achieved": round(total / elapsed, 1), "failed": len(results.failures),
        "failures": results.failures[:50], "statuses": dict(results.statuses),
        "latency_ms": {kind: {"p50": pct(v, 50), "p95": pct(v, 95), "p99": pct(v, 99), "max": round(max(v) * 1000, 1)}
                       for kind, v in sorted(results.latency.items())},
        "refreshes": refreshes, "workers": workers, "rss_growth_bound_mb": args.rss_growth_mb,
        "workers_replaced": sorted(set(samples[0]["rss_mb"]) ^ set(last)),
        "rss_samples": [{"t": s["t"], "mb": [round(v, 1) for _, v in sorted(s["rss_mb"].items())]} for s in samples],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k not in ("statuses", "rss_samples")}, indent=2))
    ok = (not results.failures and all(r["exit"] == 0 and r["message"].startswith("published") for r in refreshes)
          and all(w["growth_mb"] <= args.rss_growth_mb for w in workers.values()))
    print("soak: OK" if ok else "soak: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
