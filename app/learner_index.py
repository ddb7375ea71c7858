"""Each learner's last day of each event type over a whole snapshot, per tenant: the learner index (issue 15).

A learner list needs, for every user of the tenant, whom the cohort lists and
the last activity (``app.learners``): made from the range's rows, that is a
pass over millions of rows per page for a tenant of millions of learners. But
most lists (the dashboards' default, most API calls) ask for a range that
reaches the tenant's last day of data, without a training-side filter. Then a
user's last day of an event type in the range is their last day of it over the
whole snapshot, if that is not before the range's start, else none: one
comparison per user, whatever the range's rows. A user-side filter is a mask of
users (``queries.user_mask``). Any other range or filter reads the rows.

The index also holds each event type's rows grouped by user, so a page's own
columns read its learners' rows alone (``RangeDays.rows_of``), not a pass over
the range's rows to find them.

The index is made on the first list of a tenant in a process (per event type,
one pass of maxima into an int32 array as long as the tenant's users and one
stable sort of the rows' users: about 40 bytes a learner and 4 a row, 1.3 s
and 120 MB for 2M learners and 10M rows), and kept with the snapshot object it
was made from (weakly: a hot swap, or an erasure, which publishes a new
snapshot, leaves it behind with the old object). At most ``INDEX_BUDGET``
bytes of it per snapshot: the least recently listed tenants are dropped first.
"""
from __future__ import annotations

import datetime as dt
import functools
import threading
import weakref
from collections import OrderedDict

import numpy as np

from app.catalog import TRAINING_DIMENSIONS
from app.queries import Filters, local_codes, tenant_slices, user_mask
from app.store import Snapshot, day_number

INDEX_BUDGET = 256 << 20  # bytes per snapshot and process: about a 20M-event snapshot's every tenant

_indexes: weakref.WeakKeyDictionary[Snapshot, OrderedDict[str, _Index]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


class _Index:
    """One tenant's last days over the snapshot: per set of event types, each user's last day of any of them (-1:
    none). The single types are made at once, a set a list asks for (the cohort ``active``, the last activity)
    on first use, from them. And per event type, its rows grouped by user: ``by_user[offsets[u]:offsets[u + 1]]``
    are user ``u``'s (positions in the tenant's rows of that type, in day order)."""

    def __init__(self, singles: list[np.ndarray], rows: list[tuple[slice, np.ndarray, np.ndarray]]):
        self._days = {frozenset([event]): days for event, days in enumerate(singles)}
        self.rows = rows  # per event type: (the tenant's rows of it, by_user, offsets)

    def of(self, events: frozenset[int]) -> np.ndarray:
        days = self._days.get(events)
        if days is None:
            days = self._days[events] = functools.reduce(np.maximum, (self._days[frozenset([e])] for e in events))
        return days

    @property
    def nbytes(self) -> int:
        return (sum(days.nbytes for days in self._days.values())
                + sum(by_user.nbytes + offsets.nbytes for _, by_user, offsets in self.rows))


class RangeDays:
    """What the index says of a range that reaches the tenant's last day, under user-side filters."""

    def __init__(self, index: _Index, days: np.ndarray, first_day: int, users_ok: np.ndarray | None):
        self._index, self._days, self._first_day, self._users_ok = index, days, first_day, users_ok

    def present(self, events) -> np.ndarray:
        """Which users have an event of these types in the range (and pass the filters)."""
        return self._present(self._index.of(frozenset(events)))

    def last_day(self, events) -> np.ndarray:
        """Each user's last day of an event of these types in the range, -1 for none (or a user filtered out)."""
        whole = self._index.of(frozenset(events))
        return np.where(self._present(whole), whole, np.int32(-1))

    def rows_of(self, event: int, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The facts rows of the event type in the range whose user is one of ``codes`` (a page's, which pass
        the filters), each user's in day order, and their users renumbered by their position in ``codes``: read
        from the rows grouped by user, with no pass over the range's rows."""
        part, by_user, offsets = self._index.rows[event]
        starts, counts = offsets[codes], offsets[codes + 1] - offsets[codes]
        within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        rows = part.start + by_user[np.repeat(starts, counts) + within]
        user = np.repeat(np.arange(len(codes), dtype=np.int32), counts)
        kept = self._days[rows] >= self._first_day
        return rows[kept], user[kept]

    def _present(self, whole: np.ndarray) -> np.ndarray:
        present = whole >= self._first_day
        if self._users_ok is not None:
            present &= self._users_ok
        return present


def range_days(snapshot: Snapshot, tenant: str, start: dt.date, end: dt.date, filters: Filters) -> RangeDays | None:
    """The index's answer for a list over [start, end], or None when it has none: a training-side filter (it
    drops some of a user's rows), or a range that ends before the tenant's last day of an event type."""
    if any(filters.get(d) for d in TRAINING_DIMENSIONS):
        return None
    ts = tenant_slices(snapshot, tenant)
    days = snapshot.facts["day"]
    if any(day_number(end) < days[part.stop - 1] for part in ts.events if part.stop > part.start):
        return None
    return RangeDays(_index(snapshot, tenant), days, day_number(start), user_mask(snapshot, ts, filters))


def _index(snapshot: Snapshot, tenant: str) -> _Index:
    with _lock:
        tenants = _indexes.setdefault(snapshot, OrderedDict())
        if tenant in tenants:
            tenants.move_to_end(tenant)
            return tenants[tenant]
    index = _made(snapshot, tenant)  # outside the lock: another tenant's list need not wait (a race makes it twice)
    with _lock:
        tenants[tenant] = index
        while len(tenants) > 1 and sum(i.nbytes for i in tenants.values()) > INDEX_BUDGET:
            tenants.popitem(last=False)
    return index


def _made(snapshot: Snapshot, tenant: str) -> _Index:
    """Per event type, each of the tenant's users' last day over the snapshot (-1 for none), and its rows grouped
    by user (a stable sort keeps each user's in day order)."""
    ts = tenant_slices(snapshot, tenant)
    facts, n = snapshot.facts, ts.users.stop - ts.users.start
    singles, rows = [], []
    for part in ts.events:
        user = local_codes(facts["user"][part], ts.users)
        last = np.full(n, -1, dtype=np.int32)
        np.maximum.at(last, user, facts["day"][part].astype(np.int32))
        singles.append(last)
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(np.bincount(user, minlength=n), out=offsets[1:])
        rows.append((part, np.argsort(user, kind="stable").astype(np.int32), offsets))
    return _Index(singles, rows)
