"""Tiny hand-written exports for ETL tests, and the corpora of bad rows and bad exports both engines face."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

HEADER = "event_id,occurred_at,tenant_id,user_id,event_type,training_id,score,duration_s\n"
GOOD_ROWS = [
    "e1,2026-10-30T08:15:03Z,acme,u1,connection,,,300",
    "e2,2026-10-30T09:15:03+01:00,acme,u1,enrolment,T1,,",
    "e3,2026-10-31T10:00:00Z,acme,u1,start,T1,,600",
    "e4,2026-10-31T11:00:00Z,acme,u2,completion,T1,88.5,900",
    "e5,2026-10-31T12:00:00Z,beta,u1,connection,,,60",
]


def write_export(root: Path, date: str = "2026-11-01", activity: str | bytes | None = None,
                 users: str | None = None, trainings: str | None = None, tenants: str | None = None, gz: bool = False,
                 success: bool = True, activity_name: str | None = None, assignments: str | None = None) -> Path:
    folder = root / date
    folder.mkdir(parents=True, exist_ok=True)
    if activity is None:
        activity = HEADER + "\n".join(GOOD_ROWS) + "\n"
    data = activity.encode() if isinstance(activity, str) else activity
    name = activity_name or ("activity.csv.gz" if gz else "activity.csv")
    (folder / name).write_bytes(gzip.compress(data) if gz and name.endswith(".gz") else data)
    if users is not None:
        (folder / "users.csv").write_text(users)
    if trainings is not None:
        (folder / "trainings.csv").write_text(trainings)
    if tenants is not None:
        (folder / "tenants.csv").write_text(tenants)
    if assignments is not None:
        (folder / "assignments.csv").write_text(assignments)
    if success:
        (folder / "_SUCCESS").write_text("")
    return folder


# every row-rejection reason: (row, column, reason), each row beside GOOD_ROWS in an export
BAD_ROWS = [
    (",,acme,u9,connection,,,", "occurred_at", "missing occurred_at"),
    (",yesterday,acme,u9,connection,,,", "occurred_at", "unparsable timestamp"),
    (",2026-13-01T08:00:00Z,acme,u9,connection,,,", "occurred_at", "unparsable timestamp"),
    (",1970-01-01T00:00:00Z,acme,u9,connection,,,", "occurred_at",
     "timestamp out of range (before 1990 or after the export date)"),
    (",2031-01-01T00:00:00Z,acme,u9,connection,,,", "occurred_at",
     "timestamp out of range (before 1990 or after the export date)"),
    (",2026-10-30T08:00:00Z,,u9,connection,,,", "tenant_id", "missing tenant_id"),
    (",2026-10-30T08:00:00Z,ac me,u9,connection,,,", "tenant_id", "bad tenant_id (1 to 64 of A-Z a-z 0-9 _ . -)"),
    (",2026-10-30T08:00:00Z,../x,u9,connection,,,", "tenant_id", "bad tenant_id (1 to 64 of A-Z a-z 0-9 _ . -)"),
    (",2026-10-30T08:00:00Z,acme,,connection,,,", "user_id", "missing user_id"),
    (",2026-10-30T08:00:00Z,acme,\"\",connection,,,", "user_id", "missing user_id"),
    (",2026-10-30T08:00:00Z,acme,u9,,,,", "event_type", "missing event_type"),
    (",2026-10-30T08:00:00Z,acme,u9,login,,,", "event_type",
     "unknown event_type (expected connection, enrolment, start or completion)"),
    (",2026-10-30T08:00:00Z,acme,u9,start,,,", "training_id",
     "missing training_id (required for enrolment, start and completion)"),
    (",2026-10-30T08:00:00Z,acme,u9,connection,T1,,", "training_id", "training_id must be empty for a connection"),
    (",2026-10-30T08:00:00Z,acme,u9,completion,T1,abc,", "score", "score is not a number"),
    (",2026-10-30T08:00:00Z,acme,u9,completion,T1,100.5,", "score", "score outside 0 to 100"),
    (",2026-10-30T08:00:00Z,acme,u9,completion,T1,-1,", "score", "score outside 0 to 100"),
    (",2026-10-30T08:00:00Z,acme,u9,completion,T1,nan,", "score", "score outside 0 to 100"),
    (",2026-10-30T08:00:00Z,acme,u9,start,T1,,1.5", "duration_s", "duration_s is not an integer"),
    (",2026-10-30T08:00:00Z,acme,u9,start,T1,,-5", "duration_s", "negative duration_s"),
]

# every whole-export failure: (case, activity bytes or None for no file, message)
WHOLE_EXPORT_FAILURES = [
    ("missing", None, "export rejected: export 2026-11-02 has no activity.csv or activity.csv.gz"),
    ("empty", b"", "export rejected: activity.csv: the file is empty"),
    ("header only", HEADER.encode(), "export rejected: activity.csv: the file holds a header but no rows"),
    ("required column", HEADER.replace("user_id,", "").encode() + b"e1,2026-10-30T08:00:00Z,acme,connection,,,\n",
     "export rejected: activity.csv: required column missing: user_id"),
    ("two required columns", b"a,b\n1,2\n",
     "export rejected: activity.csv: required columns missing: occurred_at, tenant_id, user_id, event_type"),
    ("duplicated column", (HEADER.strip() + ",user_id\n" + GOOD_ROWS[0] + ",x\n").encode(),
     "export rejected: activity.csv: column 'user_id' appears twice"),
    ("latin-1", (HEADER + "e1,2026-10-30T08:00:00Z,acme,usé,connection,,,\n").encode("latin-1"),
     "export rejected: activity.csv: not UTF-8 text"),
    ("binary file", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "export rejected: activity.csv: not UTF-8 text"),
    ("not csv", b"<html><body>Service unavailable</body></html>\n",
     "export rejected: activity.csv: required columns missing: occurred_at, tenant_id, user_id, event_type"),
    ("undecodable row", (HEADER + "e1,2026-10-30T08:00:00Z,acme,u\xff,connection,,,\n").encode("latin-1"),
     "export rejected: activity.csv: not UTF-8 text"),
    ("too many bad rows", (HEADER + "\n".join(GOOD_ROWS * 10 + [",bad,acme,u1,connection,,,"]) + "\n").encode(),
     "export rejected: activity.csv: 1 of 51 rows rejected (2.0%, above the 1.0% limit); "
     "most common: unparsable timestamp (1)"),
]

# hand-made exports, each with its expected outcome (tests/data/bad_exports/expected.json)
CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_exports"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())


def add_learner(folder: Path, tenant: str, user: str) -> None:
    """Append one learner to a generated export (gzip files): a row of every event type, a scored completion,
    a ``users.csv`` row (with a name, when the file has the column), an assignment of a training only they have
    (when the export has assignments), and malformed lines naming them, which the report quotes as examples."""
    rows = [f"{user}-1,2026-08-20T08:00:00Z,{tenant},{user},connection,,,300",
            f"{user}-2,2026-08-20T09:00:00Z,{tenant},{user},enrolment,T-only-{user},,",
            f"{user}-3,2026-08-21T10:00:00Z,{tenant},{user},start,T-only-{user},,600",
            f"{user}-4,2026-08-22T11:00:00Z,{tenant},{user},completion,T-only-{user},73.25,900",
            f"{user}-5,2026-08-22T12:00:00Z,{tenant},{user},connection,,,60",
            f"{user}-6,2026-08-22T13:00:00Z,{tenant},{user},connection,,,60,one-field-too-many"]
    header = gzip.decompress((folder / "users.csv.gz").read_bytes()).decode().split("\n", 1)[0].split(",")
    known = {"tenant_id": tenant, "user_id": user, "name": f"Name of {user}", "group": "Engineering", "country": "NL"}
    listed = ",".join(known.get(column, "") for column in header)
    files = [("activity.csv.gz", rows), ("users.csv.gz", [listed])]
    if (folder / "assignments.csv.gz").exists():  # a training assigned to them alone, and a broken line naming them
        files.append(("assignments.csv.gz", [f"{tenant},{user},T-assigned-{user},2026-08-01,2026-09-30",
                                             f"{tenant},{user},T-assigned-{user},2026-08-01,2026-09-30,extra"]))
    for name, lines in files:
        path = folder / name
        path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()) + "".join(f"{x}\n" for x in lines).encode()))


LEARNER_EVENTS = 5  # the valid activity rows ``add_learner`` appends


def tenants_of(folder: Path) -> list[str]:
    """The tenants a generated export's ``users.csv.gz`` lists, sorted."""
    lines = gzip.decompress((folder / "users.csv.gz").read_bytes()).decode().splitlines()[1:]
    return sorted({line.split(",", 1)[0] for line in lines})
