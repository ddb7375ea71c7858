"""Synthetic LMS nightly export (``python -m etl generate``; the contract is docs/data-contract.md).

The dashboards' demo and the correctness tests need an export that looks like a
real LMS one (skewed tenants, seasonality, a learning funnel, a little dirt) and
that is byte-identical for the same arguments, so that results can be compared
across runs. It must also be cheap: 10 million events in well under 2 minutes.

How it is built:
- a small "world" (tenants, users, trainings, a calendar) is drawn once from the seed
  (``etl.synthetic``, which also draws the events);
- activity is drawn in chunks of users; each chunk has a fixed row count and its own
  random stream (SeedSequence.spawn), so the result never depends on timing;
- all of a user's events live in one chunk, so each (user, training) pair has one
  funnel whose events are ordered in time;
- chunks are formatted with pyarrow and gzip-compressed in a writer thread while the
  next chunk is drawn, which keeps both cores busy.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tempfile
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from etl.synthetic import COUNTRIES, FORMATS, GROUPS, PROFILES, TENANT_ZONES, World, draw_assignments, draw_chunk

CHUNK_ROWS = 1_000_000
GZIP_LEVEL = 1  # speed matters more than size
ACTIVITY_COLUMNS = ["event_id", "occurred_at", "tenant_id", "user_id",
                    "event_type", "training_id", "score", "duration_s"]


def generate_export(out: str, events: int, tenants: int | None = None, seed: int = 1,
                    end_date: dt.date | None = None, days: int = 730,
                    profile: str = "default", zones: bool = True, assignments: bool = True,
                    assignment_rows: int | None = None) -> dict:
    """Write one complete export under `out` (a local folder or s3://bucket/prefix).

    `profile` is the shape of the data (``etl.synthetic.PROFILES``): "default", the
    demo's engaged learners, or "many-learners", a long tail of tenants whose learners
    have a handful of events each. `tenants` defaults to the profile's.

    The export is `<out>/<end_date + 1 day>/` with activity, users, trainings and
    tenants (.csv.gz), then an empty `_SUCCESS`. The tenants file gives each tenant
    a display name and, in turn, one of ``TENANT_ZONES``; without `zones` it is not
    written and every tenant is on UTC (the bench's baseline). With `assignments`, assignments.csv.gz
    assigns trainings to the learners of most tenants (``etl.synthetic.draw_assignments``): about 8% as many
    rows as events, or exactly `assignment_rows` (the bench's 2M beside 10M events). Events fall in the
    `days` UTC days that end with `end_date` (default: yesterday, UTC). Returns a summary: path, export_date,
    events (activity rows, duplicates included), duplicates, users and trainings
    (rows of their files), tenants, time zones (distinct), assignments (rows) and profile.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r} (known: {', '.join(PROFILES)})")
    shape = PROFILES[profile]
    tenants = shape.tenants if tenants is None else tenants
    if events < 1 or tenants < 1 or days < 1:
        raise ValueError("events, tenants and days must be at least 1")
    if assignment_rows is not None and (assignment_rows < 0 or not assignments):
        raise ValueError("assignment_rows must be at least 0, and needs assignments")
    if end_date is None:
        end_date = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)
    export_date = (end_date + dt.timedelta(days=1)).isoformat()
    if out.startswith("s3://"):
        return _generate_to_s3(out, export_date, events, tenants, seed, end_date, days, shape, zones, assignments,
                               assignment_rows)
    folder = os.path.join(out, export_date)
    summary = _write_export(folder, events, tenants, seed, end_date, days, shape, zones, assignments, assignment_rows)
    return {"path": folder, "export_date": export_date, **summary}


def _generate_to_s3(url, export_date, events, tenants, seed, end_date, days, shape, zones, assignments,
                    assignment_rows):
    """Build the export in a temporary folder, then upload it with `_SUCCESS` last."""
    import boto3
    from botocore.exceptions import ClientError

    bucket, _, prefix = url[len("s3://"):].partition("/")
    prefix = "/".join(p for p in (prefix.strip("/"), export_date) if p)
    client = boto3.client("s3")
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchBucket"):
            raise FileNotFoundError(f"S3 bucket {bucket!r} does not exist") from exc
        raise
    with tempfile.TemporaryDirectory(prefix="dataviz-export-") as tmp:
        summary = _write_export(tmp, events, tenants, seed, end_date, days, shape, zones, assignments, assignment_rows)
        for name in sorted(os.listdir(tmp), key=lambda n: n == "_SUCCESS"):  # _SUCCESS last
            client.upload_file(os.path.join(tmp, name), bucket, f"{prefix}/{name}")
    return {"path": f"s3://{bucket}/{prefix}", "export_date": export_date, **summary}


def _write_export(folder, events, tenants, seed, end_date, days, shape, zones, assignments, assignment_rows) -> dict:
    """Write the files then `_SUCCESS` into `folder`."""
    os.makedirs(folder, exist_ok=True)
    success = os.path.join(folder, "_SUCCESS")
    if os.path.exists(success):  # a rewrite must not look complete before it is
        os.remove(success)
    n_chunks = -(-events // CHUNK_ROWS)
    setup_seq, *chunk_seqs, assignment_seq = np.random.SeedSequence(seed).spawn(2 + n_chunks)
    world = World(np.random.default_rng(setup_seq), events, tenants, end_date, days, shape)
    funnels: list = []
    duplicates = _write_activity(os.path.join(folder, "activity.csv.gz"), world,
                                 events, chunk_seqs, funnels)
    n_assigned = 0
    if assignments:
        table = draw_assignments(np.random.default_rng(assignment_seq), world, funnels, assignment_rows)
        _write_table_gz(os.path.join(folder, "assignments.csv.gz"), table)
        n_assigned = table.num_rows
    del funnels
    n_users = _write_users(os.path.join(folder, "users.csv.gz"), world)
    n_trainings = _write_trainings(os.path.join(folder, "trainings.csv.gz"), world)
    n_zones = _write_tenants(os.path.join(folder, "tenants.csv.gz"), world) if zones else 1
    open(success, "wb").close()
    return {"events": events, "duplicates": duplicates, "users": n_users,
            "trainings": n_trainings, "tenants": tenants, "zones": n_zones, "assignments": n_assigned,
            "profile": shape.name}


def _write_activity(path: str, world: World, events: int, chunk_seqs, funnels: list) -> int:
    """Draw the chunks and stream them into one gzip member; returns the duplicates, and
    appends each chunk's funnels to ``funnels`` (the assignments are drawn from them).

    Each chunk takes a contiguous run of (shuffled) users holding about its share of
    the activity weight, so that all the events of a user are in one chunk."""
    n_chunks = len(chunk_seqs)
    bounds = np.arange(n_chunks + 1) * events // n_chunks
    share = world.profile.duplicates_per_row
    n_dups = max(int(events >= 10_000), round(events * share)) if share else 0
    dup_bounds = np.arange(n_chunks + 1) * n_dups // n_chunks
    order = world.user_order
    cum = np.cumsum(world.user_weight[order])
    cuts = np.searchsorted(cum, bounds[1:-1] / events * cum[-1]).tolist()
    n_users = len(order)
    user_bounds = [0]
    for i, cut in enumerate(cuts):  # at least one user per chunk
        user_bounds.append(min(max(cut, user_bounds[-1] + 1), n_users - (n_chunks - 1 - i)))
    user_bounds.append(n_users)

    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    gz = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # 31: gzip header, mtime 0

    def write(table):
        sink = pa.BufferOutputStream()
        pacsv.write_csv(table, sink, options)
        f.write(gz.compress(sink.getvalue()))

    with open(path, "wb") as f, ThreadPoolExecutor(max_workers=1) as writer:
        f.write(gz.compress((",".join(ACTIVITY_COLUMNS) + "\n").encode()))
        pending = None
        first_id = 1
        for i, seq in enumerate(chunk_seqs):
            rows = int(bounds[i + 1] - bounds[i])
            dups = int(dup_bounds[i + 1] - dup_bounds[i])
            users = order[user_bounds[i]:user_bounds[i + 1]]
            table, funnel = draw_chunk(np.random.default_rng(seq), world, users, rows, dups,
                                       first_id)
            funnels.append(funnel)
            first_id += rows - dups
            if pending is not None:
                pending.result()
            pending = writer.submit(write, table)
        if pending is not None:
            pending.result()
        f.write(gz.flush())
    return n_dups


def _write_table_gz(path: str, table: pa.Table) -> None:
    """A text table (no value needs quoting) as a gzip-compressed CSV with its header, reproducibly."""
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, quoting_style="none"))
    gz = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    with open(path, "wb") as f:
        f.write(gz.compress((",".join(table.column_names) + "\n").encode()))
        f.write(gz.compress(sink.getvalue()) + gz.flush())


def _write_csv_gz(path: str, header: list[str], rows) -> None:
    """A small CSV with RFC 4180 quoting, gzip-compressed reproducibly (mtime 0)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    gz = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    with open(path, "wb") as f:
        f.write(gz.compress(text.getvalue().encode()) + gz.flush())


def _write_users(path: str, world: World) -> int:
    listed = np.flatnonzero(world.user_listed)
    tenant_names, user_ids = world.tenant_names, world.user_ids.to_pylist()
    rows = [(tenant_names[world.user_tenant[u]], user_ids[u],
             "" if world.user_empty_group[u] else GROUPS[world.user_group[u]],
             "" if world.user_empty_country[u] else COUNTRIES[world.user_country[u]][0], world.user_name(u))
            for u in listed.tolist()]
    _write_csv_gz(path, ["tenant_id", "user_id", "group", "country", "name"], rows)
    return len(rows)


def _write_tenants(path: str, world: World) -> int:
    """Each tenant's display name (its id in words) and time zone; returns how many zones."""
    rows = [(tenant, tenant.replace("-", " ").replace("_", " ").title(), TENANT_ZONES[k % len(TENANT_ZONES)])
            for k, tenant in enumerate(world.tenant_names)]
    _write_csv_gz(path, ["tenant_id", "name", "timezone"], rows)
    return len({zone for _, _, zone in rows})


def _write_trainings(path: str, world: World) -> int:
    listed = np.flatnonzero(world.training_listed)
    training_ids = world.training_ids.to_pylist()
    rows = [(world.tenant_names[world.training_tenant[t]], training_ids[t],
             world.training_title[t], world.category_names[world.training_category[t]],
             FORMATS[world.training_format[t]])
            for t in listed.tolist()]
    _write_csv_gz(path, ["tenant_id", "training_id", "title", "category", "format"], rows)
    return len(rows)
