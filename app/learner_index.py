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

The index is made on the first list of a tenant in a process (one pass of
maxima per event type, an int32 array as long as the tenant's users, 16 bytes
a learner), and kept with the snapshot object it was made from (weakly: a hot
swap, or an erasure, which publishes a new snapshot, leaves it behind with the
old object). At most ``INDEX_BUDGET`` bytes of it per snapshot: the least
recently listed tenants are dropped first.
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

INDEX_BUDGET = 256 << 20  # bytes per snapshot and process: 16 bytes a learner, about 16M learners' worth

_indexes: weakref.WeakKeyDictionary[Snapshot, OrderedDict[str, _Index]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


class _Index:
    """One tenant's last days over the snapshot: per set of event types, each user's last day of any of them (-1:
    none). The single types are made at once, a set a list asks for (the cohort ``active``, the last activity)
    on first use, from them."""

    def __init__(self, singles: list[np.ndarray]):
        self._days = {frozenset([event]): days for event, days in enumerate(singles)}

    def of(self, events: frozenset[int]) -> np.ndarray:
        days = self._days.get(events)
        if days is None:
            days = self._days[events] = functools.reduce(np.maximum, (self._days[frozenset([e])] for e in events))
        return days

    @property
    def nbytes(self) -> int:
        return sum(days.nbytes for days in self._days.values())


class RangeDays:
    """What the index says of a range that reaches the tenant's last day, under user-side filters."""

    def __init__(self, index: _Index, first_day: int, users_ok: np.ndarray | None):
        self._index, self._first_day, self._users_ok = index, first_day, users_ok

    def present(self, events) -> np.ndarray:
        """Which users have an event of these types in the range (and pass the filters)."""
        return self._present(self._index.of(frozenset(events)))

    def last_day(self, events) -> np.ndarray:
        """Each user's last day of an event of these types in the range, -1 for none (or a user filtered out)."""
        whole = self._index.of(frozenset(events))
        return np.where(self._present(whole), whole, np.int32(-1))

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
    return RangeDays(_index(snapshot, tenant), day_number(start), user_mask(snapshot, ts, filters))


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
    """Per event type, each of the tenant's users' last day over the snapshot, -1 for none."""
    ts = tenant_slices(snapshot, tenant)
    facts, n = snapshot.facts, ts.users.stop - ts.users.start
    out = []
    for part in ts.events:
        last = np.full(n, -1, dtype=np.int32)
        np.maximum.at(last, local_codes(facts["user"][part], ts.users), facts["day"][part].astype(np.int32))
        out.append(last)
    return _Index(out)
