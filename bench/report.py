"""The markdown writer: ``docs/benchmarks.md`` from the tables and targets of one run."""
from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path

import psutil

from bench.common import ROOT, Table, Target, fmt_bytes, verdict

METHOD = """\
## How each figure is measured

- **Repetitions.** Timings are the median of at least 5 runs after a warm-up, shown as
  `median (min–max)`. Exceptions, stated in the tables: multi-second ETL runs on 10M events
  and the generator (3 runs each).
- **Ratios pair by pair.** The product and its baseline run back to back in the same round, the
  ratio is taken within each round, and the table shows the median of the per-round ratios.
- **Memory.** Peak RSS of the whole process tree (the process and its children), sampled every
  20 ms with psutil from the parent, each engine in a fresh process. Per-worker RSS and PSS
  come from `/proc/<pid>/smaps_rollup` through psutil.
- **ETL baselines** (`bench/tasks.py`), each written the way its users would write it:
  (a) `pyarrow.csv.read_csv(path)` with default options, the parsing floor;
  (b) DuckDB with default settings: `read_csv` auto-detection, `DISTINCT ON (event_id)`, a
  `GROUP BY` for each of the two aggregates (per tenant, day, user, training and event type;
  connections per tenant, day, hour, group and country), `COPY ... TO` Parquet;
  (c) pandas: `read_csv`, `drop_duplicates`, `to_datetime(format="ISO8601")`, `groupby().agg()`,
  a `merge` with users.csv, `to_parquet`. The baselines do not check the data contract, so they
  do less work than the refresh (no row rejects, no report, no atomic publish).
- **Query baselines** answer the same queries from the raw events: the events the refresh
  accepted, one row per event, written once to Parquet (`events.parquet`, plus the labelled
  users and trainings). DuckDB: one SQL statement per query over `read_parquet` views (joins,
  `count(DISTINCT ...)`, `FILTER`), connection opened once. pandas: the Parquet files read
  once into DataFrames and joined into one denormalized frame; per query a boolean mask,
  then `groupby`/`nunique`/`drop_duplicates`. All engines run the same workload (same
  tenants, ranges, filters, metrics), single-threaded callers, answers cross-checked.
- **HTTP.** `wrk` on loopback against `gunicorn -c deploy/gunicorn.conf.py` (bound with
  `DATAVIZ_BIND` to a free port), with a Lua script that cycles through a mix of data routes
  for several tenants with an `Authorization: Bearer` header. `wrk` shares the 2 cores with the
  server, so absolute requests/s are lower than on a separate load generator; the ratios
  against the floor (a bare Flask route returning constant JSON, `bench/floor_app.py`, same
  gunicorn config) are what the targets use.
"""


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> list[tuple[str, str]]:
    import duckdb
    import numpy
    import pandas
    import pyarrow

    load = os.getloadavg()
    return [
        ("CPU", f"{cpu_model()}, {psutil.cpu_count(logical=True)} logical cores "
                f"({psutil.cpu_count(logical=False) or '?'} physical)"),
        ("memory", fmt_bytes(psutil.virtual_memory().total)),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("libraries", f"pandas {pandas.__version__}, pyarrow {pyarrow.__version__}, numpy {numpy.__version__}, "
                      f"duckdb {duckdb.__version__}"),
        ("load average at start", f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (other engineers share this machine)"),
        ("code", f"`{_git('rev-parse', '--short', 'HEAD')}` on branch `{_git('rev-parse', '--abbrev-ref', 'HEAD')}`"
                 + (" (uncommitted changes)" if _git("status", "--porcelain", "--untracked-files=no", "--", ".",
                                                   ":!docs/benchmarks.md") else "")),
    ]


def targets_table(targets: list[Target]) -> Table:
    table = Table("Targets", ["target", "goal", "measured (median)", "result"])
    for t in targets:
        table.add(t.name, t.target, t.measured, verdict(t.ok))
    return table


def write(path: Path, command: str, started: dt.datetime, seconds: float, info: list[tuple[str, str]],
          sections: list[tuple[str, list[Table]]], targets: list[Target]) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Written by `{command}` on {started:%Y-%m-%d %H:%M} UTC in {seconds / 60:.1f} minutes (`make bench` runs it; "
        "`make bench-quick` runs it with `--quick`). Every "
        "figure below comes from that run; rerun the command to refresh them (`--quick`: 1M events of each profile "
        "only).",
        "",
        "Two shapes of data (`python -m etl generate --profile`): **default**, the demo's (30 tenants, about 120 "
        "events per learner), and **many-learners** (200 tenants with a long tail, the biggest with about 200,000 "
        "learners at 10M events, about 5 events per learner, unique event ids), because the refresh's cost follows "
        "the number of distinct learners as well as the number of events. The ETL and query sections measure both; "
        "the others the default profile's largest export.",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        *[f"| {k} | {v} |" for k, v in info],
        "",
        f"Interpreter: `{Path(sys.executable).relative_to(ROOT) if Path(sys.executable).is_relative_to(ROOT) else sys.executable}`.",
        "",
        targets_table(targets).markdown(),
    ]
    for title, tables in sections:
        lines += [f"## {title}", ""]
        lines += [t.markdown() for t in tables]
    load = os.getloadavg()
    lines.append(METHOD)
    lines.append(f"Load average when the run ended: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}.")
    text = "\n".join(lines).rstrip() + "\n"
    path.write_text(text)
    return text
