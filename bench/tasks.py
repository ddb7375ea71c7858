"""Work measured in a fresh process: ``python -m bench.tasks TASK ARGS...``.

Each task imports what it needs, then times only its work and prints one JSON
line (``seconds`` plus whatever it wants to report). The parent
(``bench.common.run_task``) samples the memory of the whole process tree.

The baselines are written the way their users would write them: the plain,
documented calls of each library, default settings, no tuning and no
deliberate slowness.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def _done(started: float, **info) -> None:
    print(json.dumps({"seconds": time.perf_counter() - started, **info}))


def generate(out: str, events: str, profile: str = "default", tenants: str = "", assignment_rows: str = "") -> None:
    """The bench's export (``tenants``, ``assignment_rows``: empty for the generator's defaults)."""
    from bench.data import DAYS, END_DATE, SEED
    from etl.generate import generate_export

    started = time.perf_counter()
    summary = generate_export(out, events=int(events), seed=SEED, end_date=END_DATE, days=DAYS, profile=profile,
                              tenants=int(tenants) if tenants else None,
                              assignment_rows=int(assignment_rows) if assignment_rows else None)
    _done(started, events=summary["events"], assignments=summary["assignments"])


def generate_shifted(out: str, events: str) -> None:
    """The same export with a calendar ending one day later (a "changed export" for the load test)."""
    import datetime as dt

    from bench.data import DAYS, END_DATE, SEED
    from etl.generate import generate_export

    started = time.perf_counter()
    summary = generate_export(out, events=int(events), seed=SEED,
                              end_date=END_DATE + dt.timedelta(days=1), days=DAYS)
    _done(started, events=summary["events"])


def refresh(source: str, snapshot_dir: str) -> None:
    """The product: ``etl.refresh.run_refresh`` exactly as ``python -m etl refresh`` calls it."""
    from etl.refresh import run_refresh

    started = time.perf_counter()
    result = run_refresh(source, snapshot_dir, force=True)
    seconds = time.perf_counter() - started
    if result.outcome != "published":
        raise SystemExit(f"refresh did not publish: {result.message}")
    print(json.dumps({"seconds": seconds, "version": result.version,
                      "rows": result.report["rows_accepted"], "timings": result.report["timings"]}))


def pyarrow_read(activity: str) -> None:
    """Baseline (a), the parsing floor: ``pyarrow.csv.read_csv`` with its defaults, nothing else."""
    import pyarrow.csv as pacsv

    started = time.perf_counter()
    table = pacsv.read_csv(activity)
    _done(started, rows=table.num_rows)


def duckdb_aggregate(export_dir: str, out_dir: str) -> None:
    """Baseline (b): DuckDB reads the same CSVs and writes the same two aggregates as Parquet.

    Facts: (tenant, day, user, training, event type) → events, duration, score
    sum and count; hourly: connections per (tenant, day, hour, group, country).
    Duplicated event ids dropped, UTC days, default settings (all cores).
    """
    import duckdb

    export, out = Path(export_dir), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"""
        CREATE TABLE events AS
        SELECT DISTINCT ON (event_id) event_id, CAST(occurred_at AS TIMESTAMPTZ) AS occurred_at, tenant_id,
               user_id, lower(event_type) AS event_type, training_id, score, duration_s
        FROM read_csv('{export / "activity.csv.gz"}')
        WHERE occurred_at IS NOT NULL AND tenant_id IS NOT NULL AND user_id IS NOT NULL
    """)
    con.execute(f"CREATE TABLE users AS SELECT * FROM read_csv('{export / 'users.csv.gz'}')")
    con.execute(f"""
        COPY (
            SELECT tenant_id, CAST(occurred_at AS DATE) AS day, user_id, training_id, event_type,
                   count(*) AS n, sum(duration_s) AS duration, sum(score) AS score_sum, count(score) AS score_n
            FROM events GROUP BY ALL
        ) TO '{out / "facts.parquet"}' (FORMAT parquet)
    """)
    con.execute(f"""
        COPY (
            SELECT e.tenant_id, CAST(e.occurred_at AS DATE) AS day, hour(e.occurred_at) AS hour,
                   coalesce(u."group", 'Unknown') AS "group", coalesce(u.country, 'Unknown') AS country,
                   count(*) AS n
            FROM events e LEFT JOIN users u USING (tenant_id, user_id)
            WHERE e.event_type = 'connection' GROUP BY ALL
        ) TO '{out / "hourly.parquet"}' (FORMAT parquet)
    """)
    rows = con.execute("SELECT count(*) FROM events").fetchone()[0]
    _done(started, rows=rows)


def pandas_aggregate(export_dir: str, out_dir: str) -> None:
    """Baseline (c): the script a seed-stage engineer writes with ``pandas.read_csv`` and ``groupby``."""
    import pandas as pd

    export, out = Path(export_dir), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    df = pd.read_csv(export / "activity.csv.gz")
    df = df.drop_duplicates("event_id")
    df["occurred_at"] = pd.to_datetime(df["occurred_at"], utc=True, format="ISO8601")
    df["event_type"] = df["event_type"].str.lower()
    df["day"] = df["occurred_at"].dt.floor("D")
    facts = (df.groupby(["tenant_id", "day", "user_id", "training_id", "event_type"], dropna=False)
               .agg(n=("event_type", "size"), duration=("duration_s", "sum"),
                    score_sum=("score", "sum"), score_n=("score", "count"))
               .reset_index())
    users = pd.read_csv(export / "users.csv.gz")
    conn = df[df["event_type"] == "connection"].merge(users, on=["tenant_id", "user_id"], how="left")
    conn[["group", "country"]] = conn[["group", "country"]].fillna("Unknown")
    conn["hour"] = conn["occurred_at"].dt.hour
    hourly = conn.groupby(["tenant_id", "day", "hour", "group", "country"]).size().reset_index(name="n")
    facts.to_parquet(out / "facts.parquet")
    hourly.to_parquet(out / "hourly.parquet")
    _done(started, rows=len(df))


def raw_events(export_dir: str, snapshot_root: str, out_dir: str) -> None:
    """Write the validated raw events (one row per event) and the labelled dimensions to Parquet.

    This is what the query baselines answer from: the events exactly as the
    refresh accepted them (same rejects, same duplicates dropped), before any
    aggregation, plus users and trainings with their cleaned labels.
    """
    import datetime as dt

    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from etl import snapshot_format as snapshots
    from etl.snapshot_format import EVENT_TYPES, SPANS
    from etl.validate import validate_activity

    export, out, root = Path(export_dir), Path(out_dir), Path(snapshot_root)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    activity = validate_activity(export / "activity.csv.gz", dt.date.fromisoformat(export.name), 1.0)
    e = activity.events

    def strings(values: pa.Array, codes: np.ndarray) -> pa.Array:
        return values.take(pa.array(codes, mask=codes < 0))  # code -1: null

    version = snapshots.live_version(root)
    manifest = snapshots.read_manifest(root, version)
    dictionaries = manifest["dictionaries"]
    tenants = snapshots.map_frame(root, version, "tenants").to_pandas()
    # Each event's local time in its tenant's zone (docs/metrics.md: days and hours are the tenant's), so the
    # baselines' days, periods and hours are the product's.
    zones = dict(zip(tenants["tenant_id"], tenants["timezone"]))
    utc = pd.to_datetime(e.ts, unit="us", utc=True)
    local = np.empty(len(e.ts), dtype="datetime64[us]")
    for code, tenant in enumerate(e.tenant_values.to_pylist()):
        rows = e.tenant == code
        local[rows] = utc[rows].tz_convert(zones.get(tenant, "UTC")).tz_localize(None).to_numpy("datetime64[us]")

    events = pa.table({
        "tenant_id": strings(e.tenant_values, e.tenant),
        "user_id": strings(e.user_values, e.user),
        "training_id": strings(e.training_values, e.training),
        "event_type": pa.array(np.asarray(EVENT_TYPES, dtype=object)[e.event], pa.string()),
        "occurred_at": pa.array(local, pa.timestamp("us")),  # local, as naive timestamps
        "score": pa.array(e.score, pa.float64(), from_pandas=True),  # NaN → null
        "duration_s": pa.array(e.duration, pa.int64()),
    })
    pq.write_table(events, out / "events.parquet", row_group_size=1 << 20)

    def tenant_of(n_rows: int, start: str, end: str) -> np.ndarray:
        owner = np.empty(n_rows, dtype=object)
        for row in tenants.itertuples():
            owner[getattr(row, start):getattr(row, end)] = row.tenant_id
        return owner

    users = snapshots.map_frame(root, version, "users").to_pandas()
    pq.write_table(pa.table({
        "tenant_id": tenant_of(len(users), *SPANS["users"]),
        "user_id": users["user_id"].to_numpy(object),
        "group": np.asarray(dictionaries["group"], dtype=object)[users["group"].to_numpy()],
        "country": np.asarray(dictionaries["country"], dtype=object)[users["country"].to_numpy()],
    }), out / "users.parquet")
    trainings = snapshots.map_frame(root, version, "trainings").to_pandas()
    pq.write_table(pa.table({
        "tenant_id": tenant_of(len(trainings), *SPANS["trainings"]),
        "training_id": trainings["training_id"].to_numpy(object),
        "title": trainings["title"].to_numpy(object),
        "category": np.asarray(dictionaries["category"], dtype=object)[trainings["category"].to_numpy()],
        "format": np.asarray(dictionaries["format"], dtype=object)[trainings["format"].to_numpy()],
    }), out / "trainings.parquet")
    _done(started, rows=events.num_rows)


def pandas_frame_size(raw_dir: str) -> None:
    """The raw events as a pandas DataFrame (``pd.read_parquet`` defaults): its deep memory usage."""
    import pandas as pd

    started = time.perf_counter()
    df = pd.read_parquet(Path(raw_dir) / "events.parquet")
    deep = int(df.memory_usage(deep=True).sum())
    _done(started, rows=len(df), deep_bytes=deep, dtypes={c: str(t) for c, t in df.dtypes.items()})


def snapshot_load_rss(snapshot_root: str) -> None:
    """RSS of a process that imports the web app and loads the snapshot as a worker does, then
    after Arrow's memory pool hands its free pages back (``release_unused``): how much of a
    worker's memory is the snapshot, and how much is freed memory the allocator kept."""
    import psutil
    import pyarrow as pa

    rss = lambda: psutil.Process().memory_info().rss  # noqa: E731
    before = rss()
    import app.wsgi  # noqa: F401 - everything a gunicorn worker imports
    imported = rss()
    from app.store import load_snapshot
    from etl import snapshot_format as snapshots

    root = Path(snapshot_root)
    started = time.perf_counter()
    snap = load_snapshot(root, snapshots.live_version(root))
    seconds = time.perf_counter() - started
    loaded = rss()
    arrow_bytes = pa.total_allocated_bytes()
    pa.default_memory_pool().release_unused()
    released = rss()
    print(json.dumps({"seconds": seconds, "before": before, "imported": imported, "loaded": loaded,
                      "released": released, "arrow_bytes": arrow_bytes, "pool": pa.default_memory_pool().backend_name,
                      "tenants": len(snap.tenants)}))


def dask_refresh(source: str, snapshot_dir: str, workers: str, block_size: str) -> None:
    """The Dask engine's refresh on a LocalCluster of ``workers`` single-threaded processes.

    The cluster is started first and timed apart (a long-lived cluster would
    not pay it per refresh); the workers' PIDs let the parent tell their
    memory from the refresh process's.
    """
    import logging
    import os

    from distributed import Client, LocalCluster

    from etl.dask_engine import DaskEngine
    from etl.refresh import run_refresh

    started = time.perf_counter()
    with LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.WARNING) as cluster, Client(cluster) as client:
        cluster_start = time.perf_counter() - started
        pids = list(client.run(os.getpid).values())
        started = time.perf_counter()
        result = run_refresh(source, snapshot_dir, force=True,
                             engine=DaskEngine(client=client, block_size=int(block_size)))
        seconds = time.perf_counter() - started
    if result.outcome != "published":
        raise SystemExit(f"refresh did not publish: {result.message}")
    print(json.dumps({"seconds": seconds, "cluster_start": cluster_start, "worker_pids": pids,
                      "rows": result.report["rows_accepted"], "timings": result.report["timings"]}))


TASKS = {f.__name__: f for f in (snapshot_load_rss, generate, generate_shifted, refresh, dask_refresh, pyarrow_read,
                                 duckdb_aggregate, pandas_aggregate, raw_events, pandas_frame_size)}

if __name__ == "__main__":
    TASKS[sys.argv[1]](*sys.argv[2:])
