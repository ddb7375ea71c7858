"""Lighthouse (issue 12): /embed/overview and /explore through the shipped Varnish, and bytes on the wire.

Lighthouse 12.2.3 comes from the npm registry with its lockfile (bench/lighthouse,
``npm ci``) and drives Debian's Chromium (``CHROME_PATH``); each page is measured
``RUNS`` times with the desktop and the mobile presets (a fresh profile each time:
a cold browser, a server warmed by one load first), and the median is reported
with the machine's load average beside it. Bytes on the wire are read in Chromium
(Resource Timing ``transferSize``): a first visit in a fresh profile, then a
repeat visit in the same profile.

``python -m bench.lighthouse_bench --base URL --embed-secret S --analyst-secret S --tenant T``
measures a server already running (e.g. another branch) with the same procedure.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from app.auth import mint_token
from bench import servers
from bench.common import CACHE, ROOT, Table, Target, log, median, verdict

RUNS = 5
LIGHTHOUSE = ROOT / "bench" / "lighthouse"
CHROME = "/usr/bin/chromium"
EMBED_SECRET = "bench-embed-secret-0123456789abcdef"
ANALYST_SECRET = "bench-analyst-secret-0123456789abcdef"
PRESETS = ("desktop", "mobile")
TARGETS = {("overview", "desktop"): 90, ("explore", "desktop"): 90, ("overview", "mobile"): 70}
FIRST_VISIT_MAX, REPEAT_VISIT_MAX = 1.2e6, 50e3
DRAWN_MAX, THROTTLED_MAX = 1.2, 2.0  # seconds: five charts drawn, cold browser; the same through THROTTLE
# DevTools network emulation: 20 Mbit/s both ways, 40 ms latency.
THROTTLE = {"offline": False, "latency": 40, "downloadThroughput": 20e6 / 8, "uploadThroughput": 20e6 / 8}

# Resolves with every byte the page moved once its graphs are drawn and nothing is loading.
BYTES = """
const done = arguments[arguments.length - 1];
const limit = performance.now() + 30000;
(function poll() {
  const graphs = document.querySelectorAll('.dash-graph').length;
  const plots = document.querySelectorAll('.js-plotly-plot .main-svg').length;
  if ((graphs && plots >= graphs && !document.querySelector('[data-dash-is-loading="true"]'))
      || performance.now() > limit) {
    setTimeout(() => {
      const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
      done({bytes: entries.reduce((s, e) => s + (e.transferSize || 0), 0), requests: entries.length,
            drawn: graphs && plots >= graphs, ms: performance.now()});
    }, 500);
  } else { setTimeout(poll, 20); }
})();
"""


def size(n: float) -> str:
    """Bytes as the targets state them: KB below a megabyte (a repeat visit), MB with two decimals above."""
    return f"{n / 1e3:.1f} KB" if n < 1e6 else f"{n / 1e6:.2f} MB"


def install() -> Path:
    """Lighthouse from the lockfile (once per checkout)."""
    binary = LIGHTHOUSE / "node_modules" / ".bin" / "lighthouse"
    if not binary.exists():
        log("installing Lighthouse (npm ci in bench/lighthouse)")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=LIGHTHOUSE, check=True)
    return binary


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def lighthouse(binary: Path, url: str, preset: str, attempts: int = 3) -> dict:
    """One Lighthouse run; retried when Chromium fails to start or times out (a busy shared machine)."""
    for attempt in range(attempts):
        try:
            return _lighthouse(binary, url, preset)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            log(f"lighthouse failed ({type(exc).__name__}), attempt {attempt + 1} of {attempts}")
            if attempt == attempts - 1:
                raise


def _lighthouse(binary: Path, url: str, preset: str) -> dict:
    out = Path(tempfile.mkdtemp(prefix="bench-lh-", dir=CACHE))
    try:
        args = [str(binary), url, "--quiet", "--output=json", f"--output-path={out / 'report.json'}",
                "--only-categories=performance,accessibility,best-practices",
                "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage"]
        if preset == "desktop":
            args.append("--preset=desktop")
        subprocess.run(args, check=True, timeout=300, env={**os.environ, "CHROME_PATH": CHROME},
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        report = json.loads((out / "report.json").read_text())
    finally:
        shutil.rmtree(out, ignore_errors=True)
    audits, cats = report["audits"], report["categories"]
    failed = sorted(k for k, a in audits.items()
                    if a.get("score") == 0 and k in {r["id"] for r in cats["accessibility"]["auditRefs"]})
    return {"performance": cats["performance"]["score"] * 100, "accessibility": cats["accessibility"]["score"] * 100,
            "best-practices": cats["best-practices"]["score"] * 100,
            "lcp": audits["largest-contentful-paint"]["numericValue"] / 1000,
            "tbt": audits["total-blocking-time"]["numericValue"] / 1000,
            "cls": audits["cumulative-layout-shift"]["numericValue"],
            "bytes": audits["total-byte-weight"]["numericValue"], "failed": failed}


def visits(url: str) -> tuple[dict, dict]:
    """Bytes moved by a first visit (fresh profile) and by a repeat visit (same profile)."""
    from bench.dash_bench import _driver

    profile = Path(tempfile.mkdtemp(prefix="bench-chromium-", dir=CACHE))
    driver = _driver(profile)
    try:
        driver.get(url)
        first = driver.execute_async_script(BYTES)
        driver.get("about:blank")
        driver.get(url)
        repeat = driver.execute_async_script(BYTES)
        return first, repeat
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def charts_drawn(url: str, throttle: dict | None = None) -> dict:
    """A cold browser (fresh profile) until every chart is drawn: ``dash_bench.WAIT_DRAWN``, optionally throttled."""
    from bench.dash_bench import WAIT_DRAWN, _driver

    profile = Path(tempfile.mkdtemp(prefix="bench-chromium-", dir=CACHE))
    driver = _driver(profile)
    try:
        if throttle:
            driver.execute_cdp_cmd("Network.enable", {})
            driver.execute_cdp_cmd("Network.emulateNetworkConditions", throttle)
        driver.get(url)
        return driver.execute_async_script(WAIT_DRAWN)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def drawn_times(url: str, runs: int, throttle: dict | None = None) -> tuple[float | None, str, str]:
    """Median seconds until the charts are drawn over ``runs`` cold loads, their range, and the load around them."""
    before = load()
    times = [r["ms"] / 1000 if r.get("ms") is not None else None for r in
             (charts_drawn(url, throttle) for _ in range(runs))]
    drawn = [t for t in times if t is not None]
    spread = f"{min(drawn):.2f} to {max(drawn):.2f} s" if drawn else "never drawn"
    return (median(drawn) if len(drawn) == len(times) else None), spread, f"{before} → {load()}"


def measure(base: str, tenant: str, embed_secret: str, analyst_secret: str, runs: int = RUNS):
    """The table and the targets for the server at ``base``."""
    binary = install()
    pages = {"overview": f"{base}/embed/overview?token={mint_token(embed_secret, tenant, ttl_seconds=6 * 3600)}",
             "explore": f"{base}/explore?token={mint_token(analyst_secret, '*', ttl_seconds=6 * 3600)}"}
    table = Table("Lighthouse 12.2.3 (median of runs) and bytes on the wire",
                  ["page", "preset", "performance", "accessibility", "best practices", "LCP", "TBT", "CLS",
                   "bytes (Lighthouse)", "load average (1, 5, 15 min)"])
    targets = []
    for page, url in pages.items():
        visits(url)  # warms the server and Varnish
        for preset in PRESETS:
            before = load()
            results = [lighthouse(binary, url, preset) for _ in range(runs)]
            m = {k: median([r[k] for r in results]) for k in results[0] if k != "failed"}
            table.add(page, preset, f"{m['performance']:.0f} ({min(r['performance'] for r in results):.0f} to "
                      f"{max(r['performance'] for r in results):.0f})", f"{m['accessibility']:.0f}",
                      f"{m['best-practices']:.0f}", f"{m['lcp']:.2f} s", f"{m['tbt']:.2f} s", f"{m['cls']:.3f}",
                      size(m["bytes"]), f"{before} → {load()}")
            failed = sorted({a for r in results for a in r["failed"]})
            if failed:
                table.notes.append(f"{page} {preset}: failed accessibility audits: {', '.join(failed)}")
            goal = TARGETS.get((page, preset))
            if goal:
                targets.append(Target(f"Lighthouse {preset} performance, {page}", f"≥ {goal}",
                                      f"{m['performance']:.0f}", m["performance"] >= goal))
            if preset == "desktop":
                ok = m["accessibility"] == 100 and m["best-practices"] == 100
                targets.append(Target(f"Lighthouse desktop accessibility / best practices, {page}", "100 / 100",
                                      f"{m['accessibility']:.0f} / {m['best-practices']:.0f}", ok))
        if page == "overview":
            for label, throttle, goal in (("cold browser, warm server", None, DRAWN_MAX),
                                          ("first visit, 20 Mbit/s and 40 ms (DevTools emulation)", THROTTLE,
                                           THROTTLED_MAX)):
                seconds, spread, around = drawn_times(url, runs, throttle)
                shown = f"{seconds:.2f} s" if seconds is not None else "not drawn"
                table.notes.append(f"overview, {label}: five charts drawn in {shown} (median of {runs}, {spread}); "
                                   f"load average {around}")
                targets.append(Target(f"overview, {label}: five charts drawn", f"≤ {goal} s", shown,
                                      seconds is not None and seconds <= goal))
        first, repeat = visits(url)
        table.notes.append(f"{page}: first visit {size(first['bytes'])} in {first['requests']} requests, "
                           f"repeat visit {size(repeat['bytes'])} (Resource Timing transferSize, Chromium)")
        targets.append(Target(f"bytes on the wire, first / repeat visit, {page}", "≤ 1.2 MB / ≤ 50 KB",
                              f"{size(first['bytes'])} / {size(repeat['bytes'])}",
                              first["bytes"] <= FIRST_VISIT_MAX and repeat["bytes"] <= REPEAT_VISIT_MAX))
    table.notes.append(f"{runs} runs per page and preset, a fresh Chromium profile each ({CHROME}); "
                       "the load average is read before and after each series (the machine is shared)")
    return table, targets


def busiest_tenant(snapshot_root: Path) -> str:
    from app.store import SnapshotStore

    snapshot = SnapshotStore(snapshot_root).current()
    return max(snapshot.tenants, key=lambda t: snapshot.tenants[t].facts.stop - snapshot.tenants[t].facts.start)


def bench_lighthouse(dataset, snapshot_root: Path):
    """gunicorn (the shipped config) behind the shipped Varnish, over the dataset's snapshot."""
    web = servers.gunicorn("app.wsgi:server", snapshot_root, "lighthouse-web",
                           env={"DATAVIZ_EMBED_SECRET": EMBED_SECRET, "DATAVIZ_ANALYST_SECRET": ANALYST_SECRET})
    edge = None
    try:
        from tests.support.services import wait_http

        wait_http(f"{web.url}/healthz", proc=web.proc)
        base = web.url
        if servers.varnish_available():
            edge = servers.varnishd(web.port)
            base = edge.url
        table, targets = measure(base, busiest_tenant(snapshot_root), EMBED_SECRET, ANALYST_SECRET)
        table.title += f", {dataset.label} export, " + ("through Varnish" if edge else "gunicorn alone")
        return table, targets
    finally:
        if edge:
            edge.stop()
        servers.stop(web)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", required=True)
    p.add_argument("--tenant", required=True)
    p.add_argument("--embed-secret", required=True)
    p.add_argument("--analyst-secret", required=True)
    p.add_argument("--runs", type=int, default=RUNS)
    args = p.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    table, targets = measure(args.base.rstrip("/"), args.tenant, args.embed_secret, args.analyst_secret, args.runs)
    print(table.text())
    for t in targets:
        print(f"{t.name}: target {t.target}, measured {t.measured}: {verdict(t.ok)}")


if __name__ == "__main__":
    main()
