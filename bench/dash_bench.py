"""Dashboards: cold load of /embed/overview in headless Chromium, and server time per
filter-change callback.

Cold load: a fresh browser profile per run (nothing cached), time from the
navigation start until every ``.js-plotly-plot`` is drawn and no Dash
component is loading, read in the page as ``performance.now()``.

Filter change: the ``POST /_dash-update-component`` requests the page made
are captured from Chromium's network log, then replayed with ``requests``
with the filter inputs changed to other values of the tenant (as picking them
in the filter bar would send), each timed end to end on loopback.
"""
from __future__ import annotations

import copy
import json
import shutil
import tempfile
import time
from pathlib import Path

from bench import servers
from bench.common import CACHE, ROOT, Stat, Table, Target, fmt_s, fmt_stat, log, median, percentile, verdict
from bench.data import Dataset

COLD_TARGET = 1.5
FILTER_TARGET = 0.300
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FILTER_DIMS = ("group", "country", "training", "category", "format")

# Resolves with performance.now() once every graph is drawn and nothing is loading.
WAIT_DRAWN = """
const done = arguments[arguments.length - 1];
const limit = performance.now() + 30000;
function drawn() {
  const graphs = document.querySelectorAll('.dash-graph');
  const plots = document.querySelectorAll('.js-plotly-plot');
  if (!graphs.length || plots.length < graphs.length) return false;
  for (const p of plots) { if (!p._fullLayout || !p.data) return false; }
  return !document.querySelector('[data-dash-is-loading="true"]');
}
(function poll() {
  if (drawn()) {
    const nav = performance.getEntriesByType('navigation')[0];
    const posts = performance.getEntriesByType('resource').filter(e => e.name.includes('_dash-update-component'));
    done({ms: performance.now(), graphs: document.querySelectorAll('.js-plotly-plot').length,
          ttfb: nav ? nav.responseStart : null, dcl: nav ? nav.domContentLoadedEventEnd : null,
          load: nav ? nav.loadEventEnd : null, posts: posts.map(e => e.duration)});
  } else if (performance.now() > limit) {
    done({ms: null, graphs: document.querySelectorAll('.js-plotly-plot').length});
  } else { setTimeout(poll, 5); }
})();
"""


def dashboards_available() -> str | None:
    if not (ROOT / "layouts" / "overview.py").is_file():
        return "not measured: dashboards not merged"
    return None


def _driver(profile: Path, network_log: bool = False):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as ChromeService

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1300,1500", f"--user-data-dir={profile}", "--no-first-run",
                "--disable-extensions", "--disable-background-networking"):
        options.add_argument(arg)
    if network_log:
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=ChromeService(CHROMEDRIVER), options=options)
    driver.set_script_timeout(40)
    return driver


def _cold_load(url: str, capture: bool = False) -> tuple[dict, list[dict]]:
    profile = Path(tempfile.mkdtemp(prefix="bench-chromium-", dir=CACHE))
    driver = _driver(profile, network_log=capture)
    try:
        driver.get(url)
        result = driver.execute_async_script(WAIT_DRAWN)
        posts = []
        if capture:
            for entry in driver.get_log("performance"):
                msg = json.loads(entry["message"])["message"]
                if msg.get("method") != "Network.requestWillBeSent":
                    continue
                req = msg["params"]["request"]
                if req.get("method") == "POST" and "_dash-update-component" in req.get("url", ""):
                    posts.append({"url": req["url"], "body": req.get("postData"), "headers": req.get("headers", {})})
        return result, posts
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _filter_variants(posts: list[dict], values: dict[str, list[str]], n: int) -> list[tuple[str, dict]]:
    """Captured callback requests with one filter input set to other values of the tenant.

    A request qualifies when one of its inputs or states is a filter control
    (its id names a filter dimension and its value is a list or a string).
    """
    variants = []
    for post in posts:
        try:
            body = json.loads(post["body"])
        except (TypeError, ValueError):
            continue
        for section in ("inputs", "state"):
            for i, item in enumerate(body.get(section) or []):
                if not isinstance(item, dict):
                    continue
                ident = json.dumps(item.get("id", "")).lower()
                dim = next((d for d in FILTER_DIMS if d in ident), None)
                if dim is None or not values.get(dim) or item.get("property") != "value":
                    continue
                for k in range(n):
                    choice = values[dim][k % len(values[dim])]
                    changed = copy.deepcopy(body)
                    changed[section][i]["value"] = [choice]
                    changed["changedPropIds"] = [f"{_id_text(item.get('id'))}.value"]
                    variants.append((post["url"], changed))
    return variants


def _id_text(ident) -> str:
    return json.dumps(ident, sort_keys=True, separators=(",", ":")) if isinstance(ident, dict) else str(ident)


def bench_dashboards(data: Dataset, snapshot_root: Path, quick: bool) -> tuple[Table, list[Target]]:
    table = Table(f"Dashboards, {data.label}-event snapshot",
                  ["measure", "runs", "median (min–max)", "p99", "target", "result"])
    missing = dashboards_available()
    if missing:
        table.add("cold load of /embed/overview", "", missing, "", f"< {fmt_s(COLD_TARGET)}", "not measured")
        table.add("server time per filter-change callback", "", missing, "", f"< {fmt_s(FILTER_TARGET)}",
                  "not measured")
        return table, [Target("dashboards: cold load and filter change", "", missing, None)]

    import requests

    from app import queries
    from app.auth import mint_token
    from app.store import load_snapshot
    from etl import snapshot as snapshots

    snap = load_snapshot(snapshot_root, snapshots.live_version(snapshot_root))
    # the biggest tenant: the slowest page a customer can open
    tenant = max(snap.tenants, key=lambda t: snap.tenants[t].facts.stop - snap.tenants[t].facts.start)
    secret = "bench-embed-secret-0123456789abcdef"
    server = servers.gunicorn("app.wsgi:server", snapshot_root, "gunicorn-dash",
                              env={"DATAVIZ_EMBED_SECRET": secret, "DATAVIZ_APP_CACHE": "0"})
    runs = 5
    try:
        token = mint_token(secret, tenant, ttl_seconds=3600)
        url = f"{server.url}/embed/overview?token={token}"
        for _ in range(16):  # both workers load the snapshot before anything is timed
            requests.get(f"{server.url}/readyz", timeout=60)
        warm, posts = _cold_load(url, capture=True)
        if warm.get("ms") is None:
            raise RuntimeError(f"the overview never finished drawing (graphs seen: {warm.get('graphs')})")
        loads = []
        for i in range(runs):
            result, _ = _cold_load(url)
            if result.get("ms") is None:
                raise RuntimeError(f"the overview never finished drawing (graphs seen: {result.get('graphs')})")
            loads.append(result)
            log(f"dashboards: cold load {i + 1}/{runs}: {result['ms']:.0f} ms, {result['graphs']} graphs, "
                f"{len(result['posts'])} callback POSTs")
        values = {d: [v["key"] for v in vals] for d, vals in queries.filter_values(snap, tenant).items()}
        variants = _filter_variants(posts, values, n=8)
        session = requests.Session()
        headers = {"Content-Type": "application/json"}
        for u, body in variants:  # warm-up pass
            session.post(u, json=body, headers=headers, timeout=60)
        times: list[list[float]] = []
        statuses: dict[int, int] = {}
        for _ in range(runs):
            run = []
            for u, body in variants:
                t0 = time.perf_counter()
                r = session.post(u, json=body, headers=headers, timeout=60)
                run.append(time.perf_counter() - t0)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            times.append(run)
    finally:
        servers.stop(server)

    cold = Stat([x["ms"] / 1000 for x in loads])
    ok_cold = cold.median < COLD_TARGET
    table.add(f"cold load of /embed/overview (tenant `{tenant}`, the largest), until all "
              f"{loads[0]['graphs']} graphs are drawn", runs, fmt_stat(cold), "", f"< {fmt_s(COLD_TARGET)}",
              verdict(ok_cold))
    table.add("… of which: first byte of the page (Navigation Timing `responseStart`)", runs,
              fmt_stat(Stat([x["ttfb"] / 1000 for x in loads])), "", "", "")
    table.add("… `load` event end", runs, fmt_stat(Stat([x["load"] / 1000 for x in loads])), "", "", "")
    per_post = [d / 1000 for x in loads for d in x["posts"]]
    table.add(f"… callback POSTs during the load (Resource Timing; {len(loads[0]['posts'])} per load)", runs,
              f"{fmt_s(median(per_post))} median", fmt_s(percentile(per_post, 99)), "", "")
    targets = [Target("dashboard cold load", f"< {fmt_s(COLD_TARGET)}", fmt_s(cold.median), ok_cold)]
    if variants:
        filt = Stat([median(run) for run in times])
        ok_filter = filt.median < FILTER_TARGET and set(statuses) <= {200, 204}
        table.add(f"server time per filter-change callback ({len(variants)} requests per run: captured "
                  "POSTs replayed with other filter values)", runs, fmt_stat(filt),
                  fmt_s(percentile(sum(times, []), 99)), f"< {fmt_s(FILTER_TARGET)} median", verdict(ok_filter))
        targets.append(Target("filter-change callback", f"< {fmt_s(FILTER_TARGET)} median",
                              f"{fmt_s(filt.median)} (statuses {statuses})", ok_filter))
        table.notes.append(f"Filter-change replays answered {statuses}.")
    else:
        table.add("server time per filter-change callback", "", "not measured: no captured callback takes a "
                  "filter control as input", "", f"< {fmt_s(FILTER_TARGET)}", "not measured")
        targets.append(Target("filter-change callback", f"< {fmt_s(FILTER_TARGET)}", "not measured", None))
    table.notes.append("Chromium headless (`/usr/bin/chromium`, selenium), a fresh profile per run, one warm-up "
                       "load first; the app cache is off (`DATAVIZ_APP_CACHE=0`) so every callback queries.")
    return table, targets
