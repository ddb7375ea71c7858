"""assignments.csv: rows rejected with their line, column and reason, repeated keys, the reject ratio, dates alone
on the tenant's calendar, and what the snapshot and the queries make of them (against the oracle too)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import example, given, settings, strategies as st

from app import queries
from app.catalog import COMPLIANCE_METRICS
from app.store import SnapshotStore
from etl import snapshot_format as snapshots
from etl.refresh import run_refresh
from etl.zones import day_starts, wall_clock
from tests.support.exports import HEADER, write_export
from tests.support.oracle import Oracle, same_value

HEAD = "tenant_id,user_id,training_id,assigned_at,due_at\n"
US = 1_000_000
US_PER_DAY = 86_400 * US
ZONES = ["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Chatham",
         "Pacific/Apia", "America/Santiago", "America/Havana", "UTC"]
# every reason a row is rejected for: (row, line's column, reason)
BAD = [
    (",u1,T1,2026-10-01,", "tenant_id", "missing tenant_id"),
    ("ac me,u1,T1,2026-10-01,", "tenant_id", "bad tenant_id"),
    ("acme,,T1,2026-10-01,", "user_id", "missing user_id"),
    ("acme,u1,,2026-10-01,", "training_id", "missing training_id"),
    ("acme,u1,T1,,2026-10-05", "assigned_at", "missing assigned_at"),
    ("acme,u1,T1,yesterday,", "assigned_at", "malformed assigned_at (expected an ISO 8601 date or timestamp)"),
    ("acme,u1,T1,2026-02-30,", "assigned_at", "malformed assigned_at (expected an ISO 8601 date or timestamp)"),
    ("acme,u1,T1,2026-10-01,soon", "due_at", "malformed due_at (expected an ISO 8601 date or timestamp)"),
    ("acme,u1,T1,2026-10-01,2026-10-01T25:00:00Z", "due_at",
     "malformed due_at (expected an ISO 8601 date or timestamp)"),
    ("acme,u1,T1,2026-10-05,2026-10-04", "due_at", "due_at before assigned_at"),
    ("acme,u1,T1,2026-10-05T10:00:00Z,2026-10-05T09:59:59Z", "due_at", "due_at before assigned_at"),
]
GOOD = ["acme,u1,T1,2026-10-01,2026-10-31", "acme,u2,T1,2026-10-01T09:00:00+02:00,"]


def refresh(tmp_path, assignments: str, ratio: float = 0.9, tenants: str | None = None, activity=None,
            name: str = "src"):
    write_export(tmp_path / name, activity=activity, tenants=tenants, assignments=assignments)
    return run_refresh(str(tmp_path / name), tmp_path / "snap", max_reject_ratio=ratio)


def test_assign001_every_rejection_reason_with_line_and_column(tmp_path):
    rows = GOOD + [row for row, _, _ in BAD]
    result = refresh(tmp_path, HEAD + "\n".join(rows) + "\n")
    assert result.outcome == "published", result.message
    report = result.report["assignments_file"]
    expected: dict[str, int] = {}
    for _, _, why in BAD:
        expected[why] = expected.get(why, 0) + 1
    assert report["rejects"]["by_reason"] == expected
    assert (report["rows_read"], report["rows_accepted"], report["rows_rejected"], report["duplicates"]) == \
        (len(rows), len(GOOD), len(BAD), 0)
    for k, (row, column, why) in enumerate(BAD):
        line = len(GOOD) + k + 2  # the header is line 1
        assert any(e["line"] == line and e["column"] == column for e in report["rejects"]["examples"][why]), \
            (row, report["rejects"]["examples"][why])
    oracle = Oracle(str(tmp_path / "src" / "2026-11-01"))
    assert sum(oracle.assignments_report()["rejected_by_reason"].values()) == len(BAD)


def test_assign002_last_valid_row_of_a_key_wins(tmp_path):
    rows = ["acme,u1,T1,2026-10-01,2026-10-10",  # replaced by the next valid row
            "acme,u1,T1,2026-10-01,2026-10-20",  # wins: a rejected row never replaces a valid one
            "acme,u1,T1,2026-10-01,not-a-date",
            "beta,u1,T1,2026-10-01,2026-10-10",  # another tenant: another key
            "acme,u2,T1,2026-10-01,2026-10-10"]
    result = refresh(tmp_path, HEAD + "\n".join(rows) + "\n")
    report = result.report["assignments_file"]
    assert (report["rows_read"], report["rows_accepted"], report["rows_rejected"], report["duplicates"]) == (5, 3, 1, 1)
    snap = SnapshotStore(tmp_path / "snap").current()
    due = lambda start, end: queries.kpis(snap, "acme", start, end, {})["assignments_due"]
    assert due(dt.date(2026, 10, 20), dt.date(2026, 10, 20)) == 1
    assert due(dt.date(2026, 10, 10), dt.date(2026, 10, 10)) == 1  # u2's only
    assert queries.kpis(snap, "beta", dt.date(2026, 10, 1), dt.date(2026, 10, 31), {})["assignments_due"] == 1
    assert Oracle(str(tmp_path / "src" / "2026-11-01")).assignments_report()["duplicates"] == 1


def test_assign003_too_many_rejected_rows_reject_the_export_and_keep_the_snapshot(tmp_path):
    good = refresh(tmp_path, HEAD + "\n".join(GOOD) + "\n", ratio=0.01)
    assert good.outcome == "published", good.message
    rows = GOOD * 60 + ["acme,u1,T1,2026-10-01,soon"] * 2  # 2 of 122: 1.6%
    write_export(tmp_path / "src", date="2026-11-02", assignments=HEAD + "\n".join(rows) + "\n")
    bad = run_refresh(str(tmp_path / "src"), tmp_path / "snap", max_reject_ratio=0.01)
    assert bad.outcome == "rejected"
    assert "assignments.csv: 2 of 122 rows rejected" in bad.message
    assert "malformed due_at" in bad.message
    assert snapshots.live_version(tmp_path / "snap") == good.version


def test_assign004_a_missing_required_column_rejects_the_export(tmp_path):
    result = refresh(tmp_path, "tenant_id,user_id,assigned_at\nacme,u1,2026-10-01\n")
    assert result.outcome == "rejected"
    assert "assignments.csv: required column missing: training_id" in result.message


def test_assign005_a_header_alone_means_no_assignments(tmp_path):
    result = refresh(tmp_path, HEAD)
    assert result.outcome == "published", result.message
    snap = SnapshotStore(tmp_path / "snap").current()
    values = queries.kpis(snap, "acme", dt.date(2026, 10, 1), dt.date(2026, 10, 31), {})
    assert {m: values[m] for m in COMPLIANCE_METRICS} == {m: None for m in COMPLIANCE_METRICS}


@settings(max_examples=150, deadline=None)
@given(zone=st.sampled_from(ZONES), day=st.dates(dt.date(1995, 1, 1), dt.date(2035, 12, 31)))
@example(zone="Pacific/Apia", day=dt.date(2011, 12, 30))  # a day the calendar skips (found by a CI run)
def test_assign006_a_day_starts_at_its_first_instant_on_the_zones_calendar(zone, day):
    """The first instant whose wall clock is on ``day`` (a skipped midnight: the end of the gap). A day the zone's
    calendar skips whole (Pacific/Apia, 2011-12-30: Samoa crossed the date line) is empty: it starts where the
    next day does."""
    number = (day - dt.date(1970, 1, 1)).days
    (start,) = day_starts(np.array([number]), zone)
    on, before = wall_clock(np.array([start, start - 1]), zone) // US_PER_DAY
    if on == number:
        assert before == number - 1
    else:
        assert before < number < on
        assert day_starts(np.array([number + 1]), zone)[0] == start


def _instant(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp()) * US


def test_assign007_dates_alone_start_and_end_in_the_tenants_zone(tmp_path):
    """Auckland is 13 hours ahead in October: a due day ends at 10:59:59.999999 UTC, so a completion at
    10:30 UTC is on time and one at 11:30 is late; a due time is an instant, whatever the zone."""
    activity = HEADER + "\n".join([
        "e1,2026-10-30T10:30:00Z,acme,u1,completion,T1,,",
        "e2,2026-10-30T11:30:00Z,acme,u2,completion,T1,,",
        "e3,2026-10-30T11:30:00Z,acme,u3,completion,T1,,",
        "e4,2026-10-31T08:00:00Z,acme,u4,start,T2,,",
    ]) + "\n"
    assignments = HEAD + "\n".join([
        "acme,u1,T1,2026-10-01,2026-10-30",
        "acme,u2,T1,2026-10-01,2026-10-30",
        "acme,u3,T1,2026-10-01,2026-10-31T00:30:00+13:00",  # 11:30 UTC on the 30th: completed just in time
        "acme,u4,T2,2026-10-02,2026-11-05",  # due soon, started, active: not at risk
        "acme,u5,T2,2026-10-02,2026-11-14",  # the 14th local day after data_as_of: still due soon, at risk
        "acme,u6,T2,2026-10-02,2026-11-15",  # the 15th: not yet due soon
    ]) + "\n"
    result = refresh(tmp_path, assignments, tenants="tenant_id,name,timezone\nacme,Acme,Pacific/Auckland\n",
                     activity=activity)
    assert result.outcome == "published", result.message
    snap = SnapshotStore(tmp_path / "snap").current()
    frame = snap.assignments
    rows = snap.tenants["acme"].assignments
    tz = ZoneInfo("Pacific/Auckland")
    first_start = int(dt.datetime(2026, 10, 1, tzinfo=tz).timestamp()) * US
    assert first_start in frame["assigned_at"][rows].tolist()
    assert int(dt.datetime(2026, 10, 31, tzinfo=tz).timestamp()) * US - 1 in frame["due_at"][rows].tolist()
    start, end = dt.date(2026, 10, 30), dt.date(2026, 10, 31)
    values = queries.kpis(snap, "acme", start, end, {})
    assert snap.data_as_of == dt.date(2026, 10, 31)
    expected = {"assignments_due": 3, "completed_on_time": 2, "completed_late": 1, "overdue": 0,
                "on_time_rate": 2 / 3, "due_soon": 2, "at_risk_learners": 1}
    assert {m: values[m] for m in COMPLIANCE_METRICS} == expected
    oracle = Oracle(str(tmp_path / "src" / "2026-11-01"))
    theirs = oracle.kpis("acme", start, end, {})
    assert all(same_value(values[m], theirs[m]) for m in COMPLIANCE_METRICS), (values, theirs)
