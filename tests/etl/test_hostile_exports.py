"""Hostile exports: every one is either loaded (exactly its valid rows, the rest reported) or rejected with a
one-line reason, and the live snapshot is never damaged.

The small cases are files in ``tests/data/bad_exports/`` described by ``expected.json``; the big ones (a gzip
bomb, a 1 MB line) are made here; hypothesis adds random bytes and random mixes of good and bad rows.
"""
from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from app.store import SnapshotStore, load_snapshot
from etl import snapshot_format as snapshots
from etl import row_rules, validate
from etl.refresh import run_refresh
from tests.support.exports import CORPUS, EXPECTED, GOOD_ROWS, HEADER, write_export

ROOT = Path(__file__).resolve().parents[2]
BAD_DATE = "2026-11-02"


@pytest.fixture()
def live(tmp_path) -> str:
    """A good snapshot already live: what every hostile export must leave alone."""
    write_export(tmp_path / "src", date="2026-11-01")
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap")
    assert result.outcome == "published"
    return result.version


def place(tmp_path: Path, name: str, data: bytes | None) -> Path:
    """``data`` as the activity file of export BAD_DATE (``None``: no data file at all, only ``_SUCCESS``)."""
    folder = tmp_path / "src" / BAD_DATE
    folder.mkdir(parents=True)
    if data is not None:
        (folder / ("activity.csv.gz" if name.endswith(".gz") else "activity.csv")).write_bytes(data)
    (folder / "_SUCCESS").write_bytes(b"")
    return folder


def check_outcome(tmp_path: Path, live: str, result, expect: dict) -> None:
    """The refresh did what ``expect`` says, in one line, and the live snapshot is whole."""
    assert "\n" not in result.message and len(result.message) < 600, result.message
    assert result.outcome == expect["outcome"], result.message
    root = tmp_path / "snap"
    if result.outcome == "published":
        report = result.report
        assert report["rows_accepted"] == expect["rows_accepted"]
        assert report["rejects"]["by_reason"] == expect["rejects"]
        assert report["duplicates_dropped"] == expect.get("duplicates_dropped", 0)
        assert report["rows_read"] == (report["rows_accepted"] + report["rows_rejected"]
                                       + report["duplicates_dropped"])
        loaded = load_snapshot(root, result.version)
        assert int(loaded.facts["n"].sum()) == expect["rows_accepted"]  # exactly the valid rows, each once
    else:
        assert result.message.startswith(expect["message"]), result.message
        assert snapshots.live_version(root) == live
        assert SnapshotStore(root).current().version == live
    assert load_snapshot(root, snapshots.live_version(root)).tenants


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile001_corpus(tmp_path, live, name):
    expect = EXPECTED[name]
    data = None if expect.get("files") == [] else (CORPUS / name).read_bytes()
    place(tmp_path, name, data)
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap", max_reject_ratio=expect.get("max_reject_ratio", 0.01))
    check_outcome(tmp_path, live, result, expect)


def bomb(path: Path, inflated: int) -> None:
    """A gzip file of ``inflated`` bytes of valid rows that weighs about 3 MB on disk.

    gzip members can be concatenated: one compressed 16 MB member repeated is a valid file.
    """
    row = "e,2026-10-30T08:15:03Z,acme,u1,connection,,,300\n"
    block = (row * ((16 << 20) // len(row))).encode()
    member = gzip.compress(block, compresslevel=9)
    with open(path, "wb") as out:
        out.write(gzip.compress(HEADER.encode()))
        for _ in range(inflated // len(block)):
            out.write(member)


def test_hostile002_gzip_bomb_is_rejected_with_bounded_memory(tmp_path, live):
    """2 GB inflated from about 6 MB, against a 64 MB limit: rejected, and the refresh process stays far below
    what reading it whole would take (well over 1 GB for its 45 million rows). Alone it peaks near 320 MB;
    on a loaded machine it has been seen near 800 MB."""
    folder = place(tmp_path, "activity.csv.gz", None)
    bomb(folder / "activity.csv.gz", 2 << 30)
    assert (folder / "activity.csv.gz").stat().st_size < 8 << 20
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATAVIZ_MAX_EXPORT_BYTES": str(64 * 10**6)}
    proc = subprocess.Popen([sys.executable, "-m", "etl", "refresh", "--source", str(tmp_path / "src"),
                             "--snapshot-dir", str(tmp_path / "snap")], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    peak_mb = usage.ru_maxrss / 1024
    assert os.waitstatus_to_exitcode(status) == 1
    assert out.splitlines()[0] == ("export rejected: activity.csv.gz: more than 64 MB uncompressed, the limit "
                                   "(DATAVIZ_MAX_EXPORT_BYTES); a gzip bomb or a wrong file")
    assert peak_mb < 1024, f"the refresh peaked at {peak_mb:.0f} MB"
    assert snapshots.live_version(tmp_path / "snap") == live


def test_hostile003_limit_applies_to_plain_files_and_dimensions(tmp_path, live):
    folder = place(tmp_path, "activity.csv", (HEADER + "\n".join(GOOD_ROWS) + "\n").encode())
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap", max_export_bytes=100)
    assert result.outcome == "rejected"
    assert result.message.startswith("export rejected: activity.csv: more than 100 bytes uncompressed")
    (folder / "users.csv.gz").write_bytes(gzip.compress(b"tenant_id,user_id,group\n" + b"acme,u1,Sales\n" * 1000))
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap", max_export_bytes=1000)
    assert result.message.startswith("export rejected: users.csv.gz: more than 1 kB uncompressed"), result.message
    assert snapshots.live_version(tmp_path / "snap") == live


def test_hostile004_one_megabyte_lines(tmp_path, live):
    """A 1 MB value where any value may be long is kept; in a checked column it is one rejected row; in the
    header it rejects the export."""
    big = "x" * (1 << 20)
    rows = GOOD_ROWS * 40 + [f"e9,2026-10-30T08:00:00Z,acme,{big},connection,,,", f"e10,2026-10-30T08:00:00Z,acme,u1,{big},,,"]
    place(tmp_path, "activity.csv", (HEADER + "\n".join(rows) + "\n").encode())
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap", max_reject_ratio=0.05)
    assert result.outcome == "published", result.message
    why = "unknown event_type (expected connection, enrolment, start or completion)"
    assert result.report["rejects"]["by_reason"] == {why: 1}
    assert len(result.report["rejects"]["examples"][why][0]["value"]) == row_rules.MAX_VALUE_CHARS
    assert len(json.dumps(result.report)) < 100_000  # the report quotes, never copies, a huge value
    live = result.version

    shutil.rmtree(tmp_path / "src" / BAD_DATE)
    place(tmp_path, "activity.csv", (HEADER.strip() + "," + big[:500_000] + "\n" + "\n".join(GOOD_ROWS) + "\n").encode())
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap")
    assert result.outcome == "rejected"
    assert result.message == "export rejected: activity.csv: the header is not a CSV line (field larger than field limit (131072))"
    shutil.rmtree(tmp_path / "src" / BAD_DATE)
    place(tmp_path, "activity.csv", (HEADER.strip() + ",c" + "x," * 10**6).encode())
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap")
    assert result.message == "export rejected: activity.csv: the header line is longer than 1 MB"
    assert snapshots.live_version(tmp_path / "snap") == live


def test_hostile005_export_that_disappears_or_changes_while_read(tmp_path, live, monkeypatch):
    """Deleted or rewritten half-way: the refresh fails (it is not the export's fault, so it is not marked
    rejected and the watcher reads it again next tick); nothing is published from half a file."""
    folder = place(tmp_path, "activity.csv", (HEADER + "\n".join(GOOD_ROWS * 100) + "\n").encode())
    real = validate.read_csv

    def delete_then_read(path, *args, **kwargs):
        shutil.rmtree(folder)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(validate, "read_csv", delete_then_read)
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap")
    assert (result.outcome, result.message) == ("failed", "source unreachable: activity.csv disappeared while the "
                                                           "export was read")
    assert snapshots.live_version(tmp_path / "snap") == live

    folder = place(tmp_path, "activity.csv", (HEADER + "\n".join(GOOD_ROWS * 100) + "\n").encode())

    def truncate_after_read(path, *args, **kwargs):
        table = real(path, *args, **kwargs)
        with open(path, "r+b") as fh:  # the LMS rewrites the file in place while we are at it
            fh.truncate(100)
        return table

    monkeypatch.setattr(validate, "read_csv", truncate_after_read)
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap")
    assert result.outcome == "failed"
    assert result.message == (f"source unreachable: activity.csv of export {BAD_DATE} changed or disappeared while "
                              f"it was read; it is read again at the next refresh")
    assert snapshots.live_version(tmp_path / "snap") == live


HYPOTHESIS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@HYPOTHESIS
@given(data=st.binary(max_size=4096), gz=st.booleans())
def test_hostile006_random_bytes_never_crash_or_damage(tmp_path_factory, data, gz):
    tmp_path = tmp_path_factory.mktemp("random")
    write_export(tmp_path / "src", date="2026-11-01")
    live = run_refresh(str(tmp_path / "src"), tmp_path / "snap").version
    place(tmp_path, "activity.csv.gz" if gz else "activity.csv", data)
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap", max_reject_ratio=1.0)
    assert result.outcome in ("published", "rejected"), result.message
    assert "\n" not in result.message
    if result.outcome == "rejected":
        assert snapshots.live_version(tmp_path / "snap") == live
    assert load_snapshot(tmp_path / "snap", snapshots.live_version(tmp_path / "snap")).tenants


BAD_CELLS = {"occurred_at": ["yesterday", "2026-02-30T00:00:00Z", "1900-01-01T00:00:00Z", ""],
             "tenant_id": ["", "../x", "a b", "x" * 65], "user_id": [""],
             "event_type": ["login", ""], "score": ["abc", "101", "-1"], "duration_s": ["1.5", "-3", "x"]}
COLUMNS = HEADER.strip().split(",")


@st.composite
def mixed_rows(draw):
    """Good rows, some with one bad cell, in any order, with any of three line endings."""
    rows, bad = [], 0
    for i in range(draw(st.integers(5, 60))):
        cells = ["", "2026-10-30T08:15:03Z", "acme", f"u{i % 5}", "start", "T1", "50", "60"]
        if draw(st.booleans()):
            column = draw(st.sampled_from(sorted(BAD_CELLS)))
            cells[COLUMNS.index(column)] = draw(st.sampled_from(BAD_CELLS[column]))
            bad += 1
        rows.append(",".join(cells))
    return rows, bad, draw(st.sampled_from(["\n", "\r\n", "\r"]))


ALL_BAD = ([",yesterday,acme,u0,start,T1,50,60", ",2026-10-30T08:15:03Z,acme,u1,login,T1,50,60",
            ",2026-10-30T08:15:03Z,../x,u2,start,T1,50,60", ",2026-10-30T08:15:03Z,acme,u3,start,T1,101,60",
            ",2026-10-30T08:15:03Z,acme,u4,start,T1,50,-3"], 5, "\n")


@HYPOTHESIS
@example(case=ALL_BAD)  # every row bad: the export is refused (rarely drawn: each row is bad with p = 1/2)
@example(case=(ALL_BAD[0][:4] + [",2026-10-30T08:15:03Z,acme,u4,start,T1,50,60"], 4, "\r"))  # one good row
@given(case=mixed_rows())
def test_hostile007_valid_rows_are_loaded_and_the_rest_reported(tmp_path_factory, case):
    rows, bad, newline = case
    tmp_path = tmp_path_factory.mktemp("mixed")
    write_export(tmp_path / "src", date="2026-11-01")
    live = run_refresh(str(tmp_path / "src"), tmp_path / "snap").version
    place(tmp_path, "activity.csv", (HEADER.strip() + newline + newline.join(rows) + newline).encode())
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap", max_reject_ratio=1.0)
    if bad == len(rows):
        assert (result.outcome, result.message) == ("rejected", f"export rejected: export {BAD_DATE}: no valid event rows")
        assert snapshots.live_version(tmp_path / "snap") == live
        return
    assert result.outcome == "published", result.message
    assert (result.report["rows_read"], result.report["rows_rejected"]) == (len(rows), bad)
    assert int(load_snapshot(tmp_path / "snap", result.version).facts["n"].sum()) == len(rows) - bad


def test_hostile008_export_uploaded_again_under_the_same_date_is_loaded(tmp_path, live):
    """The LMS fixes an export and uploads it again under the same date: it is not "up to date"."""
    assert run_refresh(str(tmp_path / "src"), tmp_path / "snap").outcome == "up_to_date"
    write_export(tmp_path / "src", date="2026-11-01", activity=HEADER + "\n".join(GOOD_ROWS[:3]) + "\n")
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap")
    assert result.outcome == "published" and result.report["rows_accepted"] == 3
