"""Benchmark family "dask": the refresh on the Dask engine against the pandas engine, same export.

``python -m bench.dask_engine [--events N] [--runs R] [--workers 1 2 4]`` writes
``docs/benchmarks-dask.md`` (``make bench`` runs it). ``measure(...)`` returns
the rows and ``markdown(...)`` renders them, for a report that gathers families.

Each refresh runs in a fresh process (``--task``), the export's activity file
gzip and plain: the pandas engine, then the Dask engine on a ``LocalCluster``
of 1, 2 and 4 single-threaded worker processes, started by the task before
the refresh and timed apart. The parent samples every process of the task's
tree every 20 ms: the peak RSS of the refresh process (client, scheduler and
the combine and write steps) and of each Dask worker process.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache" / "dask"
BLOCK_SIZE = 16 << 20  # 1M events are 67 MB of CSV: 4 or 5 partitions, so that 4 workers have work
TENANTS, SEED, END_DATE, DAYS = 30, 7, dt.date(2026, 10, 31), 730
MB = 1 << 20


def export(events: int) -> Path:
    """A generated export (gzip, as the LMS writes it) and its plain copy, made once per size."""
    from etl.generate import generate_export

    root = CACHE / f"exports-{events}"
    if not (root / "plain").is_dir():
        shutil.rmtree(root, ignore_errors=True)
        generate_export(str(root / "gz"), events=events, tenants=TENANTS, seed=SEED, end_date=END_DATE, days=DAYS)
        (folder,) = (root / "gz").iterdir()
        plain = root / ".plain" / folder.name
        shutil.copytree(folder, plain)
        with gzip.open(plain / "activity.csv.gz") as src, open(plain / "activity.csv", "wb") as out:
            shutil.copyfileobj(src, out, 16 << 20)
        (plain / "activity.csv.gz").unlink()
        (root / ".plain").rename(root / "plain")
    return root


# --- the measured process ----------------------------------------------------------------------------------

def task(engine: str, workers: int, source: str, snapshot_dir: str) -> dict:
    """One refresh, as ``python -m etl refresh --engine ...`` runs it, the cluster's start timed apart."""
    from etl.refresh import run_refresh

    started = time.perf_counter()
    if engine == "pandas":
        result = run_refresh(source, snapshot_dir, force=True)
        cluster_start = 0.0
    else:
        from distributed import Client, LocalCluster

        from etl.dask_engine import DaskEngine

        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None, silence_logs=logging.WARNING) as cluster, Client(cluster) as client:
            cluster_start = time.perf_counter() - started
            started = time.perf_counter()
            result = run_refresh(source, snapshot_dir, force=True,
                                 engine=DaskEngine(client=client, block_size=BLOCK_SIZE))
    if result.outcome != "published":
        raise SystemExit(f"refresh did not publish: {result.message}")
    return {"seconds": time.perf_counter() - started, "cluster_start": cluster_start,
            "timings": result.report["timings"], "events": result.report["rows_accepted"], "version": result.version}


# --- the parent --------------------------------------------------------------------------------------------

class Peaks:
    """Peak RSS of a process and of each of its descendants, sampled every 20 ms."""

    def __init__(self, pid: int):
        self.root = psutil.Process(pid)
        self.peaks: dict[int, int] = {}
        self.workers: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for proc in procs:
                try:
                    rss = proc.memory_info().rss
                    if proc.pid not in self.workers and proc.pid != self.root.pid and "spawn_main" in " ".join(
                            proc.cmdline()):
                        self.workers.add(proc.pid)  # a Dask worker (LocalCluster spawns them)
                except psutil.Error:
                    continue
                self.peaks[proc.pid] = max(self.peaks.get(proc.pid, 0), rss)
            self._stop.wait(0.02)

    def __enter__(self) -> "Peaks":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def client(self) -> int:
        return self.peaks.get(self.root.pid, 0)

    @property
    def worker(self) -> int:
        return max((self.peaks[p] for p in self.workers if p in self.peaks), default=0)


@dataclass
class Run:
    seconds: float
    cluster_start: float
    validate: float
    transform: float
    events: int
    client_rss: int
    worker_rss: int


def run_task(engine: str, workers: int, source: Path, snapshot_dir: Path) -> Run:
    shutil.rmtree(snapshot_dir, ignore_errors=True)
    proc = subprocess.Popen([sys.executable, "-m", "bench.dask_engine", "--task", engine, "--workers", str(workers),
                             "--source", str(source), "--snapshot-dir", str(snapshot_dir)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    with Peaks(proc.pid) as peaks:
        out, _ = proc.communicate(timeout=3600)
    if proc.returncode:
        raise RuntimeError(f"{engine} × {workers}: the refresh failed (exit {proc.returncode})")
    info = json.loads(out.strip().splitlines()[-1])
    shutil.rmtree(snapshot_dir, ignore_errors=True)
    return Run(info["seconds"], info["cluster_start"], info["timings"]["validate"], info["timings"]["transform"],
               info["events"], peaks.client, peaks.worker)


def measure(events: int, runs: int, workers: list[int]) -> dict:
    """``{(file kind, engine label): [Run, ...]}``, the engines taking turns within each round."""
    root = export(events)
    configs = [("pandas", 1)] + [("dask", n) for n in workers]
    results: dict = {}
    for kind in ("gz", "plain"):
        run_task("pandas", 1, root / kind, CACHE / "warm-up")  # page cache, bytecode
        for i in range(runs):
            for engine, n in configs:
                label = "pandas" if engine == "pandas" else f"dask × {n}"
                r = run_task(engine, n, root / kind, CACHE / "snapshots")
                results.setdefault((kind, label), []).append(r)
                print(f"[bench dask] {kind} {label} round {i + 1}/{runs}: {r.seconds:.2f}s "
                      f"(+{r.cluster_start:.1f}s cluster), client {r.client_rss / MB:.0f} MB, "
                      f"worker {r.worker_rss / MB:.0f} MB", file=sys.stderr, flush=True)
    return results


def _stat(values: list[float], fmt) -> str:
    med = statistics.median(values)
    return fmt(med) if len(values) == 1 else f"{fmt(med)} ({fmt(min(values))}–{fmt(max(values))})"


def markdown(results: dict, events: int, runs: int, started: dt.datetime, seconds: float) -> str:
    secs = lambda v: f"{v:.2f} s"
    mbs = lambda v: f"{v / MB:.0f} MB"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        "# Benchmarks: the Dask engine",
        "",
        f"Written by `python -m bench.dask_engine --events {events} --runs {runs}` (part of `make bench`) on "
        f"{started:%Y-%m-%d %H:%M} UTC in {seconds / 60:.1f} minutes; {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.1f} GB, Python {platform.python_version()}, "
        f"load average at the end {load} (other engineers share this machine). Every figure comes from that run.",
        "",
        f"### Refresh of {events:,} events, pandas engine against the Dask engine on a LocalCluster",
        "",
        "| activity file | engine | refresh: median (min–max) | validate | transform | cluster start (apart) "
        "| peak RSS, refresh process | peak RSS per Dask worker | events per hour per worker |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for (kind, label), rs in results.items():
        workers = 1 if label == "pandas" else int(label.split("×")[1])
        work = statistics.median(r.validate + r.transform for r in rs)
        per_worker = rs[0].events / work * 3600 / workers
        lines.append(
            f"| {'gzip' if kind == 'gz' else 'plain'} | {label} | {_stat([r.seconds for r in rs], secs)} "
            f"| {statistics.median(r.validate for r in rs):.2f} s | {statistics.median(r.transform for r in rs):.2f} s "
            f"| {_stat([r.cluster_start for r in rs], secs) if workers and label != 'pandas' else '–'} "
            f"| {_stat([r.client_rss for r in rs], mbs)} "
            f"| {_stat([r.worker_rss for r in rs], mbs) if label != 'pandas' else '–'} "
            f"| {per_worker / 1e6:.0f} M |")
    lines += [
        "",
        f"- {runs} rounds, engines taking turns in each; every refresh in a fresh process, after one warm-up "
        "refresh per file. \"refresh\" is `run_refresh` from the source to the published snapshot; the "
        "LocalCluster is started before it and timed apart (\"cluster start\"), as a long-lived cluster "
        "(`dask scheduler` / `dask worker`) would not pay it per refresh.",
        f"- Dask partitions of {BLOCK_SIZE >> 20} MB of CSV; workers have one thread each (Arrow's pool too). "
        "gzip: the refresh process decompresses and cuts the stream, the workers check the partitions; "
        "plain: the workers read their blocks themselves.",
        "- \"events per hour per worker\": events ÷ (validate + transform) × 3600 ÷ workers (the pandas engine "
        "counts as one). With more workers than the machine's cores, the workers share them.",
        "- Peak RSS sampled every 20 ms with psutil from the parent: the refresh process (client, scheduler, "
        "combine, build_frames, write) and the largest of the worker processes.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.dask_engine", description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks-dask.md"))
    p.add_argument("--task", choices=("pandas", "dask"), help=argparse.SUPPRESS)
    p.add_argument("--source", help=argparse.SUPPRESS)
    p.add_argument("--snapshot-dir", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.task:
        print(json.dumps(task(args.task, args.workers[0], args.source, args.snapshot_dir)))
        return 0
    started, clock = dt.datetime.now(dt.timezone.utc), time.perf_counter()
    results = measure(args.events, args.runs, args.workers)
    text = markdown(results, args.events, args.runs, started, time.perf_counter() - clock)
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
