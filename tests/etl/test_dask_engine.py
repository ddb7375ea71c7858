"""The Dask engine against the pandas engine: same snapshot, same report, same rejections.

One LocalCluster of two worker processes serves the module. Small blocks cut
even the contract's tiny exports into several partitions, so record
boundaries, line numbers and duplicates across partitions are exercised.
"""
from __future__ import annotations

import datetime as dt
import gzip
import itertools
import json
import logging
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from app import queries
from app.store import load_snapshot
from etl import snapshot_format as snapshots
from etl.dask_engine import DaskEngine
from etl.refresh import run_refresh
from tests.support.exports import (BAD_ROWS, CORPUS, EXPECTED as HOSTILE, GOOD_ROWS, HEADER, WHOLE_EXPORT_FAILURES,
                                   write_export)
from tests.support.services import REPO

REPORT_FIELDS = ("outcome", "rows_read", "rows_accepted", "rows_rejected", "duplicates_dropped", "warnings",
                 "tenants_file")


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.WARNING) as local, Client(local) as client:
        yield client


def engine(client, block_size: int) -> DaskEngine:
    return DaskEngine(client=client, block_size=block_size)


def both(client, source, tmp_path, block_size: int = 64, **options):
    """(pandas result, dask result), each refreshed into a snapshot root of its own."""
    pandas = run_refresh(str(source), tmp_path / "snap-pandas", **options)
    dask = run_refresh(str(source), tmp_path / "snap-dask", engine=engine(client, block_size), **options)
    return pandas, dask


def assert_same_report(pandas, dask) -> None:
    message = lambda r: r.message.replace(r.version, "<version>") if r.version else r.message
    assert (dask.outcome, message(dask)) == (pandas.outcome, message(pandas))
    a, b = pandas.report, dask.report
    assert {f: b.get(f) for f in REPORT_FIELDS} == {f: a.get(f) for f in REPORT_FIELDS}
    if "rejects" in a:
        assert b["rejects"]["by_reason"] == a["rejects"]["by_reason"]
        for why, examples in a["rejects"]["examples"].items():
            key = lambda e: (e["line"] is None, e["line"] or 0, e["value"] or "")
            assert sorted(b["rejects"]["examples"][why], key=key) == sorted(examples, key=key), why


def assert_same_snapshot(root_a, root_b) -> None:
    va, vb = snapshots.live_version(root_a), snapshots.live_version(root_b)
    for name in snapshots.FRAME_NAMES:
        a, b = snapshots.map_frame(root_a, va, name), snapshots.map_frame(root_b, vb, name)
        assert a.equals(b), name
    ma, mb = snapshots.read_manifest(root_a, va), snapshots.read_manifest(root_b, vb)
    for key in ("rows", "dictionaries", "tenant_digests", "data_as_of", "tenants", "export"):
        assert mb[key] == ma[key], key


@pytest.fixture(scope="module")
def export_50k(tmp_path_factory):
    """~50k events as gzip (the generator's output) and the same export as plain CSV."""
    from etl.generate import generate_export

    root = tmp_path_factory.mktemp("dask-exports")
    generate_export(str(root / "gz"), events=50_000, tenants=8, seed=5, end_date=dt.date(2026, 10, 31), days=200)
    (folder,) = (root / "gz").iterdir()
    plain = root / "plain" / folder.name
    shutil.copytree(folder, plain)
    (plain / "activity.csv").write_bytes(gzip.decompress((plain / "activity.csv.gz").read_bytes()))
    (plain / "activity.csv.gz").unlink()
    return root


def assert_same_answers(root_a, root_b) -> int:
    """Every query over every tenant, several ranges and filters: identical answers. Returns how many."""
    a = load_snapshot(root_a, snapshots.live_version(root_a))
    b = load_snapshot(root_b, snapshots.live_version(root_b))
    asked = 0
    for tenant in sorted(a.tenants):
        assert queries.filter_values(b, tenant) == queries.filter_values(a, tenant)
        values = queries.filter_values(a, tenant)
        ts = a.tenants[tenant]
        first, last = dt.date(1970, 1, 1) + dt.timedelta(ts.first_day), dt.date(1970, 1, 1) + dt.timedelta(ts.last_day)
        ranges = [(first, last), (last - dt.timedelta(29), last), (first + dt.timedelta(40), first + dt.timedelta(130))]
        filters = [{}, {"group": [values["group"][0]["key"]]},
                   {"category": [v["key"] for v in values["category"][:2]]},
                   {"country": [values["country"][-1]["key"]], "format": [values["format"][0]["key"]]}]
        for (start, end), chosen in itertools.product(ranges, filters):
            answers = [lambda s: queries.kpis(s, tenant, start, end, chosen),
                       lambda s: queries.heatmap(s, tenant, start, end, chosen).to_dict("list")]
            answers += [lambda s, m=m, g=g: queries.timeseries(s, tenant, start, end, chosen, m, g).to_dict("list")
                        for m, g in zip(queries.METRICS, itertools.cycle(queries.GRANULARITIES))]
            answers += [lambda s, m=m, by=by: queries.breakdown(s, tenant, start, end, chosen, m, by, 10).to_dict("list")
                        for m, by in zip(queries.METRICS, itertools.cycle(("group", "country", "training", "category",
                                                                            "format")))]
            for answer in answers:
                mine, theirs = answer(b), answer(a)
                assert json.dumps(mine, sort_keys=True, default=str) == json.dumps(theirs, sort_keys=True, default=str)
                asked += 1
    return asked


@pytest.mark.parametrize("kind,block_size", [("gz", 512 << 10), ("plain", 256 << 10)])
def test_dask001_generated_export_same_snapshot_and_answers(cluster, export_50k, tmp_path, kind, block_size):
    pandas, dask = both(cluster, export_50k / kind, tmp_path, block_size)
    assert pandas.outcome == "published", pandas.message
    assert_same_report(pandas, dask)
    assert dask.report["duplicates_dropped"] > 0 and dask.report["engine"] == "dask"
    assert_same_snapshot(tmp_path / "snap-pandas", tmp_path / "snap-dask")
    if kind == "gz":  # the frames are equal; the answers once, over every tenant, ranges and filters
        assert assert_same_answers(tmp_path / "snap-pandas", tmp_path / "snap-dask") > 1500


@pytest.mark.parametrize("row,column,reason", BAD_ROWS, ids=[r[2] + "|" + r[0][:25] for r in BAD_ROWS])
def test_dask002_each_row_rejection_reason(cluster, tmp_path, row, column, reason):
    rows = GOOD_ROWS[:3] + [row] + GOOD_ROWS[3:] + [row]  # one early, one last: lines on both sides of cuts
    write_export(tmp_path / "src", activity=HEADER + "\n".join(rows) + "\n")
    pandas, dask = both(cluster, tmp_path / "src", tmp_path, max_reject_ratio=0.5)
    assert pandas.outcome == "published" and pandas.report["rejects"]["by_reason"] == {reason: 2}
    assert_same_report(pandas, dask)
    assert_same_snapshot(tmp_path / "snap-pandas", tmp_path / "snap-dask")


@pytest.mark.parametrize("name,activity,message", WHOLE_EXPORT_FAILURES, ids=[w[0] for w in WHOLE_EXPORT_FAILURES])
def test_dask003_whole_export_failures(cluster, tmp_path, name, activity, message):
    folder = write_export(tmp_path / "src", date="2026-11-02", activity=activity if activity is not None else b"x")
    if activity is None:
        (folder / "activity.csv").unlink()
    pandas, dask = both(cluster, tmp_path / "src", tmp_path)
    assert pandas.outcome == "rejected" and pandas.message.startswith(message)
    assert_same_report(pandas, dask)
    assert snapshots.live_version(tmp_path / "snap-dask") is None


def test_dask004_truncated_and_bad_rows_in_gzip(cluster, tmp_path):
    data = (HEADER + "\n".join(GOOD_ROWS * 2000) + "\n").encode()
    write_export(tmp_path / "src", activity=b"", gz=True)
    compressed = gzip.compress(data)
    (tmp_path / "src" / "2026-11-01" / "activity.csv.gz").write_bytes(compressed[:len(compressed) // 2])
    pandas, dask = both(cluster, tmp_path / "src", tmp_path, block_size=4096)
    assert pandas.message.startswith("export rejected: activity.csv.gz: the gzip stream is truncated or corrupt")
    assert_same_report(pandas, dask)

    rows = GOOD_ROWS * 300 + [BAD_ROWS[1][0]] + GOOD_ROWS * 300 + [BAD_ROWS[-1][0]]
    write_export(tmp_path / "src2", activity=HEADER + "\n".join(rows) + "\n", gz=True)
    pandas, dask = both(cluster, tmp_path / "src2", tmp_path / "2", block_size=4096)
    assert pandas.report["rows_rejected"] == 2
    assert_same_report(pandas, dask)
    assert_same_snapshot(tmp_path / "2" / "snap-pandas", tmp_path / "2" / "snap-dask")


def test_dask005_quoted_newlines_crlf_bom_across_cuts(cluster, tmp_path):
    rows = [f'e{i},2026-10-30T08:{i % 60:02d}:00Z,acme,"u\n{i % 7}",start,"T,{i % 3}",,{i}' for i in range(60)]
    text = "\ufeff" + HEADER.strip() + "\r\n" + "\r\n".join(rows) + "\r\n"
    write_export(tmp_path / "src", activity=text)
    for block_size in (40, 300):
        pandas, dask = both(cluster, tmp_path / "src", tmp_path / str(block_size), block_size)
        assert pandas.outcome == "published" and pandas.report["rows_accepted"] == 60
        assert_same_report(pandas, dask)
        assert_same_snapshot(tmp_path / str(block_size) / "snap-pandas", tmp_path / str(block_size) / "snap-dask")


def test_dask006_first_valid_row_in_file_order_wins_across_partitions(cluster, tmp_path):
    rows = [",2026-10-30T08:00:00Z,acme,u1,connection,,,1"] * 20
    rows[2] = "dup,not-a-time,acme,u1,connection,,,1"  # rejected: does not claim the id
    rows[9] = "dup,2026-10-30T09:00:00Z,acme,u2,start,T1,,2"  # the first valid one: kept
    rows[15] = "dup,2026-10-30T10:00:00Z,acme,u3,start,T1,,3"  # a duplicate, in a later partition
    rows[17] = "x,2026-10-30T10:00:00Z,beta,u3,connection,,,3"
    rows[19] = "x,2026-10-30T11:00:00Z,beta,u4,connection,,,4"
    write_export(tmp_path / "src", activity=HEADER + "\n".join(rows) + "\n")
    pandas, dask = both(cluster, tmp_path / "src", tmp_path, block_size=100, max_reject_ratio=0.5)
    assert pandas.report["duplicates_dropped"] == 2
    assert_same_report(pandas, dask)
    assert_same_snapshot(tmp_path / "snap-pandas", tmp_path / "snap-dask")
    snap = load_snapshot(tmp_path / "snap-dask", dask.version)
    assert list(snap.users["user_id"][snap.tenants["acme"].users]) == ["u1", "u2"]  # acme's u3 was the duplicate


def test_dask007_cli_engine_and_scheduler(cluster, tmp_path):
    write_export(tmp_path / "src")
    done = subprocess.run([sys.executable, "-m", "etl", "refresh", "--engine", "dask", "--scheduler",
                           cluster.scheduler.address, "--source", str(tmp_path / "src"), "--snapshot-dir",
                           str(tmp_path / "snap")], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("published snapshot ")
    report = json.loads(next((tmp_path / "snap" / "reports").glob("*.json")).read_text())
    assert report["engine"] == "dask" and report["rows_accepted"] == len(GOOD_ROWS)


def test_dask010_unreachable_scheduler_fails_the_refresh_and_keeps_live(tmp_path):
    write_export(tmp_path / "src")
    live = run_refresh(str(tmp_path / "src"), tmp_path / "snap").version
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap", force=True,
                         engine=DaskEngine(scheduler="tcp://127.0.0.1:9", connect_timeout=1))
    assert (result.outcome, result.report["failed_step"]) == ("failed", "validate")
    assert result.message.startswith("validate failed: Timed out trying to connect to tcp://127.0.0.1:9")
    assert snapshots.live_version(tmp_path / "snap") == live


def test_dask008_hash_buckets_do_not_depend_on_layout():
    import pyarrow as pa

    from etl.duplicates import id_hashes as _id_hashes

    ids = pa.array([f"e{i}" for i in range(3000)] + ["", "é" * 3, "e7"])
    whole, tail = _id_hashes(ids), _id_hashes(ids.slice(2000))
    assert np.array_equal(whole[2000:], tail)
    assert whole[7] == whole[-1] and len(np.unique(whole[:3000])) == 3000
    assert _id_hashes(pa.array(["abcd"] * 3))[0] == _id_hashes(pa.array(["abcd", "x"]))[0]


@pytest.mark.services
def test_dask009_workers_read_straight_from_s3(cluster, moto, export_50k, tmp_path):
    import boto3

    from tests.support.s3 import upload_folder
    from tests.support.services import s3_env

    env = s3_env(moto)
    assert cluster.run(lambda: os.environ.update(env))  # the workers' own S3 settings, as on a real cluster
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="dask-exports")
    for kind in ("gz", "plain"):
        (folder,) = (export_50k / kind).iterdir()
        upload_folder(s3, "dask-exports", kind, folder)
        source = f"s3://dask-exports/{kind}"
        pandas, dask = both(cluster, source, tmp_path / kind, 256 << 10)
        assert pandas.outcome == "published", pandas.message
        assert_same_report(pandas, dask)
        assert_same_snapshot(tmp_path / kind / "snap-pandas", tmp_path / kind / "snap-dask")


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_dask011_hostile_corpus_same_outcome(cluster, tmp_path, name):
    expect = HOSTILE[name]
    folder = tmp_path / "src" / "2026-11-02"
    folder.mkdir(parents=True)
    if expect.get("files") != []:
        (folder / ("activity.csv.gz" if name.endswith(".gz") else "activity.csv")).write_bytes((CORPUS / name).read_bytes())
    (folder / "_SUCCESS").write_bytes(b"")
    pandas, dask = both(cluster, tmp_path / "src", tmp_path, block_size=256,
                        max_reject_ratio=expect.get("max_reject_ratio", 0.01))
    assert pandas.outcome == expect["outcome"]
    assert_same_report(pandas, dask)
    if pandas.outcome == "published":
        assert_same_snapshot(tmp_path / "snap-pandas", tmp_path / "snap-dask")


NO_BREAK = 16 << 20  # 16 MB of one field, no line break: 27 s on main, where the carry was scanned again after
# each read and the size limit counted only once a piece was cut (so the whole stream was inflated first)


@pytest.mark.parametrize("header", [b"", HEADER.encode()], ids=["no-line-break-at-all", "header-then-one-16-MB-row"])
def test_dask012_a_gzip_without_line_breaks_is_refused_as_it_inflates(cluster, tmp_path, header):
    """The limits counted while the stream inflates: the header's 1 MB, DATAVIZ_MAX_EXPORT_BYTES."""
    write_export(tmp_path / "src", activity=header + b"a" * NO_BREAK, gz=True)
    limit = 4_000_000
    dask = run_refresh(str(tmp_path / "src"), tmp_path / "snap-dask", engine=engine(cluster, 4096),
                       max_export_bytes=limit)
    pandas = run_refresh(str(tmp_path / "src"), tmp_path / "snap-pandas", max_export_bytes=limit)
    message = ("the header line is longer than 1 MB" if not header else
               "more than 4 MB uncompressed, the limit (DATAVIZ_MAX_EXPORT_BYTES)")
    assert dask.outcome == "rejected" and message in dask.message, dask.message
    assert_same_report(pandas, dask)  # linear: tests/etl/test_blocks.py counts the bytes scanned


@pytest.mark.services
def test_dask013_the_workers_s3_reads_honour_the_s3_timeout(cluster, moto, tmp_path):
    """DATAVIZ_S3_TIMEOUT reaches the workers' reads: a stalled S3 fails the refresh in seconds (on main the
    workers' file system had 30 s per read built in, whatever the setting)."""
    import boto3

    from tests.support.faults import FaultyProxy
    from tests.support.s3 import upload_folder
    from tests.support.services import s3_env

    proxy = FaultyProxy(moto.port)
    direct = s3_env(moto)
    stalled = {**direct, "AWS_ENDPOINT_URL": proxy.url}
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="dask-timeout")
    folder = write_export(tmp_path / "src", activity=HEADER + "\n".join(GOOD_ROWS * 500) + "\n")
    upload_folder(s3, "dask-timeout", "lms", folder)
    assert cluster.run(lambda: os.environ.update(stalled))  # only the workers read through the proxy
    try:
        proxy.set("stall")  # every answer to the workers stops before its first byte
        started = time.monotonic()
        result = run_refresh("s3://dask-timeout/lms", tmp_path / "snap", s3_timeout=1,
                             engine=DaskEngine(client=cluster, block_size=64 << 10, s3_timeout=1))
        seconds = time.monotonic() - started
        assert result.outcome == "failed", result.message
        assert seconds < 20, f"{seconds:.1f}s with DATAVIZ_S3_TIMEOUT=1"
        proxy.set("pass")
        result = run_refresh("s3://dask-timeout/lms", tmp_path / "snap", s3_timeout=1,
                             engine=DaskEngine(client=cluster, block_size=64 << 10, s3_timeout=1))
        assert result.outcome == "published", result.message
    finally:
        cluster.run(lambda: os.environ.update(direct))
        proxy.close()
