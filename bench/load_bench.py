"""Refresh under load: 8 client threads hit the data routes, directly on gunicorn and
through Varnish, while ``python -m etl refresh`` publishes a changed export and runs
its chain (wait for the workers, clear the app cache, purge Varnish).

Every answer is checked: a failed request (an exception or a status other than
200), an answer whose ``X-Dataviz-Snapshot`` header and body ``snapshot``
differ (two snapshots mixed), and an answer still from the old snapshot once
the refresh command has returned (the chain is meant to make that impossible).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

from bench import data as datasets, servers
from bench.common import CACHE, PYTHON, ROOT, Table, Target, fmt_s, log, run_task, verdict
from bench.data import Dataset

CLIENTS = 8


def chain_available() -> str | None:
    missing = [p for p in ("app/api.py", "etl/purge.py", "deploy/varnish/default.vcl") if not (ROOT / p).is_file()]
    if missing:
        return f"not measured: the refresh chain is not merged yet (missing {', '.join(missing)})"
    return None


def changed_export(events: int) -> Path:
    """The same world (tenants, users, trainings) with a calendar ending one day later: every tenant
    is still there, its numbers differ. Cached like the other exports."""
    root = CACHE / "exports" / f"seed{datasets.SEED}-{events}-{datasets.generator_digest()}-plus1day"
    if not list(root.glob("*/_SUCCESS")):
        shutil.rmtree(root, ignore_errors=True)
        log(f"generating the changed {datasets.label(events)}-event export (end date + 1 day)")
        run_task("generate_shifted", root, events)
    (folder,) = [p for p in root.iterdir() if p.is_dir()]
    return folder


def _client(paths: list[str], bases: list[str], stop: threading.Event, out: list, offset: int) -> None:
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {servers.API_KEY}"
    i = offset
    while not stop.is_set():
        base = bases[i % len(bases)]
        path = paths[(i // len(bases)) % len(paths)]
        i += 1
        t0 = time.monotonic()
        rec = {"t0": t0, "via": "varnish" if base == bases[-1] and len(bases) > 1 else "direct"}
        try:
            r = session.get(base + path, timeout=30)
            rec.update(status=r.status_code, header=r.headers.get("X-Dataviz-Snapshot"),
                       xcache=r.headers.get("X-Cache"))
            if r.status_code == 200:
                rec["body"] = r.json().get("snapshot")
        except Exception as exc:  # noqa: BLE001 - every failure is counted, none stops the client
            rec.update(status=None, error=f"{type(exc).__name__}: {exc}")
        rec["t1"] = time.monotonic()
        out.append(rec)


def bench_refresh_under_load(data: Dataset, snapshot_root: Path, quick: bool) -> tuple[Table, list[Target]]:
    table = Table(f"Refresh under load ({CLIENTS} clients, {data.label} events)",
                  ["path", "requests", "failed", "mixed snapshots", "old snapshot after the refresh returned",
                   "versions answered", "result"])
    missing = chain_available()
    if missing:
        table.add("direct and through Varnish", "", "", "", "", missing, "not measured")
        return table, [Target("refresh under load", "0 failed, 0 mixed", missing, None)]

    from bench.http_bench import data_paths

    work = data.work / "load"
    shutil.rmtree(work, ignore_errors=True)
    source, root = work / "source", work / "snapshots"
    source.mkdir(parents=True)
    version = (snapshot_root / "CURRENT").read_text().strip()
    shutil.copytree(snapshot_root / version, root / version)
    shutil.copy(snapshot_root / "CURRENT", root / "CURRENT")
    new_export = changed_export(data.events)
    os.symlink(new_export, source / new_export.name)
    paths = data_paths(root, per_route=20)

    started = []
    try:
        redis = servers.start_redis(servers.LOGS)
        started.append(redis)
        env = {"DATAVIZ_CACHE_REDIS_URL": f"redis://127.0.0.1:{redis.port}/0"}
        web = servers.gunicorn("app.wsgi:server", root, "gunicorn-load", env=env)
        started.append(web)
        varnish = servers.varnishd(web.port)
        started.append(varnish)
        records: list[dict] = []
        stop = threading.Event()
        threads = [threading.Thread(target=_client, args=(paths, [web.url, varnish.url], stop, records, k * 7),
                                    daemon=True) for k in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(3.0)
        refresh_env = {**os.environ, **env, "DATAVIZ_SNAPSHOT_DIR": str(root), "DATAVIZ_SOURCE": str(source),
                       "DATAVIZ_API_KEYS": f"{servers.API_KEY}:*", "DATAVIZ_WEB_URLS": web.url,
                       "DATAVIZ_VARNISH_URLS": varnish.url}
        log(f"load: refreshing {new_export.name} under {CLIENTS} clients")
        t_refresh = time.monotonic()
        proc = subprocess.run([PYTHON, "-m", "etl", "refresh"], cwd=ROOT, env=refresh_env, capture_output=True,
                              text=True, timeout=1800)
        t_done = time.monotonic()
        time.sleep(3.0)
        stop.set()
        for t in threads:
            t.join(60)
    finally:
        for s in reversed(started):
            servers.stop(s)

    new_version = (root / "CURRENT").read_text().strip()
    ok_refresh = proc.returncode == 0 and new_version != version
    all_ok = ok_refresh
    totals = {"requests": 0, "failed": 0, "mixed": 0, "stale": 0}
    for via in ("direct", "varnish"):
        recs = [r for r in records if r["via"] == via]
        failed = [r for r in recs if r.get("status") != 200]
        mixed = [r for r in recs if r.get("status") == 200 and r.get("header") != r.get("body")]
        stale = [r for r in recs if r.get("status") == 200 and r["t0"] > t_done and r.get("body") == version]
        during = [r for r in recs if r["t0"] >= t_refresh and r["t1"] <= t_done]
        seen = {}
        for r in recs:
            if r.get("body"):
                seen[r["body"]] = seen.get(r["body"], 0) + 1
        ok = not failed and not mixed and not stale
        all_ok &= ok
        for k, v in (("requests", recs), ("failed", failed), ("mixed", mixed), ("stale", stale)):
            totals[k] += len(v)
        table.add(f"{'gunicorn directly' if via == 'direct' else 'through Varnish'}", f"{len(recs)} "
                  f"({len(during)} during the refresh)", len(failed), len(mixed), len(stale),
                  ", ".join(f"{'old' if v == version else 'new' if v == new_version else v}: {n}"
                            for v, n in seen.items()), verdict(ok))
        for r in (failed + mixed + stale)[:2]:
            table.notes.append(f"{via}: example problem: {r}")
    table.notes.append(f"`python -m etl refresh` (changed export: same tenants, calendar one day later) took "
                       f"{fmt_s(t_done - t_refresh)} under load and exited {proc.returncode}; live snapshot "
                       f"{version} → {new_version}. Chain: app cache on Redis, `DATAVIZ_WEB_URLS` the gunicorn, "
                       "`DATAVIZ_VARNISH_URLS` the Varnish.")
    if proc.returncode != 0:
        table.notes.append("refresh output: " + " ".join((proc.stdout + proc.stderr).split())[-600:])
    table.notes.append(f"{CLIENTS} threads (requests.Session each), alternating gunicorn and Varnish, cycling "
                       "through a mix of the 5 data routes; 3 s before the refresh and 3 s after it returned.")
    return table, [Target("refresh under load", "0 failed, 0 mixed, no old snapshot after the refresh",
                          f"{totals['requests']} requests: {totals['failed']} failed, {totals['mixed']} mixed, "
                          f"{totals['stale']} old after the refresh; refresh exit {proc.returncode}", all_ok)]
