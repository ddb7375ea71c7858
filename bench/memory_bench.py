"""Memory: RSS and PSS of each gunicorn worker holding the snapshot, against the raw events
as a pandas DataFrame (``DataFrame.memory_usage(deep=True)``), and every web process of the
host together (PSS: a page shared by n processes counts 1/n in each), after loading and after
queries over every tenant's whole history have read the snapshot in both workers."""
from __future__ import annotations

import datetime as dt
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench import servers
from bench.common import GB, MB, Stat, Table, Target, fmt_bytes, fmt_ratio, log, run_task, verdict
from bench.data import Dataset

TARGET = 500 * MB
HOST_TARGET = 2 * GB  # every web process of a host together, PSS, 100M events (issue 14)


def _hit(url: str, n: int = 64, threads: int = 8, paths: list[str] | None = None) -> None:
    def one(path):
        request = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {servers.API_KEY}"})
        try:
            with urllib.request.urlopen(request, timeout=60) as r:
                r.read()
        except urllib.error.HTTPError:
            pass  # 503 from a worker whose other thread is still loading the snapshot

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, paths or ["/readyz"] * n))


def _whole_history_paths(snapshot_root: Path, variants: int = 6) -> list[str]:
    """Per tenant, ``variants`` distinct whole-history ranges (distinct, so the shared answer cache never
    spares a worker the reading) of kpis, heatmap and breakdowns by a user-side and a training-side dimension:
    every column of every frame, in every tenant's rows, read by whichever worker answers."""
    from app.store import day_date, load_snapshot
    from etl import snapshot_format as snapshots

    snap = load_snapshot(snapshot_root, snapshots.live_version(snapshot_root))
    paths = []
    for tenant, ts in sorted(snap.tenants.items()):
        base = f"/api/v1/tenants/{urllib.parse.quote(tenant, safe='')}"
        for k in range(variants):
            span = {"from": (day_date(ts.first_day) - dt.timedelta(days=k)).isoformat(),
                    "to": day_date(ts.last_day).isoformat()}
            paths += [f"{base}/kpis?{urllib.parse.urlencode(span)}", f"{base}/heatmap?{urllib.parse.urlencode(span)}",
                      *(f"{base}/breakdown?{urllib.parse.urlencode({**span, 'metric': 'active_learners', 'by': by})}"
                        for by in ("group", "category", "training"))]
    return paths


def _wait_booted(url: str, procs, timeout: float = 60.0) -> None:
    """Until the app answers and no worker's RSS has moved for a second (imports done)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=10).read()
            break
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    last = None
    while time.monotonic() < deadline:
        now = [p.memory_info().rss for p in procs]
        if now == last:
            return
        last = now
        time.sleep(1.0)


def _start_to_ready(snapshot_root: Path, timeout: float = 60.0) -> float:
    """Seconds from gunicorn's start until a worker answers ``/readyz`` with 200 (snapshot mapped): the workers
    boot side by side, so it is about what each takes (issue 14: < 5 s with the 100M snapshot)."""
    started = time.perf_counter()
    server = servers.gunicorn("app.wsgi:server", snapshot_root, "gunicorn-start")
    try:
        while time.perf_counter() - started < timeout:
            try:
                with urllib.request.urlopen(f"{server.url}/readyz", timeout=timeout) as r:
                    r.read()
                    return time.perf_counter() - started
            except (urllib.error.URLError, OSError):
                time.sleep(0.02)  # 503 while the worker imports or maps, or the port not yet open
        raise TimeoutError(f"no worker was ready {timeout:.0f} s after gunicorn started")
    finally:
        servers.stop(server)


def _snapshot_bytes(snapshot_root: Path) -> int:
    from app.store import load_snapshot
    from etl import snapshot_format as snapshots

    snap = load_snapshot(snapshot_root, snapshots.live_version(snapshot_root))
    frames = (snap.facts, snap.rollup, snap.hourly, snap.users, snap.trainings, snap.assignments)
    return sum(a.nbytes for frame in frames for a in frame.values())


def bench_memory(data: Dataset, snapshot_root: Path, raw_dir: Path | None) -> tuple[Table, list[Target]]:
    """The web processes' memory over the snapshot, against the raw events as a DataFrame (``raw_dir``; None at
    100M events, which would not fit this machine as a DataFrame: then no comparison)."""
    # what loading the snapshot adds to a process that imported the app, measured alone first
    load = run_task("snapshot_load_rss", snapshot_root)
    fresh = load.info
    growth = fresh["loaded"] - fresh["imported"]
    server = servers.gunicorn("app.wsgi:server", snapshot_root, "gunicorn-memory")
    try:
        procs = servers.workers(server, expected=2)
        _wait_booted(server.url, procs)
        idle = {p.pid: p.memory_full_info() for p in procs}
        # Every worker loads the snapshot on its first request: hit /readyz from 8 connections
        # until each worker has grown by at least half of what the snapshot added alone.
        loaded_all = False
        for _ in range(30):
            _hit(server.url)
            time.sleep(0.3)
            if all(p.memory_info().rss - idle[p.pid].rss > growth / 2 for p in procs):
                loaded_all = True
                break
        time.sleep(1.0)
        loaded = {p.pid: p.memory_full_info() for p in procs}
        master = __import__("psutil").Process(server.pid).memory_full_info()
        paths = _whole_history_paths(snapshot_root)
        t0 = time.perf_counter()
        for _ in range(2):  # each path twice: two chances of reaching each worker
            _hit(server.url, paths=paths)
        read_all = time.perf_counter() - t0
        queried = {p.pid: p.memory_full_info() for p in procs}
        master_after = __import__("psutil").Process(server.pid).memory_full_info()
    finally:
        servers.stop(server)
    ready = _start_to_ready(snapshot_root)
    frame = run_task("pandas_frame_size", raw_dir) if raw_dir is not None else None
    deep = frame.info["deep_bytes"] if frame else None

    def share(size: float) -> str:
        """``size`` as a multiple of the raw DataFrame's, when there is one."""
        return fmt_ratio(size / deep) if deep else ""
    arrays = _snapshot_bytes(snapshot_root)

    rss = Stat([m.rss for m in loaded.values()])
    pss = Stat([m.pss for m in loaded.values()])
    ok = rss.max < TARGET
    table = Table(f"Memory, {data.label} events",
                  ["what", "size", "÷ raw events DataFrame", "target", "result"])
    for i, (pid, m) in enumerate(sorted(loaded.items())):
        table.add(f"gunicorn worker {i + 1}: RSS (PSS) with the snapshot loaded",
                  f"{fmt_bytes(m.rss)} ({fmt_bytes(m.pss)})", share(m.rss),
                  f"< {fmt_bytes(TARGET)} RSS", verdict(m.rss < TARGET))
    for i, (pid, m) in enumerate(sorted(idle.items())):
        table.add(f"gunicorn worker {i + 1}: RSS (PSS) before its first request", f"{fmt_bytes(m.rss)} "
                  f"({fmt_bytes(m.pss)})", share(m.rss), "", "")
    table.add("gunicorn master: RSS (PSS)", f"{fmt_bytes(master.rss)} ({fmt_bytes(master.pss)})", "", "", "")
    together = master.pss + sum(m.pss for m in loaded.values())
    table.add("**every web process together (master and workers), PSS, after loading**", fmt_bytes(together),
              share(together), "", "")
    for i, (pid, m) in enumerate(sorted(queried.items())):
        table.add(f"gunicorn worker {i + 1}: RSS (PSS) after queries over every tenant's whole history",
                  f"{fmt_bytes(m.rss)} ({fmt_bytes(m.pss)})", share(m.rss), "", "")
    after = master_after.pss + sum(m.pss for m in queried.values())
    table.add("**every web process together, PSS, after those queries**", fmt_bytes(after), share(after),
              "", "")
    table.add("gunicorn start to a worker ready (`/readyz` 200, the snapshot mapped), a second start",
              f"{ready:.2f} s", "", "< 5 s", verdict(ready < 5.0))
    table.add("snapshot arrays in memory (sum of numpy `nbytes`)", fmt_bytes(arrays), share(arrays), "", "")
    table.add("a fresh process: after importing the app (`app.wsgi`)", fmt_bytes(fresh["imported"]),
              share(fresh["imported"]), "", "")
    table.add(f"… then after `load_snapshot` (as a worker; it took {load.seconds * 1000:.0f} ms)",
              fmt_bytes(fresh["loaded"]), share(fresh["loaded"]), "", "")
    table.add(f"… then after Arrow's pool ({fresh['pool']}) returns its free pages (`release_unused()`)",
              fmt_bytes(fresh["released"]), share(fresh["released"]), "", "")
    if frame:
        table.add(f"raw events as a pandas DataFrame ({frame.info['rows']:,} rows), `memory_usage(deep=True)`",
                  fmt_bytes(deep), "1×", "", "")
        table.add("peak RSS of the process that read it (`pd.read_parquet`)", fmt_bytes(frame.peak_rss),
                  share(frame.peak_rss), "", "")
    table.notes.append(f"The queries over every tenant's whole history: {len(paths):,} distinct API requests "
                       f"(kpis, heatmap, breakdowns by group, category and training), each sent twice from 8 "
                       f"connections, {read_all:.0f} s.")
    if not loaded_all:
        table.notes.append("Not every worker showed the snapshot's growth after 30 bursts of /readyz: a worker "
                           "that never got a request is measured without the snapshot.")
    table.notes.append("Workers as deployed (`deploy/gunicorn.conf.py`: gthread, `preload_app = False`, 2 workers "
                       "here); each loads the snapshot after its first request. RSS and PSS read with psutil "
                       "(`memory_full_info`, from `/proc/<pid>/smaps`); one measurement per worker.")
    if frame:
        table.notes.append("DataFrame dtypes (`pd.read_parquet` defaults): " + ", ".join(
            f"{c} {t}" for c, t in frame.info["dtypes"].items()) + ".")
    targets = [Target(f"RSS per web worker, {data.label} events", f"< {fmt_bytes(TARGET)}",
                      f"{fmt_bytes(rss.max)} (largest of {rss.n} workers; PSS {fmt_bytes(pss.max)})", ok)]
    if data.events >= 100_000_000:  # issue 14's targets, on 100M events
        targets += [Target(f"every web process together (PSS) after queries, {data.label} events",
                           f"≤ {fmt_bytes(HOST_TARGET)}", fmt_bytes(after), after <= HOST_TARGET),
                    Target(f"gunicorn start to a ready worker, {data.label} events", "< 5 s", f"{ready:.2f} s",
                           ready < 5.0)]
    log(f"memory: workers {[fmt_bytes(m.rss) for m in loaded.values()]}, raw DataFrame "
        f"{fmt_bytes(deep) if deep else 'not measured'}")
    return table, targets
