"""The hand-checked tricky export: rejected rows, empty event ids, mixed-case types, near-duplicates.

Small enough to check every number on paper (tests/test_oracle.py does, against the oracle); the
product is run on it too (tests/test_tricky_exports_vs_oracle.py). Dates:
2026-11-02, 11-09 and 11-16 are Mondays; the main range is Wed 11-04 .. Tue 11-17.

Events in the main range (acme), by user:
  u1 (Sales, FR):  e03 conn 11-04 08:15, e04 start T1, e05 completion T1 score 90, e18 enrolment T2
  u2 (Sales, DE):  e06 conn (23:30-02:00 on 11-06 = Sat 11-07 01:30 UTC), e07 enrolment T2
                   (00:30+01:00 on 11-10 = Mon 11-09 23:30 UTC), e08 start T2,
                   two completions T2 without event_id (scores 90 and 60)
  u3 (Ops, FR):    e09 enrolment T1, e10 start T1, e21 CONNECTION, e23 conn;
                   its completion of T1 (e11) is on 11-20, after the range
  u4 ('' -> Unknown, DE): e12 enrolment T3, e13 completion T3 without score
  u5 (Ops, FR):    connections only (e14, e15)
  u6 (not in users.csv): e16 enrolment T9, e17 start T9 (T9 not in trainings.csv)
Outside the range: e01 (10-20), e02 (10-30), e11 (11-20), e19 (11-18), e20 (11-03).
"""
from __future__ import annotations

import gzip
from datetime import date

D = date
RANGE = (D(2026, 11, 4), D(2026, 11, 17))

ACTIVITY = """\
tenant_id,event_id,user_id,occurred_at,event_type,training_id,score,duration_s,extra
acme,e01,u1,2026-10-20T09:00:00Z,enrolment,T1,,60,x
acme,e02,u2,2026-10-30T10:00:00Z,connection,,,300,
acme,e03,u1,2026-11-04T08:15:00Z,connection,,,600,
acme,e04,u1,2026-11-04T08:20:00Z,start,T1,,1200,
acme,e05,u1,2026-11-05T09:00:00Z,completion,T1,90,1800,
acme,e05,u1,2026-11-05T09:00:00Z,completion,T1,20,9999,duplicate of e05
acme,e06,u2,2026-11-06T23:30:00-02:00,connection,,,120,
acme,e07,u2,2026-11-10T00:30:00+01:00,enrolment,T2,,0,
acme,e08,u2,2026-11-10T10:00:00Z,start,T2,,,
acme,,u2,2026-11-12T10:00:00,completion,T2,90,3600,no event_id
acme,,u2,2026-11-12T10:00:00,completion,T2,60,0,no event_id
acme,e09,u3,2026-11-09T14:00:00Z,enrolment,T1,,30,
acme,e10,u3,2026-11-16T14:00:00Z,start,T1,,,
acme,e11,u3,2026-11-20T09:00:00Z,completion,T1,60,,
acme,e12,u4,2026-11-11T07:00:00Z,enrolment,T3,,,
acme,e13,u4,2026-11-13T07:00:00Z,completion,T3,,900,
acme,e14,u5,2026-11-04T12:00:00Z,connection,,,60,
acme,e15,u5,2026-11-16T12:00:00Z,connection,,,,
acme,e16,u6,2026-11-17T18:00:00Z,enrolment,T9,,,
acme,e17,u6,2026-11-17T18:05:00Z,start,T9,,240,
acme,e18,u1,2026-11-09T08:00:00Z,enrolment,T2,,,
acme,e19,u1,2026-11-18T08:00:00Z,connection,,,,
acme,e20,u3,2026-11-03T23:59:59Z,connection,,,,
acme,e21,u3,2026-11-12T15:00:00Z,CONNECTION,,,60,
acme,e23,u3,2026-11-11T08:45:00Z,connection,,150,,rejected: score
acme,e23,u3,2026-11-11T08:45:00Z,connection,,,,valid: first valid e23
acme,b1,u1,not-a-date,connection,,,,
acme,b2,u1,2026-11-05T10:00:00Z,login,,,,
acme,b3,u1,2026-11-05T10:00:00Z,enrolment,,,,
acme,b4,u1,2026-11-05T10:00:00Z,completion,T1,101,,
acme,b5,u1,2026-11-05T10:00:00Z,connection,,,-5,
ac me,b6,u1,2026-11-05T10:00:00Z,connection,,,,
globex,g01,u1,2026-11-05T10:00:00Z,connection,,,100,
globex,g02,u1,2026-11-05T10:10:00Z,enrolment,T1,,,
globex,g03,u1,2026-11-06T10:10:00Z,completion,T1,100,500,
"""

USERS = """\
user_id,tenant_id,country,group,email
u1,acme,FR,Sales,a@example.com
u2,acme,DE,Sales,
u3,acme,FR,Ops,
u4,acme,DE,,
u5,acme,FR,Ops,
u7,acme,ES,Marketing,
u1,globex,US,Eng,
"""

TRAININGS = """\
tenant_id,training_id,title,category,format
acme,T1,GDPR essentials,Compliance,e-learning
acme,T2,"Negotiation, advanced",Sales,virtual-class
acme,T3,,Compliance,video
acme,T4,Leadership,Management,video
globex,T1,Globex onboarding,Onboarding,video
"""


def write_export(folder, activity, users=None, trainings=None, gz=False):
    """Write the CSVs of one export into ``folder`` and return its path as str."""
    folder.mkdir(parents=True, exist_ok=True)
    if gz:
        with gzip.open(folder / "activity.csv.gz", "wt", encoding="utf-8") as f:
            f.write(activity)
    else:
        (folder / "activity.csv").write_text(activity, encoding="utf-8")
    if users is not None:
        (folder / "users.csv").write_text(users, encoding="utf-8")
    if trainings is not None:
        (folder / "trainings.csv").write_text(trainings, encoding="utf-8")
    return str(folder)
