"""Each learner's assignments (docs/metrics.md v2): the learner columns ``assigned`` and ``overdue``, the cohorts
that assignments decide, and the assignment fields of one learner's trainings.

The ETL has decided what each assignment is at ``now`` (``status``, ``at_risk``:
the assignments frame, ``etl.snapshot_format``), and ``app.queries`` selects a
tenant's rows that pass the filters (``selected_assignments``), as for the
compliance metrics: so a cohort here lists exactly the learners the metric
counts (``at_risk`` totals ``at_risk_learners``). ``app.learners`` asks this
module through small hooks; the arrays are per local user code, like its own.

``due_soon`` and ``due`` are this project's additions (docs/api.md): the lists
behind the overview's due-soon and on-time-rate cards.
"""
from __future__ import annotations

import datetime as dt
from functools import cached_property
from zoneinfo import ZoneInfo

import numpy as np

from app.queries import (Filters, QueryError, due_soon_days, local_codes, rows_of_users, selected_assignments,
                         tenant_slices, training_mask)
from app.store import Snapshot, day_date, day_number
from etl.snapshot_format import DUE_SOON, LATE, NO_DAY, ON_TIME, OVERDUE

COLUMNS = ("assigned", "overdue")
COHORTS = ("overdue", "at_risk", "due_soon", "due")
ALL_DUE_DATES = ("overdue", "at_risk", "due_soon")  # whatever the range: only ``due`` reads its due dates
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


class NoAssignments(QueryError):
    """A cohort that needs assignments, asked of a tenant that has none (its compliance metrics are null)."""


def refuse(cohort: str, tenant: str) -> NoAssignments:
    return NoAssignments(f"cohort {cohort!r} needs assignments, and tenant {tenant!r} has none (its assignment "
                         "metrics are null)")


class LearnerAssignments:
    """One tenant's assignments after the filters, per local user code; read on first use only, so a list
    that neither shows nor sorts by them, nor lists by them, never reads them."""

    def __init__(self, snapshot: Snapshot, tenant: str, start: dt.date, end: dt.date, filters: Filters, n: int):
        self.snapshot, self.tenant, self.start, self.end, self.filters, self.n = \
            snapshot, tenant, start, end, filters, n

    @cached_property
    def _selected(self):
        return selected_assignments(self.snapshot, self.tenant, self.filters)

    @cached_property
    def _counts(self) -> dict[str, np.ndarray]:
        """Every user's counts (a list sorted by them)."""
        assigned = self._selected
        return {"assigned": np.bincount(assigned.user, minlength=self.n),
                "overdue": np.bincount(assigned.user[assigned.status == OVERDUE], minlength=self.n)}

    def column(self, name: str, codes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """A column's values for every user (or ``codes``), and which are empty: all of them for a tenant
        without assignments (null), none otherwise (a learner without any has 0)."""
        n = self.n if codes is None else len(codes)
        if not has_assignments(self.snapshot, self.tenant):
            return np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool)
        if codes is None:
            return self._counts[name].astype(np.int64), None
        return self._counts_of(name, codes), None

    def _counts_of(self, name: str, codes: np.ndarray) -> np.ndarray:
        """The counts of a page's (or a download block's) learners: their rows found among the tenant's assignments
        (global user codes, so no copy of the column is made), then the training-side filters on those rows
        alone. A list holds learners who pass the user-side filters, so those need no check here."""
        ts, frame = tenant_slices(self.snapshot, self.tenant), self.snapshot.assignments
        rows, user = rows_of_users(frame["user"][ts.assignments], ts.users.start + codes, ts.users.stop)
        rows += ts.assignments.start
        trainings_ok = training_mask(self.snapshot, ts, self.filters)
        if trainings_ok is not None:
            ok = trainings_ok[local_codes(frame["training"][rows], ts.trainings)]
            rows, user = rows[ok], user[ok]
        if name == "overdue":
            user = user[frame["status"][rows] == OVERDUE]
        return np.bincount(user, minlength=len(codes)).astype(np.int64)

    def listed(self, cohort: str) -> np.ndarray:
        """Which users the cohort lists (``NoAssignments`` for a tenant without assignments); all but ``overdue``
        read only the slice of rows due in the range or due soon."""
        due_days = {"due": (day_number(self.start), day_number(self.end)),
                    "due_soon": due_soon_days(self.snapshot), "at_risk": due_soon_days(self.snapshot)}.get(cohort)
        assigned = self._selected if due_days is None else \
            selected_assignments(self.snapshot, self.tenant, self.filters, due_days)
        if assigned is None:
            raise refuse(cohort, self.tenant)
        rows = {"overdue": lambda: assigned.status == OVERDUE, "at_risk": lambda: assigned.at_risk,
                "due_soon": lambda: assigned.status == DUE_SOON, "due": lambda: slice(None)}[cohort]()
        out = np.zeros(self.n, dtype=bool)
        out[assigned.user[rows]] = True
        return out


def has_assignments(snapshot: Snapshot, tenant: str) -> bool:
    ts = tenant_slices(snapshot, tenant)
    return ts.assignments.stop > ts.assignments.start


def check_cohort(snapshot: Snapshot, tenant: str, cohort: str) -> None:
    """Refuse (``NoAssignments``) a cohort that needs assignments of a tenant without any, before a list starts."""
    if cohort in COHORTS and not has_assignments(snapshot, tenant):
        raise refuse(cohort, tenant)


def trainings_of(snapshot: Snapshot, ts, code: int, trainings_ok: np.ndarray | None) -> dict[int, dict]:
    """One learner's (local ``code``) assignments of the trainings ``trainings_ok`` lets through, by local training
    code: ``assigned_on``, ``due_on`` (local dates), ``on_time`` and ``overdue`` (docs/metrics.md, One learner's
    trainings)."""
    frame, rows = snapshot.assignments, ts.assignments
    mine = rows.start + np.flatnonzero(frame["user"][rows] == ts.users.start + code)
    trainings = local_codes(frame["training"][mine], ts.trainings)
    if trainings_ok is not None:
        mine, trainings = mine[trainings_ok[trainings]], trainings[trainings_ok[trainings]]
    zone = ZoneInfo(ts.timezone)
    out = {}
    for training, row in zip(trainings.tolist(), mine.tolist()):
        status, due_day = int(frame["status"][row]), int(frame["due_day"][row])
        out[training] = {
            "assigned_on": (EPOCH + dt.timedelta(microseconds=int(frame["assigned_at"][row]))).astimezone(zone).date(),
            "due_on": None if due_day == NO_DAY else day_date(due_day),
            "on_time": True if status == ON_TIME else False if status == LATE else None,
            "overdue": status == OVERDUE}
    return out
