"""tenants.csv: names and time zones read, bad rows rejected with their reason, events bucketed by local day and hour."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import given, settings, strategies as st

from app import queries
from app.store import SnapshotStore
from etl.refresh import run_refresh
from etl.zones import wall_clock
from tests.support.exports import HEADER, write_export

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
# daylight saving on both hemispheres, 30- and 45-minute offsets (a 30-minute daylight-saving change at
# Lord Howe), across the date line (Apia skipped 30 December 2011), and no change at all
ZONES = ["Europe/Paris", "America/New_York", "Australia/Adelaide", "Australia/Lord_Howe", "Asia/Kolkata",
         "Asia/Kathmandu", "Pacific/Chatham", "Pacific/Auckland", "Pacific/Apia", "America/St_Johns", "UTC"]
US = 1_000_000


@settings(max_examples=200, deadline=None)
@given(zone=st.sampled_from(ZONES),
       instants=st.lists(st.integers(int(dt.datetime(1990, 1, 1, tzinfo=dt.timezone.utc).timestamp()),
                                     int(dt.datetime(2031, 1, 1, tzinfo=dt.timezone.utc).timestamp())),
                         min_size=1, max_size=50),
       near_change=st.booleans())
def test_tenants001_wall_clock_is_zoneinfos(zone, instants, near_change):
    """Each instant's wall-clock time is the one zoneinfo gives, to the microsecond, near offset changes too."""
    if near_change:  # around the first offset change after the first instant, to the second
        tz, start = ZoneInfo(zone), instants[0]
        offset = lambda s: dt.datetime.fromtimestamp(s, tz).utcoffset()
        change = next((s for s in range(start, start + 400 * 86400, 3600) if offset(s) != offset(start)), None)
        if change is not None:
            instants = [change + d for d in range(-3600, 3601, 450)] + [change - 1, change, change + 1]
    ts = np.array(instants, dtype=np.int64) * US + 123
    expected = [int((dt.datetime.fromtimestamp(s, ZoneInfo(zone)).replace(tzinfo=dt.timezone.utc) - EPOCH)
                    .total_seconds()) * US + 123 for s in instants]
    assert wall_clock(ts, zone).tolist() == expected


TENANTS = """tenant_id,name,timezone
acme,Acme Corp,Asia/Kathmandu
ac me,Spaced,UTC
beta,Beta,Mars/Olympus
gamma,Gamma One,Europe/Paris
gamma,Gamma Two,Pacific/Auckland
,No Id,UTC
delta,,
"""
ROWS = [
    "e1,2026-10-30T20:00:00Z,acme,u1,connection,,,",  # Kathmandu (+05:45): 31 October, 01:45
    "e2,2026-10-30T18:14:00Z,acme,u2,connection,,,",  # 23:59 on the 30th
    "e3,2026-10-30T20:00:00Z,beta,u1,connection,,,",  # an unknown zone: UTC, 30 October, 20:00
    "e4,2026-10-30T12:30:00Z,gamma,u1,connection,,,",  # Auckland (+13:00 in October): 31 October, 01:30
    "e5,2026-10-25T00:30:00Z,delta,u1,connection,,,",  # no zone: UTC
]


def test_tenants002_rules_report_and_local_days(tmp_path):
    write_export(tmp_path / "src", activity=HEADER + "\n".join(ROWS) + "\n", tenants=TENANTS)
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap")
    assert result.outcome == "published", result.message
    report = result.report["tenants_file"]
    assert report["rows_read"] == 7 and report["duplicates"] == 1 and report["rows_rejected"] == 3
    assert report["rejects"]["by_reason"] == {"bad tenant_id": 2, "unknown time zone": 1}
    assert [(e["line"], e["value"]) for e in report["rejects"]["examples"]["bad tenant_id"]] == [(3, "ac me"), (7, "")]
    assert report["rejects"]["examples"]["unknown time zone"] == [
        {"line": 4, "column": "timezone", "value": "Mars/Olympus"}]
    snapshot = SnapshotStore(tmp_path / "snap").current()
    assert {t: (s.name, s.timezone) for t, s in snapshot.tenants.items()} == {
        "acme": ("Acme Corp", "Asia/Kathmandu"), "beta": ("beta", "UTC"),
        "gamma": ("Gamma Two", "Pacific/Auckland"), "delta": ("delta", "UTC")}
    day = lambda tenant, d: queries.kpis(snapshot, tenant, d, d, {})["connections"]
    oct30, oct31 = dt.date(2026, 10, 30), dt.date(2026, 10, 31)
    assert (day("acme", oct30), day("acme", oct31)) == (1, 1)
    assert (day("beta", oct30), day("beta", oct31)) == (1, 0)
    assert (day("gamma", oct30), day("gamma", oct31)) == (0, 1)
    cells = queries.heatmap(snapshot, "acme", oct30, oct31, {})
    hot = {(w, h) for w, h, v in zip(cells["weekday"], cells["hour"], cells["value"]) if v}
    assert hot == {(4, 23), (5, 1)}  # Friday 23:59 and Saturday 01:45, local


def test_tenants003_without_tenants_file_every_tenant_is_on_utc(tmp_path):
    write_export(tmp_path / "src", activity=HEADER + "\n".join(ROWS) + "\n")
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap")
    assert result.report["tenants_file"]["rows_read"] == 0
    snapshot = SnapshotStore(tmp_path / "snap").current()
    assert {s.timezone for s in snapshot.tenants.values()} == {"UTC"}
    assert queries.kpis(snapshot, "acme", dt.date(2026, 10, 30), dt.date(2026, 10, 30), {})["connections"] == 2
