"""Benchmark family "dask": the refresh on the Dask engine against the pandas engine, on the same export.

For each size, the export's activity file as the LMS writes it (gzip) and
decompressed (plain CSV): the pandas engine, then the Dask engine on a
LocalCluster of single-threaded worker processes (1, 2 and 4; 1 and 4 with
``--quick``), engines taking turns in each round. Each refresh is a fresh
process (``bench.tasks``: ``refresh``, ``dask_refresh``); the cluster is
started before the refresh and timed apart. Memory is sampled from outside
every 20 ms: the refresh process (client and scheduler, combine, frames,
write) and each Dask worker on its own.
"""
from __future__ import annotations

import gzip
import shutil
import statistics

from bench.common import Stat, Table, fmt_bytes, fmt_s, fmt_stat, log, run_task
from bench.data import Dataset

BLOCK_SIZE = 16 << 20  # 1M events are 67 MB of CSV: 4 or 5 partitions, so that 4 workers have work


def _plain(data: Dataset):
    """The export with its activity file decompressed (users, trainings as they are), made once."""
    root = data.work / "plain-export"
    folder = root / data.export_dir.name
    if not (folder / "_SUCCESS").exists():
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(data.export_dir, folder, ignore=shutil.ignore_patterns("activity.csv.gz", "_SUCCESS"))
        with gzip.open(data.activity) as src, open(folder / "activity.csv", "wb") as out:
            shutil.copyfileobj(src, out, 16 << 20)
        (folder / "_SUCCESS").write_bytes(b"")
    return root


def bench_dask_engine(data: Dataset, runs: int, workers: tuple[int, ...]) -> Table:
    scratch = data.work / "dask-snapshots"
    sources = {"gzip": data.export_root, "plain": _plain(data)}
    configs = [("pandas", 1)] + [("dask", n) for n in workers]
    samples: dict[tuple[str, str], list] = {}
    for kind, source in sources.items():
        run_task("refresh", source, scratch)  # warm-up: page cache, bytecode
        for i in range(runs):
            for engine, n in configs:
                shutil.rmtree(scratch, ignore_errors=True)
                r = (run_task("refresh", source, scratch) if engine == "pandas"
                     else run_task("dask_refresh", source, scratch, n, BLOCK_SIZE))
                label = "pandas" if engine == "pandas" else f"Dask × {n}"
                samples.setdefault((kind, label), []).append(r)
                log(f"dask family {data.label} {kind} {label} round {i + 1}/{runs}: {r.seconds:.2f}s, "
                    f"refresh process {fmt_bytes(r.peak_by_pid.get(r.pid, 0))}")
    shutil.rmtree(scratch, ignore_errors=True)

    table = Table(f"Refresh, {data.label} events: pandas engine against the Dask engine (LocalCluster)",
                  ["activity file", "engine", "runs", "refresh: median (min–max)", "validate + transform",
                   "cluster start (apart)", "peak RSS, refresh process", "peak RSS per Dask worker",
                   "events per hour of ETL per worker"])
    for (kind, label), rs in samples.items():
        n_workers = 1 if label == "pandas" else int(label.split("×")[1])
        work = statistics.median(r.info["timings"]["validate"] + r.info["timings"]["transform"] for r in rs)
        per_worker = rs[0].info["rows"] / work * 3600 / n_workers
        client = Stat([r.peak_by_pid.get(r.pid, 0) for r in rs])
        worker = Stat([max((r.peak_by_pid.get(p, 0) for p in r.info.get("worker_pids", [])), default=0) for r in rs])
        table.add(kind, f"**{label}**" if label == "pandas" else label, len(rs), fmt_stat(Stat([r.seconds for r in rs])),
                  fmt_s(work), fmt_stat(Stat([r.info["cluster_start"] for r in rs])) if n_workers and label != "pandas"
                  else "–", fmt_stat(client, fmt_bytes), fmt_stat(worker, fmt_bytes) if label != "pandas" else "–",
                  f"{per_worker / 1e6:,.0f} M")
    table.notes += [
        "Same export as the ETL family; \"plain\" is its activity file decompressed. Every refresh in a fresh "
        "process after one warm-up refresh per file; \"refresh\" is `run_refresh` from the source to the "
        "published snapshot. The LocalCluster (127.0.0.1, one thread per worker, Arrow's pool too) is started "
        "before it and timed apart, as a long-lived cluster (`dask scheduler`, `dask worker`) would not pay it.",
        f"Partitions of {BLOCK_SIZE >> 20} MB of CSV. gzip: the refresh process decompresses and cuts the "
        "stream while the workers check; plain: the workers read their own blocks.",
        "Events per hour per worker: events ÷ (validate + transform) × 3600 ÷ workers (pandas: one process "
        "using every core through Arrow's threads). More workers than cores share them.",
        "Peak RSS sampled every 20 ms with psutil from the parent: the refresh process, and the largest Dask "
        "worker process.",
    ]
    return table
