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

from functools import cached_property
from typing import Callable, Sequence

import numpy as np

from app import catalog
from etl.arrays import distinct
from etl.snapshot_format import DUE_SOON, LATE, ON_TIME, OVERDUE

RANGE_FREE = tuple(m.name for m in catalog.METRICS if not m.ranged)  # in a time series still bucketed by due day
RANGED = tuple(m for m in catalog.COMPLIANCE_METRICS if m not in RANGE_FREE)


class Assigned:
    """A tenant's assignments after the filters: tenant-local user and training codes, what each is, and its
    due day. Each column is gathered on first use: the KPIs read only ``status`` of the rows due in the range,
    which may be a million rows in a big tenant."""

    def __init__(self, column: Callable[[str], np.ndarray]):
        self._column = column  # a column's name -> the selected rows' values

    @cached_property
    def user(self) -> np.ndarray:
        return self._column("user")

    @cached_property
    def training(self) -> np.ndarray:
        return self._column("training")

    @cached_property
    def status(self) -> np.ndarray:
        return self._column("status")

    @cached_property
    def at_risk(self) -> np.ndarray:
        return self._column("at_risk")

    @cached_property
    def due_day(self) -> np.ndarray:
        return self._column("due_day")

    def take(self, rows: np.ndarray | slice) -> "Assigned":
        return Assigned(lambda name: getattr(self, name)[rows])


def counted_rows(assigned: Assigned, metric: str, due_in_range: np.ndarray) -> np.ndarray:
    """The rows ``metric`` looks at: those due in the range, or (``RANGE_FREE``) those due soon."""
    return assigned.status == DUE_SOON if metric in RANGE_FREE else due_in_range


def compliance_values(assigned: Assigned, key: np.ndarray | None, n_keys: int, due_in_range: np.ndarray | None,
                      n_users: int, wanted: Sequence[str]) -> dict[str, list]:
    """The ``wanted`` assignment metrics for each key 0..n_keys-1 (``key`` None: one key, the KPIs);
    ``due_in_range`` None: every row is due in the range."""
    def count(rows: np.ndarray | None) -> np.ndarray:
        if key is None:
            return np.array([len(assigned.status) if rows is None else np.count_nonzero(rows)], dtype=np.int64)
        return np.bincount(key if rows is None else key[rows], minlength=n_keys)

    def status(code: int) -> np.ndarray:
        return count(assigned.status == code if due_in_range is None else due_in_range & (assigned.status == code))

    def on_time_rate() -> list:
        on_time, settled = status(ON_TIME), status(ON_TIME) + status(LATE) + status(OVERDUE)
        return [None if d == 0 else float(o / d) for o, d in zip(on_time, settled)]

    def at_risk_learners() -> np.ndarray:
        users = assigned.user[assigned.at_risk].astype(np.int64)
        if key is None:  # a count per user code: no sort, no hash (tens of thousands of rows in a big tenant)
            return np.array([np.count_nonzero(np.bincount(users))], dtype=np.int64)
        pairs = distinct(key[assigned.at_risk].astype(np.int64) * max(n_users, 1) + users)
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
