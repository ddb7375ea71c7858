"""Time zones (issue 16): the refresh and the queries with 30 tenants in 10 zones, beside the same export all on UTC.

The baseline is the very same export without its ``tenants.csv`` (every tenant
on UTC): the only difference between the two is the time zones, so the ratio is
their cost (the local-hour conversion in the refresh; nothing in the queries,
which read local days as they read UTC ones). Refresh rounds and query passes
interleave both sides, and each ratio is taken within a round, then the median
of the rounds is shown, so machine noise hits both sides of a ratio.
"""
from __future__ import annotations

import shutil

from app.store import load_snapshot
from bench.common import Stat, Table, Target, fmt_ratio, fmt_s, fmt_stat, log, median, run_task, verdict
from bench.data import Dataset
from bench.query_bench import FUNCTIONS, Product, _pass, draw_workload

RATIO_TARGET = 1.1  # × all-UTC (issue 16)



def bench_zones(data: Dataset, runs: int, passes: int = 5, n_cases: int = 200) -> tuple[list[Table], list[Target]]:
    from etl import snapshot_format as snapshots

    sides = {"zones": data.export_root, "utc": data.without("tenants")}
    snap = lambda side, i: data.work / f"zones-{side}-snapshots-{i}"
    refreshes: dict[str, list] = {side: [] for side in sides}
    for i in range(-1, runs):  # round -1 warms up (page cache, bytecode) and is not counted
        for side, root in sides.items():
            shutil.rmtree(snap(side, i), ignore_errors=True)
            r = run_task("refresh", root, snap(side, i))
            if i < runs - 1:
                shutil.rmtree(snap(side, i), ignore_errors=True)  # the last round's snapshots serve the queries
            if i >= 0:
                refreshes[side].append(r)
                log(f"zones {data.label} round {i + 1}/{runs}: {side} refresh {r.seconds:.2f}s")

    loaded = {side: load_snapshot(snap(side, runs - 1), snapshots.live_version(snap(side, runs - 1)))
              for side in sides}
    zones = {loaded["zones"].tenants[t].timezone for t in loaded["zones"].tenants}
    shape = f"{len(loaded['zones'].tenants)} tenants in {len(zones)} zones vs all on UTC"
    refresh = Table(f"Refresh with time zones, {data.label} events ({shape})",
                    ["tenants' zones", "runs", "time: median (min–max)", "÷ all-UTC", "target", "result"])
    ratio = median([z.seconds / u.seconds for z, u in zip(refreshes["zones"], refreshes["utc"])])
    ok = ratio <= RATIO_TARGET
    refresh.add(f"{len(zones)} zones (`tenants.csv`)", runs, fmt_stat(Stat([r.seconds for r in refreshes["zones"]])),
                fmt_ratio(ratio), f"≤ {RATIO_TARGET}×", verdict(ok))
    refresh.add("all UTC (no `tenants.csv`)", runs, fmt_stat(Stat([r.seconds for r in refreshes["utc"]])), "1×", "", "")
    steps = {side: {s: median([r.info["timings"][s] for r in refreshes[side]]) for s in refreshes[side][0].info["timings"]}
             for side in sides}
    refresh.notes.append("Refresh steps (median s), zoned / all UTC: " + ", ".join(
        f"{s} {steps['zones'][s]:.2f} / {steps['utc'].get(s, float('nan')):.2f}" for s in steps["zones"]) + ".")
    targets = [Target(f"refresh with {len(zones)} zones, {data.label} events", f"≤ {RATIO_TARGET}× all-UTC",
                      f"{fmt_ratio(ratio)} ({fmt_s(median([r.seconds for r in refreshes['zones']]))} vs "
                      f"{fmt_s(median([r.seconds for r in refreshes['utc']]))})", ok)]

    workload = draw_workload(loaded["zones"], n_cases)  # the same cases on both sides: same tenants, same dates
    products = {side: Product(s) for side, s in loaded.items()}
    query = Table(f"Queries with time zones, {data.label} events ({shape})",
                  ["function", "queries × passes", "zoned: median of passes (min–max)",
                   "all UTC: median of passes (min–max)", "÷ all-UTC", "target", "result"])
    ratios = []
    for f in FUNCTIONS:
        samples = {side: [] for side in sides}
        for side in sides:
            _pass(products[side], f, workload[f])  # warm-up
        for _ in range(passes):
            for side in sides:
                samples[side].append(median(_pass(products[side], f, workload[f])[0]))
        r = median([z / u for z, u in zip(samples["zones"], samples["utc"])])
        ratios.append(r)
        query.add(f"`{f}`", f"{n_cases} × {passes}", fmt_stat(Stat(samples["zones"])), fmt_stat(Stat(samples["utc"])),
                  fmt_ratio(r), f"≤ {RATIO_TARGET}×", verdict(r <= RATIO_TARGET))
    worst = max(ratios)
    targets.append(Target(f"query latency with {len(zones)} zones, {data.label} events", f"≤ {RATIO_TARGET}× all-UTC",
                          f"worst function {fmt_ratio(worst)}", worst <= RATIO_TARGET))
    query.notes.append(f"Workload: {n_cases} seeded cases per function (`bench.query_bench.draw_workload` over the "
                       f"zoned snapshot), run unchanged on both snapshots; one warm-up pass each, then {passes} "
                       "passes taking turns. A ratio is the median over the passes of (zoned ÷ UTC) medians.")
    for side in sides:
        shutil.rmtree(snap(side, runs - 1), ignore_errors=True)
    return [refresh, query], targets
