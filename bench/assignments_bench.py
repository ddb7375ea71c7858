"""Assignments (issue 17): what assignments.csv adds to the refresh, and to ``kpis``, beside the same export without it.

The issue's size is one assignment per five events ("10M events with 2M
assignments"): the export is generated with exactly that many assignment rows
(``python -m etl generate --assignment-rows``). The baseline is the very same
export without its ``assignments.csv``: the only difference is the assignments
(reading and checking them, their frame, and the assignment metrics each
``kpis`` answer now carries). Refresh rounds and query passes interleave both
sides, as in ``bench.zones_bench``.

A second, bad shape puts the same numbers of events and assignments in 3
tenants, one of them holding most: its biggest answers are the p99.
"""
from __future__ import annotations

import shutil

from app.store import load_snapshot
from bench.common import (Stat, Table, Target, fmt_bytes, fmt_ms, fmt_ratio, fmt_s, fmt_stat, log, median,
                          percentile, run_task, verdict)
from bench.data import Dataset, export, label
from bench.query_bench import Product, _pass, draw_workload

EVENTS_PER_ASSIGNMENT = 5  # the 10M events with 2M assignments
BAD_SHAPE_TENANTS = 3
RATIO_TARGET = 1.2  # × without assignments: this branch's own bar, the issue names none
KPIS_P99_MS = 50.0  # `kpis` p99, with assignments, in both shapes


def bench_assignments(events: int, runs: int, passes: int = 5, n_cases: int = 200) -> tuple[list[Table], list[Target]]:
    rows = events // EVENTS_PER_ASSIGNMENT
    tables, targets = _compare(export(events, assignment_rows=rows), "", runs, passes, n_cases)
    bad = export(events, tenants=BAD_SHAPE_TENANTS, assignment_rows=rows)
    t, g = _compare(bad, f", bad shape: {BAD_SHAPE_TENANTS} tenants", 1, passes, n_cases)
    return tables + t, targets + g


def _compare(data: Dataset, shape_label: str, runs: int, passes: int,
             n_cases: int) -> tuple[list[Table], list[Target]]:
    from etl import snapshot_format as snapshots

    sides = {"assignments": data.export_root, "none": data.without("assignments")}
    snap = lambda side, i: data.work / f"assignments-{side}-snapshots-{i}"
    refreshes: dict[str, list] = {side: [] for side in sides}
    for i in range(-1 if runs > 1 else 0, runs):  # round -1 warms up and is not counted
        for side, root in sides.items():
            shutil.rmtree(snap(side, i), ignore_errors=True)
            r = run_task("refresh", root, snap(side, i))
            if i < runs - 1:
                shutil.rmtree(snap(side, i), ignore_errors=True)
            if i >= 0:
                refreshes[side].append(r)
                log(f"assignments {label(data.events)}{shape_label} round {i + 1}/{runs}: {side} refresh "
                    f"{r.seconds:.2f}s, peak {fmt_bytes(r.peak_rss)}")

    loaded = {side: load_snapshot(snap(side, runs - 1), snapshots.live_version(snap(side, runs - 1)))
              for side in sides}
    rows = loaded["assignments"].manifest["rows"]["assignments_frame"]
    tenants = loaded["assignments"].tenants
    biggest = max(ts.assignments.stop - ts.assignments.start for ts in tenants.values())
    with_some = sum(ts.assignments.stop > ts.assignments.start for ts in tenants.values())
    shape = (f"{rows:,} assignments, {with_some} of {len(tenants)} tenants, the biggest {biggest:,}"
             f"{shape_label}")
    size = label(data.events)
    refresh = Table(f"Refresh with assignments, {size} events ({shape})",
                    ["export", "runs", "time: median (min–max)", "added", "÷ without", "peak RSS: median",
                     "target", "result"])
    seconds = {side: [r.seconds for r in refreshes[side]] for side in sides}
    peaks = {side: median([r.peak_rss for r in refreshes[side]]) for side in sides}
    ratio = median([a / b for a, b in zip(seconds["assignments"], seconds["none"])])
    added = median([a - b for a, b in zip(seconds["assignments"], seconds["none"])])
    ok = ratio <= RATIO_TARGET
    refresh.add("with `assignments.csv`", runs, fmt_stat(Stat(seconds["assignments"])), fmt_s(added),
                fmt_ratio(ratio), fmt_bytes(peaks["assignments"]), f"≤ {RATIO_TARGET}×", verdict(ok))
    refresh.add("without", runs, fmt_stat(Stat(seconds["none"])), "", "1×", fmt_bytes(peaks["none"]), "", "")
    steps = {side: {s: median([r.info["timings"][s] for r in refreshes[side]])
                    for s in refreshes[side][0].info["timings"]} for side in sides}
    refresh.notes.append("Refresh steps (median s), with / without: " + ", ".join(
        f"{s} {steps['assignments'][s]:.2f} / {steps['none'].get(s, float('nan')):.2f}" for s in steps["assignments"])
        + ".")
    targets = [Target(f"refresh with {rows:,} assignments, {size} events{shape_label}", f"≤ {RATIO_TARGET}× without",
                      f"{fmt_ratio(ratio)} (+{fmt_s(added)})", ok)]

    cases = draw_workload(loaded["assignments"], n_cases)["kpis"]
    products = {side: Product(s) for side, s in loaded.items()}
    samples: dict[str, list[float]] = {side: [] for side in sides}
    for side in sides:
        _pass(products[side], "kpis", cases)  # warm-up
    for _ in range(passes):
        for side in sides:
            samples[side] += _pass(products[side], "kpis", cases)[0]
    p99 = {side: percentile(samples[side], 99) * 1000 for side in sides}
    query = Table(f"`kpis` with assignments, {size} events ({shape})",
                  ["export", "queries", "median", "p99", "p99 ÷ without", "target", "result"])
    ok = p99["assignments"] < KPIS_P99_MS
    query.add("with `assignments.csv`", len(samples["assignments"]), fmt_ms(median(samples["assignments"]) * 1000),
              fmt_ms(p99["assignments"]), fmt_ratio(p99["assignments"] / p99["none"]), f"p99 < {fmt_ms(KPIS_P99_MS)}",
              verdict(ok))
    query.add("without", len(samples["none"]), fmt_ms(median(samples["none"]) * 1000), fmt_ms(p99["none"]),
              "1×", "", "")
    query.notes.append(f"Workload: {n_cases} seeded `kpis` cases (`bench.query_bench.draw_workload`), run unchanged "
                       f"on both snapshots; one warm-up pass each, then {passes} passes taking turns. Every answer "
                       "with assignments carries the seven assignment metrics.")
    targets.append(Target(f"`kpis` p99 with assignments, {size} events{shape_label}", f"< {fmt_ms(KPIS_P99_MS)}",
                          f"{fmt_ms(p99['assignments'])} (without: {fmt_ms(p99['none'])})", ok))
    for side in sides:
        shutil.rmtree(snap(side, runs - 1), ignore_errors=True)
    return [refresh, query], targets
