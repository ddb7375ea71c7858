"""Assignments (issue 17): what assignments.csv adds to the refresh, and to ``kpis``, beside the same export without it.

The baseline is the very same export without its ``assignments.csv``: the only
difference is the assignments (reading and checking them, their frame, and the
assignment metrics each ``kpis`` answer now carries). Refresh rounds and query
passes interleave both sides, as in ``bench.zones_bench``.
"""
from __future__ import annotations

import shutil

from app.store import load_snapshot
from bench.common import Stat, Table, Target, fmt_ms, fmt_ratio, fmt_s, fmt_stat, log, median, percentile, run_task
from bench.data import Dataset
from bench.query_bench import Product, _pass, draw_workload

RATIO_TARGET = 1.2  # × without assignments: this branch's own bar, the issue names none



def bench_assignments(data: Dataset, runs: int, passes: int = 5, n_cases: int = 200) -> tuple[list[Table], list[Target]]:
    from etl import snapshot_format as snapshots

    sides = {"assignments": data.export_root, "none": data.without("assignments")}
    snap = lambda side, i: data.work / f"assignments-{side}-snapshots-{i}"
    refreshes: dict[str, list] = {side: [] for side in sides}
    for i in range(-1, runs):  # round -1 warms up and is not counted
        for side, root in sides.items():
            shutil.rmtree(snap(side, i), ignore_errors=True)
            r = run_task("refresh", root, snap(side, i))
            if i < runs - 1:
                shutil.rmtree(snap(side, i), ignore_errors=True)
            if i >= 0:
                refreshes[side].append(r)
                log(f"assignments {data.label} round {i + 1}/{runs}: {side} refresh {r.seconds:.2f}s")

    loaded = {side: load_snapshot(snap(side, runs - 1), snapshots.live_version(snap(side, runs - 1)))
              for side in sides}
    manifest = loaded["assignments"].manifest
    rows = manifest["rows"]["assignments_frame"]
    with_some = sum(ts.assignments.stop > ts.assignments.start for ts in loaded["assignments"].tenants.values())
    shape = f"{rows:,} assignments, {with_some} of {len(loaded['assignments'].tenants)} tenants"
    refresh = Table(f"Refresh with assignments, {data.label} events ({shape})",
                    ["export", "runs", "time: median (min–max)", "added", "÷ without", "target", "result"])
    seconds = {side: [r.seconds for r in refreshes[side]] for side in sides}
    ratio = median([a / b for a, b in zip(seconds["assignments"], seconds["none"])])
    added = median([a - b for a, b in zip(seconds["assignments"], seconds["none"])])
    ok = ratio <= RATIO_TARGET
    refresh.add("with `assignments.csv`", runs, fmt_stat(Stat(seconds["assignments"])), fmt_s(added),
                fmt_ratio(ratio), f"≤ {RATIO_TARGET}×", "**pass**" if ok else "**MISS**")
    refresh.add("without", runs, fmt_stat(Stat(seconds["none"])), "", "1×", "", "")
    steps = {side: {s: median([r.info["timings"][s] for r in refreshes[side]]) for s in refreshes[side][0].info["timings"]}
             for side in sides}
    refresh.notes.append("Refresh steps (median s), with / without: " + ", ".join(
        f"{s} {steps['assignments'][s]:.2f} / {steps['none'].get(s, float('nan')):.2f}" for s in steps["assignments"])
        + ".")
    targets = [Target(f"refresh with {rows:,} assignments, {data.label} events", f"≤ {RATIO_TARGET}× without",
                      f"{fmt_ratio(ratio)} (+{fmt_s(added)})", ok)]

    cases = draw_workload(loaded["assignments"], n_cases)["kpis"]
    products = {side: Product(s) for side, s in loaded.items()}
    samples: dict[str, list[float]] = {side: [] for side in sides}
    for side in sides:
        _pass(products[side], "kpis", cases)  # warm-up
    for _ in range(passes):
        for side in sides:
            samples[side] += _pass(products[side], "kpis", cases)[0]
    p99 = {side: percentile(samples[side], 99) for side in sides}
    query = Table(f"`kpis` with assignments, {data.label} events ({shape})",
                  ["export", "queries", "median", "p99", "p99 ÷ without", "target", "result"])
    ok = p99["assignments"] / p99["none"] <= RATIO_TARGET
    query.add("with `assignments.csv`", len(samples["assignments"]), fmt_ms(median(samples["assignments"]) * 1000),
              fmt_ms(p99["assignments"] * 1000), fmt_ratio(p99["assignments"] / p99["none"]), f"≤ {RATIO_TARGET}×",
              "**pass**" if ok else "**MISS**")
    query.add("without", len(samples["none"]), fmt_ms(median(samples["none"]) * 1000), fmt_ms(p99["none"] * 1000),
              "1×", "", "")
    query.notes.append(f"Workload: {n_cases} seeded `kpis` cases (`bench.query_bench.draw_workload`), run unchanged "
                       f"on both snapshots; one warm-up pass each, then {passes} passes taking turns. Every answer "
                       "with assignments carries the seven assignment metrics.")
    targets.append(Target(f"`kpis` p99 with assignments, {data.label} events", f"≤ {RATIO_TARGET}× without",
                          f"{fmt_ms(p99['assignments'] * 1000)} vs {fmt_ms(p99['none'] * 1000)}", ok))
    for side in sides:
        shutil.rmtree(snap(side, runs - 1), ignore_errors=True)
    return [refresh, query], targets
