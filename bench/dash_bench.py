"""Dashboards: cold load of /embed/overview in headless Chromium, and server time per
filter-change callback.

Cold load: a fresh browser profile per run (nothing cached), time from the
navigation start until every ``.js-plotly-plot`` is drawn and no Dash
component is loading, read in the page as ``performance.now()``.

Filter change: in the loaded page, the URL's query string gets one filter
(``group=...``, ``country=...``...) the way the filter bar's URL sync sets
it (``history.pushState`` and Dash's ``_dashprivate_pushstate`` event, which
``dcc.Location`` listens to), and every ``POST /_dash-update-component`` the
page then makes is timed with Resource Timing: each one is one callback's
server time plus loopback.
"""
from __future__ import annotations

import shutil
import tempfile
import urllib.parse
from pathlib import Path

from bench import servers
from bench.common import CACHE, ROOT, Stat, Table, Target, fmt_s, fmt_stat, log, median, percentile, verdict
from bench.data import Dataset

COLD_TARGET = 1.5
FILTER_TARGET = 0.300
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FILTER_DIMS = ("group", "country", "training", "category", "format")

# Resolves with performance.now() once every graph is drawn and nothing is loading. A graph the page shows
# (not in a hidden section) counts once it holds its figure, not the blank placeholder a deferred chart has
# until assets/deferred-charts.js hands its figure over (layout.meta "dv-deferred").
WAIT_DRAWN = """
const done = arguments[arguments.length - 1];
const limit = performance.now() + 30000;
function drawn() {
  const graphs = document.querySelectorAll('.dash-graph');
  const plots = document.querySelectorAll('.js-plotly-plot');
  if (!graphs.length || plots.length < graphs.length) return false;
  for (const p of plots) {
    if (!p._fullLayout || !p.data) return false;
    if (p.offsetParent !== null && p._fullLayout.meta === 'dv-deferred') return false;
  }
  return !document.querySelector('[data-dash-is-loading="true"]');
}
(function poll() {
  if (drawn()) {
    const nav = performance.getEntriesByType('navigation')[0];
    const posts = performance.getEntriesByType('resource').filter(e => e.name.includes('_dash-update-component'));
    done({ms: performance.now(), graphs: document.querySelectorAll('.js-plotly-plot').length,
          ttfb: nav ? nav.responseStart : null, dcl: nav ? nav.domContentLoadedEventEnd : null,
          load: nav ? nav.loadEventEnd : null, posts: posts.map(e => e.duration),
          answered: posts.length ? Math.max(...posts.map(e => e.responseEnd)) : null,
          layout: (performance.getEntriesByType('resource').find(e => e.name.includes('_dash-layout')) || {}).duration,
          scripts: performance.getEntriesByType('resource').filter(e => e.initiatorType === 'script')
                     .reduce((m, e) => Math.max(m, e.responseEnd), 0)});
  } else if (performance.now() > limit) {
    done({ms: null, graphs: document.querySelectorAll('.js-plotly-plot').length});
  } else { setTimeout(poll, 5); }
})();
"""


def dashboards_available() -> str | None:
    if not (ROOT / "layouts" / "overview.py").is_file():
        return "not measured: dashboards not merged"
    return None


def _driver(profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as ChromeService

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1300,1500", f"--user-data-dir={profile}", "--no-first-run",
                "--disable-extensions", "--disable-background-networking"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=ChromeService(CHROMEDRIVER), options=options)
    driver.set_script_timeout(40)
    return driver


def _cold_load(url: str) -> dict:
    """One load in a fresh browser profile: WAIT_DRAWN's figures."""
    profile = Path(tempfile.mkdtemp(prefix="bench-chromium-", dir=CACHE))
    driver = _driver(profile)
    try:
        driver.get(url)
        return driver.execute_async_script(WAIT_DRAWN)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


# Sets the URL's query string like the filter bar's URL sync, then resolves once the
# callbacks it triggers have answered and the graphs are drawn again.
CHANGE_FILTER = """
const search = arguments[0];
const done = arguments[arguments.length - 1];
performance.clearResourceTimings();
const t0 = performance.now();
window.history.pushState({}, '', window.location.pathname + search);
window.dispatchEvent(new CustomEvent('_dashprivate_pushstate'));
let seen = -1, since = t0;
(function poll() {
  const now = performance.now();
  const posts = performance.getEntriesByType('resource').filter(e => e.name.includes('_dash-update-component'));
  const drawn = [...document.querySelectorAll('.js-plotly-plot')].every(p => p._fullLayout && p.data);
  const busy = document.querySelector('[data-dash-is-loading="true"]');
  if (posts.length !== seen) { seen = posts.length; since = now; }
  if (posts.length && drawn && !busy && now - since > 200) {
    done({ms: Math.max(...posts.map(e => e.responseEnd)) - t0, posts: posts.map(e => e.duration)});
  } else if (now - t0 > 30000) {
    done({ms: null, posts: posts.map(e => e.duration)});
  } else { setTimeout(poll, 5); }
})();
"""


def _filter_changes(values: dict[str, list[dict]], n: int) -> list[str]:
    """``n`` one-filter query-string suffixes, cycling through the dimensions and their values."""
    out, k = [], 0
    dims = [d for d in FILTER_DIMS if values.get(d)]
    while dims and len(out) < n:
        dim = dims[k % len(dims)]
        value = values[dim][(k // len(dims)) % len(values[dim])]["key"]
        out.append(urllib.parse.urlencode([(dim, value)]))
        k += 1
    return out


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
    from etl import snapshot_format as snapshots

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
        warm = _cold_load(url)
        if warm.get("ms") is None:
            raise RuntimeError(f"the overview never finished drawing (graphs seen: {warm.get('graphs')})")
        loads = []
        for i in range(runs):
            result = _cold_load(url)
            if result.get("ms") is None:
                raise RuntimeError(f"the overview never finished drawing (graphs seen: {result.get('graphs')})")
            loads.append(result)
            log(f"dashboards: cold load {i + 1}/{runs}: {result['ms']:.0f} ms, {result['graphs']} graphs, "
                f"{len(result['posts'])} callback POSTs")
        changes = _filter_changes(queries.filter_values(snap, tenant), 8)
        profile = Path(tempfile.mkdtemp(prefix="bench-chromium-", dir=CACHE))
        driver = _driver(profile)
        per_change: list[list[dict]] = []
        try:
            driver.get(url)
            if driver.execute_async_script(WAIT_DRAWN).get("ms") is None:
                raise RuntimeError("the overview never finished drawing")
            base = f"?token={token}"
            for run in range(runs + 1):  # the first pass is the warm-up
                results = []
                for change in changes:
                    r = driver.execute_async_script(CHANGE_FILTER, f"{base}&{change}")
                    if r.get("ms") is None:
                        raise RuntimeError(f"the overview did not redraw after {change}")
                    results.append(r)
                if run:
                    per_change.append(results)
                log(f"dashboards: filter changes pass {run}/{runs}: "
                    f"{median([r['ms'] for r in results]):.0f} ms to the last callback answer")
        finally:
            driver.quit()
            shutil.rmtree(profile, ignore_errors=True)
    finally:
        servers.stop(server)

    cold = Stat([x["ms"] / 1000 for x in loads])
    ok_cold = cold.median < COLD_TARGET
    table.add(f"cold load of /embed/overview (tenant `{tenant}`, the largest), until all "
              f"{loads[0]['graphs']} graphs are drawn", runs, fmt_stat(cold), "", f"< {fmt_s(COLD_TARGET)}",
              verdict(ok_cold))
    table.add("… of which: first byte of the page (Navigation Timing `responseStart`)", runs,
              fmt_stat(Stat([x["ttfb"] / 1000 for x in loads])), "", "", "")
    layouts = [x["layout"] / 1000 for x in loads if x.get("layout") is not None]
    if layouts:
        table.add("… the first layout with the page's figures and KPIs (`/_dash-layout`, request to last byte)",
                  len(layouts), fmt_stat(Stat(layouts)), "", "", "")
    table.add("… `load` event end", runs, fmt_stat(Stat([x["load"] / 1000 for x in loads])), "", "", "")
    table.add("… last script downloaded (Resource Timing; Plotly's bundle loads after `load`)", runs,
              fmt_stat(Stat([x["scripts"] / 1000 for x in loads])), "", "", "")
    per_post = [d / 1000 for x in loads for d in x["posts"]]
    if per_post:
        table.add("… last callback answer of the load", runs,
                  fmt_stat(Stat([x["answered"] / 1000 for x in loads if x["answered"] is not None])), "", "", "")
        table.add(f"… callback POSTs during the load (Resource Timing; {len(loads[0]['posts'])} per load)", runs,
                  f"{fmt_s(median(per_post))} median", fmt_s(percentile(per_post, 99)), "", "")
    else:  # the first layout carries the KPIs and figures (issue 12): a load asks no callback
        table.add("… callback POSTs during the load", runs, "none", "", "", "")
    targets = [Target("dashboard cold load", f"< {fmt_s(COLD_TARGET)}", fmt_s(cold.median), ok_cold)]
    if per_change:
        callbacks = Stat([median([d / 1000 for r in run for d in r["posts"]]) for run in per_change])
        all_posts = [d / 1000 for run in per_change for r in run for d in r["posts"]]
        totals = Stat([median([r["ms"] / 1000 for r in run]) for run in per_change])
        ok_filter = callbacks.median < FILTER_TARGET
        n_posts = median([len(r["posts"]) for run in per_change for r in run])
        table.add(f"server time per filter-change callback ({len(changes)} filter changes per run, "
                  f"{n_posts:.0f} callback POSTs per change)", runs, fmt_stat(callbacks),
                  fmt_s(percentile(all_posts, 99)), f"< {fmt_s(FILTER_TARGET)} median", verdict(ok_filter))
        table.add("… filter change to the last callback answer (all its callbacks)", runs, fmt_stat(totals),
                  fmt_s(percentile([r["ms"] / 1000 for run in per_change for r in run], 99)), "", "")
        targets.append(Target("filter-change callback", f"< {fmt_s(FILTER_TARGET)} median",
                              f"{fmt_s(callbacks.median)} per callback; {fmt_s(totals.median)} per change", ok_filter))
        table.notes.append("Filter changes: " + ", ".join(f"`{c}`" for c in changes) + " (one at a time, on the "
                           "default range).")
    else:
        table.add("server time per filter-change callback", "", "not measured: the tenant has no filter values",
                  "", f"< {fmt_s(FILTER_TARGET)}", "not measured")
        targets.append(Target("filter-change callback", f"< {fmt_s(FILTER_TARGET)}", "not measured", None))
    table.notes.append("Chromium headless (`/usr/bin/chromium`, selenium), a fresh profile per run, one warm-up "
                       "load first; the app cache is off (`DATAVIZ_APP_CACHE=0`) so every callback queries. The "
                       "\"…\" rows are milestones of the same loads, in ms since the navigation started; what "
                       "follows the last callback answer is Plotly drawing in the browser (software rendering, "
                       "on the same 2 cores as the server).")
    return table, targets
