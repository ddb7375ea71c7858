"""The data contract: every row-rejection reason and every whole-export failure, with its message."""
from __future__ import annotations

import gzip
import json

import pytest

from app.store import SnapshotStore
from etl import snapshot_format as snapshots
from etl.refresh import run_refresh
from tests.support.exports import BAD_ROWS, GOOD_ROWS, HEADER, WHOLE_EXPORT_FAILURES, write_export

@pytest.mark.parametrize("row,column,reason", BAD_ROWS, ids=[r[2] + "|" + r[0][:25] for r in BAD_ROWS])
def test_validate001_each_row_rejection_reason(tmp_path, row, column, reason):
    write_export(tmp_path / "src", activity=HEADER + "\n".join(GOOD_ROWS) + "\n" + row + "\n")
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap", max_reject_ratio=0.5)
    assert result.outcome == "published", result.message
    report = result.report
    assert report["rows_read"] == len(GOOD_ROWS) + 1
    assert report["rows_accepted"] == len(GOOD_ROWS)
    assert report["rejects"]["by_reason"] == {reason: 1}
    (example,) = report["rejects"]["examples"][reason]
    expected = row.split(",")[{"occurred_at": 1, "tenant_id": 2, "user_id": 3, "event_type": 4,
                               "training_id": 5, "score": 6, "duration_s": 7}[column]].strip('"') or None
    assert (example["line"], example["column"]) == (len(GOOD_ROWS) + 2, column)
    if column == "score" and expected not in (None, "abc"):  # parsed on the fast path: shown as a number
        assert float(example["value"]) == pytest.approx(float(expected), nan_ok=True)
    else:
        assert example["value"] == expected
    # the report is written as JSON beside the snapshot and in reports/
    saved = json.loads((tmp_path / "snap" / result.version / "report.json").read_text())
    assert saved["rejects"]["by_reason"] == {reason: 1}
    assert result.report_path.is_file()


def test_validate002_accepts_contract_variants(tmp_path):
    """Offsets, naive UTC, fractional seconds, upper-case types, BOM, CRLF, quoted commas and newlines."""
    text = ("\ufeff" + HEADER.replace(",", ",").strip() + "\r\n"
            "e1,2026-10-30T23:30:00-01:00,acme,u1,CONNECTION,,,10\r\n"
            "e2,2026-10-30T08:00:00,acme,u1,Enrolment,\"T,1\",,\r\n"
            "e3,2026-10-30T08:00:00.250Z,acme,\"u\n2\",start,\"T,1\",,5\r\n")
    write_export(tmp_path / "src", activity=text)
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap")
    assert result.outcome == "published", result.message
    assert result.report["rows_rejected"] == 0
    snap = SnapshotStore(tmp_path / "snap").current()
    assert sorted(snap.users["user_id"]) == ["u\n2", "u1"]
    assert list(snap.trainings["training_id"]) == ["T,1"]
    # 23:30 at -01:00 is 00:30 UTC the next day
    assert snap.data_as_of.isoformat() == "2026-10-31"


def test_validate003_duplicate_event_ids_dropped(tmp_path):
    rows = GOOD_ROWS + [GOOD_ROWS[0], GOOD_ROWS[0].replace("u1", "u7"), ",2026-10-30T08:00:00Z,acme,u8,connection,,,"]
    write_export(tmp_path / "src", activity=HEADER + "\n".join(rows) + "\n")
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap")
    assert result.report["duplicates_dropped"] == 2
    assert result.report["rows_accepted"] == len(GOOD_ROWS) + 1  # rows without event_id are never duplicates


def test_validate010_wrong_field_count_rejected_as_rows(tmp_path):
    rows = GOOD_ROWS + ["e9,2026-10-30T08:00:00Z,acme,u1,connection", "e10,2026-10-30T08:00:00Z,acme,u1,connection,,,1,2"]
    write_export(tmp_path / "src", activity=HEADER + "\n".join(rows) + "\n")
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap", max_reject_ratio=0.5)
    assert result.outcome == "published", result.message
    assert result.report["rows_read"] == len(GOOD_ROWS) + 2
    assert result.report["rejects"]["by_reason"] == {"wrong number of fields (expected 8)": 2}
    examples = result.report["rejects"]["examples"]["wrong number of fields (expected 8)"]
    assert sorted(e["value"] for e in examples) == sorted(rows[-2:])


def test_validate004_unknown_columns_warned(tmp_path):
    text = HEADER.strip() + ",comment\n" + "\n".join(r + ",hi" for r in GOOD_ROWS) + "\n"
    write_export(tmp_path / "src", activity=text)
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap")
    assert result.outcome == "published"
    assert result.report["warnings"] == ["activity.csv: unknown column ignored: comment"]


@pytest.fixture()
def live(tmp_path):
    """A snapshot root with a good snapshot already live."""
    write_export(tmp_path / "src", date="2026-11-01")
    first = run_refresh(str(tmp_path / "src"), tmp_path / "snap")
    assert first.outcome == "published"
    return first.version


@pytest.mark.parametrize("name,activity,message", WHOLE_EXPORT_FAILURES, ids=[w[0] for w in WHOLE_EXPORT_FAILURES])
def test_validate005_whole_export_rejected_keeps_live(tmp_path, live, name, activity, message):
    folder = write_export(tmp_path / "src", date="2026-11-02", activity=activity if activity is not None else b"x")
    if activity is None:
        (folder / "activity.csv").unlink()
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap")
    assert result.outcome == "rejected"
    assert result.message.startswith(message), result.message
    assert "\n" not in result.message
    assert snapshots.live_version(tmp_path / "snap") == live
    assert SnapshotStore(tmp_path / "snap").current().version == live
    saved = json.loads(result.report_path.read_text())
    assert saved["outcome"] == "rejected" and saved["message"] == result.message


def test_validate006_truncated_gzip_rejected(tmp_path, live):
    data = gzip.compress((HEADER + "\n".join(GOOD_ROWS * 2000) + "\n").encode())
    write_export(tmp_path / "src", date="2026-11-02", activity=b"", gz=True)
    (tmp_path / "src" / "2026-11-02" / "activity.csv.gz").write_bytes(data[: len(data) // 2])
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap")
    assert result.outcome == "rejected"
    assert result.message.startswith("export rejected: activity.csv.gz: the gzip stream is truncated or corrupt"), result.message
    assert snapshots.live_version(tmp_path / "snap") == live


def test_validate007_gzip_and_dimensions(tmp_path):
    users = "tenant_id,user_id,group,country\nacme,u1,Sales,fr\nacme,u1,HR,DE\n,u5,X,Y\nacme,u3,, \n"
    trainings = "tenant_id,training_id,title,category\nacme,T1,\"Negotiation, basics\",Sales\n"
    write_export(tmp_path / "src", gz=True, users=users, trainings=trainings)
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap")
    assert result.outcome == "published", result.message
    assert "users.csv: 1 rows without a valid tenant_id or user_id skipped" in result.report["warnings"]
    snap = SnapshotStore(tmp_path / "snap").current()
    from app import queries
    values = queries.filter_values(snap, "acme")
    assert values["group"] == [{"key": g, "label": g} for g in ["Sales", "Unknown"]]
    assert values["country"] == [{"key": c, "label": c} for c in ["FR", "Unknown"]]
    assert values["training"] == [{"key": "T1", "label": "Negotiation, basics"}]
    assert values["format"] == [{"key": "Unknown", "label": "Unknown"}]


def test_validate008_incomplete_exports_ignored(tmp_path):
    write_export(tmp_path / "src", date="2026-11-01")
    write_export(tmp_path / "src", date="2026-11-02", activity=b"garbage", success=False)
    (tmp_path / "src" / "notes").mkdir()
    (tmp_path / "src" / "2026-99-99").mkdir()
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap")
    assert result.outcome == "published"
    assert result.report["export"]["date"] == "2026-11-01"


def test_validate009_no_export_and_missing_source(tmp_path):
    (tmp_path / "src").mkdir()
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap")
    assert (result.outcome, result.message) == (
        "failed", f"source unreachable: no complete export (a YYYY-MM-DD folder with _SUCCESS) in {tmp_path / 'src'}")
    result = run_refresh(str(tmp_path / "nowhere"), tmp_path / "snap")
    assert result.message == f"source unreachable: source folder {tmp_path / 'nowhere'} does not exist"


@pytest.mark.parametrize("bad", [
    "e9,yesterday,acme,u8,connection,,,",  # rejected for its timestamp
    "e9,2026-10-30T08:00:00Z,acme,u8,login,,,",  # rejected for its type
    "e9,2026-10-30T08:00:00Z,acme,u8,start,,,",  # rejected: a start without a training
])
def test_validate011_a_rejected_row_does_not_claim_its_event_id(tmp_path, bad):
    """The pandas engine (the default): a later valid row with a rejected row's event_id is kept, and
    only valid rows count as earlier copies."""
    rows = GOOD_ROWS + [bad, "e9,2026-10-30T09:00:00Z,acme,u9,connection,,,", GOOD_ROWS[0].replace("u1", "u7")]
    write_export(tmp_path / "src", activity=HEADER + "\n".join(rows) + "\n")
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap", max_reject_ratio=0.5)
    assert result.outcome == "published", result.message
    assert result.report["engine"] == "pandas"
    assert (result.report["rows_rejected"], result.report["duplicates_dropped"]) == (1, 1)
    assert result.report["rows_accepted"] == len(GOOD_ROWS) + 1
    users = set(SnapshotStore(tmp_path / "snap").current().users["user_id"])
    assert "u9" in users and "u7" not in users and "u8" not in users
