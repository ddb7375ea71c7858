"""The assignment metrics of docs/metrics.md (Assignment metrics) over one tenant's selected assignments.

The ETL has already decided what each assignment is at ``now``, the end of
``data_as_of`` on the tenant's calendar (``status`` and ``at_risk`` in the
assignments frame, ``etl.snapshot_format``), so a query only counts:
``app.queries`` selects the tenant's rows that pass the filters and says which
are due in the range, and this module counts them per key (none for KPIs, the
period for time series, the dimension value for breakdowns), as ``_metrics``
does for the events.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from app import catalog
from etl.snapshot_format import DUE_SOON, LATE, ON_TIME, OVERDUE

RANGE_FREE = tuple(m.name for m in catalog.METRICS if not m.ranged)  # in a time series still bucketed by due day


@dataclass
class Assigned:
    """A tenant's assignments after the filters: tenant-local user and training codes, and what each is."""

    user: np.ndarray
    training: np.ndarray
    status: np.ndarray
    at_risk: np.ndarray

    def take(self, rows: np.ndarray | slice) -> "Assigned":
        return Assigned(self.user[rows], self.training[rows], self.status[rows], self.at_risk[rows])


def counted_rows(assigned: Assigned, metric: str, due_in_range: np.ndarray) -> np.ndarray:
    """The rows ``metric`` looks at: those due in the range, or (``RANGE_FREE``) those due soon."""
    return assigned.status == DUE_SOON if metric in RANGE_FREE else due_in_range


def compliance_values(assigned: Assigned, key: np.ndarray | None, n_keys: int, due_in_range: np.ndarray,
                      n_users: int, wanted: Sequence[str]) -> dict[str, list]:
    """The ``wanted`` assignment metrics for each key 0..n_keys-1 (``key`` None: one key, the KPIs)."""
    def count(rows: np.ndarray) -> np.ndarray:
        if key is None:
            return np.array([np.count_nonzero(rows)], dtype=np.int64)
        return np.bincount(key[rows], minlength=n_keys)

    def status(code: int) -> np.ndarray:
        return count(due_in_range & (assigned.status == code))

    def on_time_rate() -> list:
        on_time, settled = status(ON_TIME), status(ON_TIME) + status(LATE) + status(OVERDUE)
        return [None if d == 0 else float(o / d) for o, d in zip(on_time, settled)]

    def at_risk_learners() -> np.ndarray:
        users = assigned.user[assigned.at_risk].astype(np.int64)
        if key is None:
            return np.array([len(np.unique(users))], dtype=np.int64)
        pairs = np.unique(key[assigned.at_risk].astype(np.int64) * max(n_users, 1) + users)
        return np.bincount(pairs // max(n_users, 1), minlength=n_keys)

    compute = {
        "assignments_due": lambda: count(due_in_range),
        "completed_on_time": lambda: status(ON_TIME),
        "completed_late": lambda: status(LATE),
        "overdue": lambda: status(OVERDUE),
        "on_time_rate": on_time_rate,
        "due_soon": lambda: count(assigned.status == DUE_SOON),
        "at_risk_learners": at_risk_learners,
    }
    out = {}
    for name in wanted:
        values = compute[name]()
        out[name] = values if isinstance(values, list) else [int(v) for v in values]
    return out
