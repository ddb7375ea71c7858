"""Tiny hand-written exports for ETL tests."""
from __future__ import annotations

import gzip
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
                 users: str | None = None, trainings: str | None = None, gz: bool = False,
                 success: bool = True, activity_name: str | None = None) -> Path:
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
    if success:
        (folder / "_SUCCESS").write_text("")
    return folder
