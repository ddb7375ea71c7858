"""``python -m bench [--quick | --large] [--only FAMILY ...]``: run the benchmarks, write docs/benchmarks.md.

Full run: exports of 1M and 10M events of both data profiles (``bench.data.PROFILES``:
the ETL and query families measure both, the ETL family also the default profile in 20,000 tenants
(``bench.data.MANY_TENANTS``); long ranges (``ranges``) many-learners at every size; memory the
default profile's largest and many-learners at every size; the others the default profile's largest),
then 100M events of each profile (``bench.data.LARGE``) in the families whose targets name that size (etl,
ranges, memory): a profile this machine has not the memory to refresh is a missed target, not a run.
``--quick``: 1M of each only. ``--large``: the 100M runs alone (about 8 minutes here, 10 the first time,
which generates the export; most of it the refresh and its pyarrow baseline).
Families run in this order: etl, dask, queries, ranges, zones, learners, assignments, memory, http, dashboards,
lighthouse, load (zones: the default profile's 30 tenants in 10 time zones against the same export all on UTC;
learners measures many-learners at every size, as drawn and in one tenant (the worst shape for a list);
assignments: the default profile with one assignment per five events, and a bad shape of 3 tenants, against the
same exports without assignments.csv).
``--only`` and ``--large`` are for working on one part; they write the report to
``bench/.cache/benchmarks-partial.md`` instead of ``docs/``, so the committed
report is always a whole run.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
import traceback

import psutil

from bench import data, report
from bench.common import CACHE, ROOT, Table, Target, log

FAMILIES = ("etl", "dask", "queries", "ranges", "zones", "learners", "assignments", "memory", "http", "dashboards",
            "lighthouse", "load")
LARGE_FAMILIES = ("etl", "ranges", "memory")  # the families with a 100M run (``Context.large``)


class Context:
    """What the families share: the sizes, the datasets of each profile (with their snapshots once refreshed)."""

    def __init__(self, quick: bool, sizes: bool = True):
        self.quick = quick
        self.sizes = ([1_000_000] if quick else [1_000_000, 10_000_000]) if sizes else []
        self._large: list | None = None
        self.profiles = data.PROFILES
        self.datasets = {n: data.export(n) for n in self.sizes}  # the default profile
        self.shapes = {(p, n): self.datasets[n] if p == "default" else data.export(n, p)
                       for p in self.profiles for n in self.sizes}

    @property
    def largest(self) -> data.Dataset:
        return self.datasets[self.sizes[-1]]

    def large(self) -> list[tuple[str, data.Dataset | None]]:
        """The 100M exports of each profile this machine has the memory to refresh (None: it has not), generated
        once (the default profile's takes about 3.5 minutes and 1.8 GB)."""
        if self.quick:
            return []
        if self._large is None:  # once: each family reuses the snapshot the etl family left
            total = psutil.virtual_memory().total
            self._large = [(p, data.export(data.LARGE, p) if total >= data.LARGE_MEMORY_NEEDED[p] else None)
                           for p in self.profiles]
        return self._large

    def snapshot(self, dataset: data.Dataset):
        """The dataset's snapshot root; refreshed once here when the etl family did not run."""
        if dataset.snapshot_root is None:
            import shutil

            from bench.common import run_task

            root = dataset.work / "snapshots"
            shutil.rmtree(root, ignore_errors=True)
            log(f"refreshing the {dataset.label} export for the benchmarks that need a snapshot")
            run_task("refresh", dataset.export_root, root)
            dataset.snapshot_root = root
        return dataset.snapshot_root

    def raw(self, dataset: data.Dataset):
        """Raw validated events (and labelled dimensions) as Parquet, written once per run."""
        if dataset.raw_dir is None:
            from bench.common import run_task

            out = dataset.work / "raw"
            log(f"writing the {dataset.label} raw events to Parquet")
            run_task("raw_events", dataset.export_dir, self.snapshot(dataset), out)
            dataset.raw_dir = out
        return dataset.raw_dir


def run_etl(ctx: Context):
    from bench import etl_bench

    tables, targets = [], []
    for profile in ctx.profiles if ctx.sizes else ():
        t, g = etl_bench.bench_generator(ctx.sizes, runs=3, profile=profile)
        tables.append(t)
        targets += g
    for n in ctx.sizes:
        runs = 5 if n < 10_000_000 else 3
        for d in (*(ctx.shapes[profile, n] for profile in ctx.profiles), data.export(n, tenants=data.MANY_TENANTS)):
            t, g = etl_bench.bench_refresh(d, runs)
            tables.append(t)
            targets += g
    for profile, d in ctx.large():
        if d is None:
            targets.append(not_run(profile, "refresh"))
            continue
        t, g = etl_bench.bench_refresh(d, 1)
        tables.append(t)
        targets += g
    return "ETL", tables, targets


def not_run(profile: str, what: str) -> Target:
    """A 100M run this machine has not the memory for: a missed target, with why."""
    needed, total = data.LARGE_MEMORY_NEEDED[profile], psutil.virtual_memory().total
    return Target(f"{what}, {data.label(data.LARGE)} {profile}", "runs",
                  f"not run: its refresh needs about {needed >> 30} GB, this machine has {total / 2**30:.0f} GB", False)


def run_dask(ctx: Context):
    from bench import dask_engine

    if ctx.quick:
        return "Dask engine", [dask_engine.bench_dask_engine(ctx.datasets[1_000_000], 1, (1, 4))], []
    tables = [dask_engine.bench_dask_engine(ctx.datasets[n], 3 if n < 10_000_000 else 1,
                                            (1, 2, 4) if n < 10_000_000 else (1, 4)) for n in ctx.sizes]
    return "Dask engine", tables, []


def run_queries(ctx: Context):
    from bench import query_bench

    tables, targets = [], []
    for n, profile in ((n, p) for n in ctx.sizes for p in ctx.profiles):
        d = ctx.shapes[profile, n]
        t, g = query_bench.bench_queries(d, ctx.snapshot(d), ctx.raw(d), quick=ctx.quick)
        tables.append(t)
        targets += g
    return "Queries", tables, targets


def run_ranges(ctx: Context):
    from bench import query_bench

    tables, targets = [], []
    for n in ctx.sizes:
        d = ctx.shapes["many-learners", n]
        t, g = query_bench.bench_long_ranges(d, ctx.snapshot(d))
        tables.append(t)
        targets += g
    for profile, d in ctx.large():  # the target is on 100M events
        if d is None:
            targets.append(not_run(profile, "long ranges"))
            continue
        t, g = query_bench.bench_long_ranges(d, ctx.snapshot(d))
        tables.append(t)
        targets += g
    return "Long ranges", tables, targets


def run_zones(ctx: Context):
    from bench import zones_bench

    tables, targets = [], []
    for n in ctx.sizes:
        t, g = zones_bench.bench_zones(ctx.datasets[n], runs=5 if n < 10_000_000 else 3)
        tables += t
        targets += g
    return "Time zones", tables, targets


def run_learners(ctx: Context):
    from bench import learners_bench

    tables, targets = [], []
    for n in ctx.sizes:  # many-learners, and the same drawn for one tenant: every learner in the one list
        for d in (ctx.shapes["many-learners", n], data.export(n, "many-learners", tenants=1)):
            t, g = learners_bench.bench_learners(d, ctx.snapshot(d))
            tables.append(t)
            targets += g
    return "Learners", tables, targets


def run_assignments(ctx: Context):
    from bench import assignments_bench

    tables, targets = [], []
    for n in ctx.sizes:
        t, g = assignments_bench.bench_assignments(n, runs=5 if n < 10_000_000 else 3)
        tables += t
        targets += g
    return "Assignments", tables, targets


def run_memory(ctx: Context):
    from bench import memory_bench

    tables, targets = [], []
    for d in ((ctx.largest,) if ctx.sizes else ()) + tuple(ctx.shapes["many-learners", n] for n in ctx.sizes):
        t, g = memory_bench.bench_memory(d, ctx.snapshot(d), ctx.raw(d))
        tables.append(t)
        targets += g
    for profile, d in ctx.large():  # no raw DataFrame to compare with: it would not fit this machine
        if d is None:
            targets.append(not_run(profile, "web memory"))
            continue
        t, g = memory_bench.bench_memory(d, ctx.snapshot(d), None)
        tables.append(t)
        targets += g
    return "Memory per web worker", tables, targets


def run_http(ctx: Context):
    from bench import http_bench

    d = ctx.largest
    t, g = http_bench.bench_http(d, ctx.snapshot(d), quick=ctx.quick)
    return "HTTP", [t], g


def run_dashboards(ctx: Context):
    from bench import dash_bench

    d = ctx.largest
    t, g = dash_bench.bench_dashboards(d, ctx.snapshot(d), quick=ctx.quick)
    return "Dashboards", [t], g


def run_lighthouse(ctx: Context):
    from bench import lighthouse_bench

    d = ctx.largest
    t, g = lighthouse_bench.bench_lighthouse(d, ctx.snapshot(d))
    return "Lighthouse", [t], g


def run_load(ctx: Context):
    from bench import load_bench

    d = ctx.largest
    t, g = load_bench.bench_refresh_under_load(d, ctx.snapshot(d), quick=ctx.quick)
    return "Refresh under load", [t], g


RUNNERS = {"etl": run_etl, "dask": run_dask, "queries": run_queries, "ranges": run_ranges, "zones": run_zones,
           "learners": run_learners, "assignments": run_assignments, "memory": run_memory, "http": run_http,
           "dashboards": run_dashboards, "lighthouse": run_lighthouse, "load": run_load}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="1M events of each profile only")
    p.add_argument("--only", nargs="+", choices=FAMILIES, help="run only these families (partial report)")
    p.add_argument("--large", action="store_true",
                   help="the 100M runs alone (etl, ranges, memory; partial report): about 8 minutes here")
    args = p.parse_args(argv)
    if args.large and args.quick:
        p.error("--large and --quick exclude each other")
    command = "python -m bench --quick" if args.quick else "python -m bench"
    if args.only or args.large:
        command = (f"python -m bench{' --quick' if args.quick else ''}{' --large' if args.large else ''}"
                   + (f" --only {' '.join(args.only)}" if args.only else ""))
    started_at = dt.datetime.now(dt.timezone.utc)
    started = time.perf_counter()
    info = report.machine()
    ctx = Context(args.quick, sizes=not args.large)
    families = args.only or (LARGE_FAMILIES if args.large else FAMILIES)
    sections: list[tuple[str, list[Table]]] = []
    targets: list[Target] = []
    failed = False
    for family in families:
        log(f"--- {family}")
        try:
            title, tables, family_targets = RUNNERS[family](ctx)
        except Exception as exc:  # one broken family must not hide the others' figures
            failed = True
            traceback.print_exc()
            title = family
            t = Table(f"{family}: not measured", ["reason"])
            t.add(f"the benchmark failed: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
            tables, family_targets = [t], [Target(family, "", f"failed: {type(exc).__name__}", None)]
        for t in tables:
            print(t.text(), flush=True)
        sections.append((title, tables))
        targets += family_targets
    path = ROOT / "docs" / "benchmarks.md" if not (args.only or args.large) else CACHE / "benchmarks-partial.md"
    report.write(path, command, started_at, time.perf_counter() - started, info, sections, targets)
    print(report.targets_table(targets).text())
    log(f"wrote {path.relative_to(ROOT)} in {(time.perf_counter() - started) / 60:.1f} min")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
