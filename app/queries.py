"""Every metric of docs/metrics.md, as pure functions over a ``Snapshot``.

The JSON API and the dashboards both call these; no metric is computed
anywhere else. All of them take the tenant, an inclusive range of the tenant's local days and
a filter mapping (dimension → values; OR within, AND across).

Facts are sorted by tenant, event type and day, so one event type of one
tenant over a range is a slice found by binary search (``select``): no scan
of other tenants, other event types or other days. A distinct count over a
range counts the rows that are the first of their item in it: each facts row
carries the day of its item's previous row (``etl.snapshot_format.PREVIOUS_PAIR``
and ``PREVIOUS_USER``), and a row is the first when that day is before the
range (or before the period, in a time series). That is one comparison per row,
exact, whatever the range's length and the number of learners, and holds under
any filter that keeps or drops an item's rows together. The one case where it
does not (active learners under a training-side filter or breakdown, which
drops some of a learner's rows) sets bits in a presence bitmap, or hashes
combined codes when the bitmap would be large.

The whole months of a range (for ``kpis``, ``breakdown`` and monthly time series) are read from the rollup
frame instead (``etl.rollup``: the facts by month and class of users, about a tenth of their rows at 100M
events), and only the days at the range's ends from the facts (``select``, ``_Block``; docs/architecture.md,
"Whole months from the rollup").

One engine, ``_metrics``, computes the metrics per *key*: none for KPIs, the
period for time series, the dimension value for breakdowns. Which metrics and
dimensions exist, and how each is computed (its kind, the events it reads),
comes from ``app.catalog``. The assignment metrics read the assignments frame
instead (``selected_assignments``: the tenant's rows that pass the filters, sorted
by due day, so those due in a range, or due soon, are a slice) and are counted by
``app.compliance``; ``app.learner_assignments`` counts the same rows per learner.
"""
from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from app import catalog
from app.catalog import (ACTIVITY_METRICS, COMPLIANCE_METRICS, CONNECTION, GRANULARITIES, TRAINING_DIMENSIONS,
                         USER_DIMENSIONS)
from app.compliance import RANGE_FREE, RANGED, Assigned, compliance_values, counted_rows
from app.store import Columns, Snapshot, day_date, day_number
from etl.snapshot_format import (ACTIVE_EVENTS, DUE_SOON_DAYS, EVENT_TYPES, NEXT_PAIR, NEXT_USER, PREVIOUS_PAIR,
                                 PREVIOUS_USER)

METRICS = catalog.METRIC_NAMES
DIMENSIONS = catalog.DIMENSION_NAMES
DEFAULT_LIMIT = 10
MAX_LIMIT = 1000
FEW_VALUES = 8  # a filter of at most this many values compares codes one value at a time (``_allowed``)

Filters = Mapping[str, Sequence[str]]


class QueryError(ValueError):
    """A query that cannot be answered as asked (unknown metric, dimension...)."""


class UnknownTenant(KeyError):
    """The tenant has no data in this snapshot."""


class _Block:
    """The selected rows of one event type: columns (and tenant-local codes) are made on first use.

    Its rows are the facts' (``pieces`` of one piece), or, when whole months of the range are read from the
    rollup frame (``etl.rollup``), the facts of the days before the first whole month, the rollup rows of the whole
    months, and the facts of the days after them, in that order: three pieces, each (frame, rows, filter mask).
    """

    def __init__(self, ts, pieces: list[tuple[Columns, slice, np.ndarray | None]],
                 mark_users: Callable[[np.ndarray], None], months: tuple[int, int] | None = None,
                 exact: Callable[[], _Block] | None = None):
        self._ts = ts
        self.mark_users = mark_users  # sets ``seen[user]`` for the facts' own rows: what distinct users read
        self._pieces = [(frame, part, kept_rows(mask)) for frame, part, mask in pieces]
        self._months = months  # the first day of the first whole month, and of the month after the last
        self._exact = exact  # the block of the facts alone, when some rows are the rollup's

    def _gather(self, name: str, frame: Columns, part: slice, rows: np.ndarray | None) -> np.ndarray:
        values = frame[name][part]
        return values if rows is None else values[rows]

    def column(self, name: str) -> np.ndarray:
        if len(self._pieces) == 1:
            return self._gather(name, *self._pieces[0])
        return np.concatenate([self._gather(name, *piece) for piece in self._pieces])

    @cached_property
    def weights(self) -> np.ndarray | None:
        """How many facts rows each row stands for (None: one each, when no row is the rollup's)."""
        if self._exact is None:
            return None
        left, middle, right = self._pieces
        ones = [np.ones(part.stop - part.start if rows is None else len(rows), dtype=np.int32)
                for _, part, rows in (left, right)]
        return np.concatenate([ones[0], self._gather("rows", *middle), ones[1]])

    def firsts(self, previous: str, floor: int, last: int) -> np.ndarray:
        """Which rows count an item of a distinct count over [floor, last] once (``previous``: the column of the
        items' previous days). In the facts alone, a row whose item's previous row is before ``floor``. With
        whole months from the rollup, an item seen from their first day is counted by its first row from there
        (previous day before that day), and an item seen only in the days before by its last row of the range
        there (next day after ``last``)."""
        if self._months is None:
            return self.column(previous) < floor
        facts, part, rows = self._pieces[0]
        before = self._gather(NEXT_OF[previous], facts, part, rows) > last
        rest = [self._gather(previous, *piece) < self._months[0] for piece in self._pieces[1:]]
        return np.concatenate([before, *rest])

    @cached_property
    def exact(self) -> _Block:
        """These rows as the facts' own (a rollup row's user stands for a class of users): what a distinct count
        of users that cannot use first occurrences reads."""
        return self if self._exact is None else self._exact()

    @cached_property
    def user(self) -> np.ndarray:
        """Tenant-local user codes, as int32 whatever width the snapshot stores (``etl.transform.narrowest``)."""
        return self._local("user", self._ts.users)

    @cached_property
    def training(self) -> np.ndarray:
        return self._local("training", self._ts.trainings)

    def _local(self, name: str, side: slice) -> np.ndarray:
        parts = [local_codes(frame[name][part], side, rows) for frame, part, rows in self._pieces]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    @cached_property
    def day(self) -> np.ndarray:
        return self.column("day")


def kept_rows(mask: np.ndarray | None) -> np.ndarray | None:
    """The positions a filter mask keeps (None: all): a block's columns are gathered by these, several times
    faster than by the mask itself (a boolean gather rescans the whole mask, with a branch per row)."""
    return None if mask is None else np.flatnonzero(mask)


def day_bounds(days: np.ndarray, first: int, last: int) -> tuple[int, int]:
    """Where the days ``first``..``last`` (inclusive) lie in ``days`` (sorted)."""
    lo, hi = first_rows_from(days, np.array([first, last + 1]))
    return int(lo), int(hi)


def first_rows_from(days: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """For each day of ``wanted``, the first row of ``days`` (sorted) on or after it.

    The days are searched in the column's own type: int64 needles would make numpy convert the whole column
    first, a copy of millions of rows per search. A day the type cannot hold is before or after every row.
    """
    limits = np.iinfo(days.dtype)
    wanted = np.asarray(wanted, dtype=np.int64)
    rows = np.searchsorted(days, np.clip(wanted, limits.min, limits.max).astype(days.dtype))
    rows[wanted < limits.min] = 0
    rows[wanted > limits.max] = len(days)
    return rows


def local_codes(codes: np.ndarray, rows: slice, kept: np.ndarray | None = None) -> np.ndarray:
    """Global codes (rows of the users or trainings frame) as the tenant's own, int32 (``kept``: of those rows)."""
    return np.subtract(codes if kept is None else codes[kept], rows.start, dtype=np.int32)


def by_global_code(ok: np.ndarray, side: slice) -> np.ndarray:
    """``ok``, one value per tenant-local code of ``side`` (its rows of the users or trainings frame), indexable by
    the global codes the facts store: a filter then reads the facts' own codes, with no tenant-local copy of them
    (an int32 array as long as the rows; for the largest tenant of 100M events, 88 MB of fresh pages a query). The
    table's part below the tenant is never written nor read, so its zero pages cost nothing."""
    table = np.zeros(side.stop, dtype=ok.dtype)
    table[side.start:] = ok
    return table


def rows_of_users(user: np.ndarray, codes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows whose ``user`` (a code below ``n``) is one of ``codes`` (a page's few learners), and those rows'
    users renumbered by their position in ``codes``: one lookup per row in a table of ``n`` booleans (a byte
    each, so more of it stays in cache than of an int32 table of positions), then a binary search of ``codes``
    for the few rows found (no table of positions as long as the tenant's users to clear)."""
    chosen = np.zeros(n, dtype=bool)
    chosen[codes] = True
    rows = np.flatnonzero(chosen[user])
    by_code = np.argsort(codes)
    return rows, by_code[np.searchsorted(codes, user[rows], sorter=by_code)].astype(np.int32)


class _Selection:
    """A tenant's facts in a range after the filters, as one block per event type."""

    def __init__(self, blocks: dict[int, _Block], users: slice, training_side: bool, first_day: int, last_day: int):
        self.blocks = blocks  # no connection block when connections are excluded
        self.users = users  # the tenant's rows of the users frame: its users' global codes
        self.training_side = training_side
        self.first_day = first_day
        self.last_day = last_day


def tenant_slices(snapshot: Snapshot, tenant: str):
    try:
        return snapshot.tenants[tenant]
    except KeyError:
        raise UnknownTenant(tenant) from None


def _check_filters(filters: Filters) -> None:
    unknown = set(filters) - set(DIMENSIONS)
    if unknown:
        raise QueryError(f"unknown filter {sorted(unknown)[0]!r}; expected one of {', '.join(DIMENSIONS)}")


def _allowed(codes: np.ndarray, values: Sequence[str], lookup: Mapping[str, int]) -> np.ndarray:
    """Which ``codes`` stand for one of ``values``; a code too wide for the column's type matches none.

    A filter usually selects a few values: one vectorised comparison per value
    is many times faster than ``np.isin`` over millions of codes; more values
    than ``FEW_VALUES`` go through ``np.isin``.
    """
    bounds = np.iinfo(codes.dtype)
    wanted = [code for code in (lookup[v] for v in values if v in lookup) if bounds.min <= code <= bounds.max]
    if len(wanted) > FEW_VALUES:
        return np.isin(codes, np.asarray(wanted, dtype=codes.dtype))
    ok = np.zeros(len(codes), dtype=bool)
    for code in wanted:
        ok |= codes == code
    return ok


def user_mask(snapshot: Snapshot, ts, filters: Filters) -> np.ndarray | None:
    """Which of the tenant's users pass the user-side filters (None: no such filter)."""
    mask = None
    for dim in USER_DIMENSIONS:
        if filters.get(dim):
            ok = _allowed(snapshot.users[dim][ts.users], filters[dim], snapshot.codes[dim])
            mask = ok if mask is None else mask & ok
    return mask


def training_mask(snapshot: Snapshot, ts, filters: Filters) -> np.ndarray | None:
    """Which of the tenant's trainings pass the training-side filters (None: no such filter)."""
    mask = None
    for dim in TRAINING_DIMENSIONS:
        if not filters.get(dim):
            continue
        spec = catalog.DIMENSION[dim]
        if spec.coded:
            ok = _allowed(snapshot.trainings[dim][ts.trainings], filters[dim], snapshot.codes[dim])
        else:
            wanted = set(filters[dim])
            ids = snapshot.trainings[spec.key_column][ts.trainings]
            ok = np.fromiter((t in wanted for t in ids), dtype=bool, count=len(ids))
        mask = ok if mask is None else mask & ok
    return mask


def select(snapshot: Snapshot, tenant: str, start: dt.date, end: dt.date, filters: Filters,
           training_side: bool = False, rollup: bool = False) -> _Selection:
    """The tenant's facts in [start, end] that pass the filters, one block per event type.

    ``training_side`` (a training-side filter or breakdown) drops connections,
    which carry no training. ``rollup``: the range's whole months may be read from the rollup frame, where it
    has fewer rows than the facts (``_Block``; not for what needs each row's own user and day, like learner lists).
    """
    _check_filters(filters)
    ts = tenant_slices(snapshot, tenant)
    training_side = training_side or any(filters.get(d) for d in TRAINING_DIMENSIONS)
    users_ok, trainings_ok = user_mask(snapshot, ts, filters), training_mask(snapshot, ts, filters)
    users_ok = None if users_ok is None else by_global_code(users_ok, ts.users)
    trainings_ok = None if trainings_ok is None else by_global_code(trainings_ok, ts.trainings)

    def mask(frame: Columns, part: slice) -> np.ndarray | None:
        """Which rows pass the filters: ``np.take`` looks codes up twice as fast as indexing by them (which
        first copies narrow codes to 64-bit ones)."""
        kept = None if users_ok is None else np.take(users_ok, frame["user"][part])
        if trainings_ok is not None:
            ok = np.take(trainings_ok, frame["training"][part])
            kept = ok if kept is None else np.logical_and(kept, ok, out=kept)
        return kept

    def users_marker(part: slice) -> Callable[[np.ndarray], None]:
        """Sets ``seen[user]`` (global codes) for the facts rows of ``part`` that pass the filters, a chunk at a
        time, so the temporaries stay in the processor's cache (at 100M events, the active learners of two years
        of the largest tenant under a training-side filter: 24 → 16 ms)."""
        def mark(seen: np.ndarray) -> None:
            for a in range(part.start, part.stop, MARK_CHUNK):
                chunk = slice(a, min(a + MARK_CHUNK, part.stop))
                ok = mask(f, chunk)
                seen[f["user"][chunk] if ok is None else np.compress(ok, f["user"][chunk])] = True
        return mark

    def plain(part: slice) -> _Block:
        return _Block(ts, [(f, part, mask(f, part))], users_marker(part))

    f = snapshot.facts
    first, last = day_number(start), day_number(end)
    months = whole_months(first, last) if rollup else None
    events = {event: rows for event, rows in enumerate(ts.events) if not (event == CONNECTION and training_side)}
    # (connections are the only rows without a training, NO_TRAINING: every other event names one)
    bounds = {event: first_rows_from(f["day"][rows], [first, *(months or (first, first)), last + 1]) + rows.start
              for event, rows in events.items()}
    if months is not None and sum(int(hi - lo) for lo, _, _, hi in bounds.values()) < ROLLUP_FROM_ROWS:
        months = None  # a range this small reads its rows faster than it would split them
    blocks = {}
    for event, (lo, mid_lo, mid_hi, hi) in bounds.items():
        part = slice(int(lo), int(hi))
        if months is None:
            blocks[event] = plain(part)
            continue
        # With whole months, every block splits its rows at them, so that each active learner is counted once
        # across event types; their rows come from the rollup where it has fewer (``ROLLUP_GAIN``).
        middle = slice(int(mid_lo), int(mid_hi))
        rolled = ts.rollup[event]
        r_lo, r_hi = first_rows_from(snapshot.rollup["day"][rolled], months) + rolled.start
        from_rollup = r_lo < r_hi and (r_hi - r_lo) * ROLLUP_GAIN <= middle.stop - middle.start
        pieces = [(f, slice(part.start, middle.start)),
                  (snapshot.rollup, slice(int(r_lo), int(r_hi))) if from_rollup else (f, middle),
                  (f, slice(middle.stop, part.stop))]
        blocks[event] = _Block(ts, [(frame, rows, mask(frame, rows)) for frame, rows in pieces], users_marker(part),
                               months, exact=(lambda part=part: plain(part)) if from_rollup else None)
    return _Selection(blocks, ts.users, training_side, first, last)


MARK_CHUNK = 1 << 16  # rows a users' marker reads at a time
ROLLUP_FROM_ROWS = 200_000  # a range of fewer facts rows (every event type) reads them all, whole months or not
ROLLUP_GAIN = 2  # whole months are read from the rollup when it has at most half as many rows as the facts, and
# where the ETL kept it for the tenant's event type (``etl.rollup.KEEP_GAIN``)
NEXT_OF = {PREVIOUS_PAIR: NEXT_PAIR, PREVIOUS_USER: NEXT_USER}


def whole_months(first: int, last: int) -> tuple[int, int] | None:
    """The first day of the first whole month in [first, last] (day numbers), and of the month after the last
    one; None when the range holds no whole month."""
    start = day_date(first)
    month = start if start.day == 1 else (start.replace(day=1) + dt.timedelta(days=31)).replace(day=1)
    after = day_date(last + 1).replace(day=1)
    return (day_number(month), day_number(after)) if month < after else None


DENSE_LIMIT = 1 << 24
ACTIVE_CODES = frozenset(EVENT_TYPES.index(e) for e in ACTIVE_EVENTS)  # the events PREVIOUS_USER follows

KeyFunction = Callable[[_Block], np.ndarray]


def _distinct(parts: list[tuple[np.ndarray, np.ndarray]], n_keys: int, items: slice) -> np.ndarray:
    """Number of distinct items per key (0..n_keys-1) over (key, item) arrays; items are codes in ``items``
    (global user codes).

    A presence bitmap when keys × items is small (no sort, no hash), a hash of
    the combined codes otherwise.
    """
    n_items = items.stop - items.start
    combined = [key.astype(np.int64) * n_items + (item - items.start) for key, item in parts if len(item)]
    if not combined:
        return np.zeros(n_keys, dtype=np.int64)
    if n_keys * n_items <= DENSE_LIMIT:
        bitmap = np.zeros(n_keys * n_items, dtype=bool)
        for codes in combined:
            bitmap[codes] = True
        return np.count_nonzero(bitmap.reshape(n_keys, n_items), axis=1)
    uniques = pd.unique(np.concatenate(combined))
    return np.bincount(uniques // n_items, minlength=n_keys)


def selected_assignments(snapshot: Snapshot, tenant: str, filters: Filters,
                         due_days: tuple[int, int] | None = None) -> Assigned | None:
    """The tenant's assignments that pass the filters (None: the tenant has none at all).

    Rows are sorted by due day, so those due in a range are a slice of them: ``due_days`` (the first and last
    day numbers) takes that slice first, and the filters then read only its rows, not all the tenant's.
    """
    _check_filters(filters)
    ts = tenant_slices(snapshot, tenant)
    if ts.assignments.stop == ts.assignments.start:
        return None
    a = snapshot.assignments
    rows = ts.assignments
    if due_days is not None:
        lo, hi = day_bounds(a["due_day"][rows], *due_days)
        rows = slice(rows.start + lo, rows.start + hi)
    keep = None
    for mask, codes, side in ((user_mask(snapshot, ts, filters), a["user"], ts.users),
                              (training_mask(snapshot, ts, filters), a["training"], ts.trainings)):
        if mask is not None:
            ok = np.take(by_global_code(mask, side), codes[rows])
            keep = ok if keep is None else np.logical_and(keep, ok, out=keep)
    sides, kept = {"user": ts.users, "training": ts.trainings}, kept_rows(keep)

    def column(name: str) -> np.ndarray:
        values = a[name][rows] if kept is None else a[name][rows][kept]
        return local_codes(values, sides[name]) if name in sides else values

    return Assigned(column)


def due_soon_days(snapshot: Snapshot) -> tuple[int, int]:
    """The due days of every assignment due soon, and so of every one at risk (``etl.snapshot_format``): the
    ``DUE_SOON_DAYS`` local days after ``data_as_of``."""
    last = day_number(snapshot.data_as_of)
    return last + 1, last + DUE_SOON_DAYS


def due_in(due_day: np.ndarray, start: dt.date, end: dt.date) -> np.ndarray:
    """Which of ``due_day`` (sorted) fall in [start, end]."""
    lo, hi = day_bounds(due_day, day_number(start), day_number(end))
    rows = np.zeros(len(due_day), dtype=bool)
    rows[lo:hi] = True
    return rows


def _metrics(selection: _Selection, key_of: KeyFunction | None, n_keys: int,
             wanted: Sequence[str] = ACTIVITY_METRICS, floors: np.ndarray | None = None,
             bounds_of: KeyFunction | None = None) -> dict[str, list]:
    """The ``wanted`` metrics for each key 0..n_keys-1; ``key_of`` None means one key (KPIs).

    ``bounds_of`` and ``floors`` (a time series) say that a block's rows come in key order, where each key's
    rows start (n_keys + 1 positions), and the first day each key counts distinct items from (each period's first
    day in the range): sums and first occurrences then read each key's rows as one slice, with no key per row (3
    years by month of the largest 100M tenant's hours: 250 ms with a key per row). Without them, distinct items
    are counted from the range's first day.
    """
    blocks = selection.blocks
    keys: dict[int, np.ndarray | None] = {}
    bounds: dict[int, np.ndarray] = {}

    def key(event: int) -> np.ndarray | None:
        if event not in keys:
            keys[event] = None if key_of is None else key_of(blocks[event])
        return keys[event]

    def edges(event: int) -> np.ndarray | None:
        if bounds_of is None:
            return None
        if event not in bounds:
            bounds[event] = bounds_of(blocks[event])
        return bounds[event]

    def total(event: int, values: np.ndarray) -> np.ndarray:
        if key_of is None:
            return np.array([values.sum()], dtype=np.float64)
        if bounds_of is not None:
            return _slice_sums(values, edges(event))
        return np.bincount(key(event), weights=values, minlength=n_keys)

    def firsts(event: int, previous: str, sel: np.ndarray | None = None) -> np.ndarray:
        """How many rows per key are the first of their item since the key's floor (and pass ``sel``)."""
        block = blocks[event]
        if bounds_of is not None:
            return _slice_firsts(block.column(previous), sel, edges(event), floors, block.weights)
        first = block.firsts(previous, selection.first_day, selection.last_day)
        if sel is not None:
            first &= sel
        weights = block.weights
        if key_of is None:
            return np.array([np.count_nonzero(first) if weights is None else weights[first].sum()], dtype=np.int64)
        return np.bincount(key(event)[first], None if weights is None else weights[first],
                           minlength=n_keys).astype(np.int64)

    def users(event: int) -> tuple[np.ndarray, np.ndarray]:
        """The key and the user (global code) of each row, the facts' own (a rollup row's user stands for a
        class)."""
        block = blocks[event]
        exact = block.exact
        return key(event) if exact is block else key_of(exact), exact.column("user")

    def count(metric: catalog.Metric):
        present = [e for e in metric.event_codes if e in blocks]
        if not present:  # connections under a training-side filter: not tracked, not zero
            return [None] * n_keys
        return _ints(sum(total(e, blocks[e].column("n")) for e in present))

    def distinct(metric: catalog.Metric):
        if metric.per == "user":
            if set(metric.event_codes) == ACTIVE_CODES and not selection.training_side:
                return _ints(sum(firsts(e, PREVIOUS_USER) for e in metric.event_codes))
            present = [e for e in metric.event_codes if e in blocks]
            if key_of is None:  # one bitmap indexed by the codes as stored: its pages below the tenant's are
                seen = np.zeros(selection.users.stop, dtype=bool)  # never touched
                for e in present:
                    blocks[e].mark_users(seen)
                return [int(np.count_nonzero(seen[selection.users.start:]))]
            return _ints(_distinct([users(e) for e in present], n_keys, selection.users))
        (event,) = metric.event_codes
        return _ints(firsts(event, PREVIOUS_PAIR))

    def rate(metric: catalog.Metric):
        (event,) = metric.event_codes
        enrolled = firsts(event, PREVIOUS_PAIR)
        done = firsts(event, PREVIOUS_PAIR, blocks[event].column(metric.column))  # e.g. completed anywhere
        with np.errstate(invalid="ignore", divide="ignore"):
            return _floats(np.where(enrolled > 0, done / np.maximum(enrolled, 1), np.nan))

    def average(metric: catalog.Metric):
        (event,) = metric.event_codes
        counted = total(event, blocks[event].column(f"{metric.column}_n"))
        summed = total(event, blocks[event].column(f"{metric.column}_sum"))
        return _floats(np.where(counted > 0, summed / np.maximum(counted, 1), np.nan))

    def hours(metric: catalog.Metric):
        return _floats(sum(total(e, blocks[e].column("duration")) for e in metric.event_codes if e in blocks)
                       / 3600.0)

    compute = {catalog.COUNT: count, catalog.DISTINCT: distinct, catalog.RATE: rate, catalog.AVERAGE: average,
               catalog.HOURS: hours}
    return {name: compute[catalog.METRIC[name].kind](catalog.METRIC[name]) for name in wanted}


def _slice_sums(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The sum of ``values`` between each pair of ``edges`` (float64, as ``np.bincount``'s), integers in int64."""
    out = np.zeros(len(edges) - 1, dtype=np.float64)
    rows = np.flatnonzero(edges[:-1] < edges[1:])  # a slice of no row has no start reduceat could read
    if len(rows):
        out[rows] = np.add.reduceat(values, edges[rows], dtype=np.float64 if values.dtype.kind == "f" else np.int64)
    return out


def _slice_firsts(before: np.ndarray, sel: np.ndarray | None, edges: np.ndarray, floors: np.ndarray,
                  weights: np.ndarray | None = None) -> np.ndarray:
    """Per slice k (rows ``edges[k]`` to ``edges[k + 1]``), the rows whose previous day is before ``floors[k]``
    (and that pass ``sel``), each counted as ``weights`` says (default one): one comparison per row, each slice
    against its own floor."""
    out = np.zeros(len(edges) - 1, dtype=np.int64)
    for k in np.flatnonzero(edges[:-1] < edges[1:]).tolist():
        a, b = edges[k], edges[k + 1]
        first = before[a:b] < int(floors[k])
        if sel is not None:
            first &= sel[a:b]
        out[k] = np.count_nonzero(first) if weights is None else weights[a:b][first].sum()
    return out


def _ints(values: np.ndarray) -> list:
    return [int(v) for v in values]


def _floats(values: np.ndarray) -> list:
    return [None if np.isnan(v) else float(v) for v in values]


def check_range(start: dt.date, end: dt.date) -> None:
    if start > end:
        raise QueryError(f"from ({start}) is after to ({end})")


def kpis(snapshot: Snapshot, tenant: str, start: dt.date, end: dt.date, filters: Filters) -> dict:
    """Every metric over the range: ``{metric: value}`` (value may be None)."""
    check_range(start, end)
    values = _metrics(select(snapshot, tenant, start, end, filters, rollup=True), None, 1)
    in_range = selected_assignments(snapshot, tenant, filters, (day_number(start), day_number(end)))
    if in_range is None:
        values.update({m: [None] for m in COMPLIANCE_METRICS})
    else:  # each metric reads only the rows it counts: those due in the range, or (RANGE_FREE) due soon
        due_soon = selected_assignments(snapshot, tenant, filters, due_soon_days(snapshot))
        values.update(compliance_values(in_range, None, 1, None, 0, RANGED))
        values.update(compliance_values(due_soon, None, 1, None, 0, RANGE_FREE))
    return {m: values[m][0] for m in METRICS}


def previous_range(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The range of the same number of days that ends the day before ``start``."""
    length = (end - start).days + 1
    return start - dt.timedelta(days=length), start - dt.timedelta(days=1)


def _period_starts(days: np.ndarray, granularity: str) -> np.ndarray:
    """The day number of the period (day, ISO week, month) each day falls in."""
    days = days.astype(np.int64)
    if granularity == "day":
        return days
    if granularity == "week":
        return days - (days + 3) % 7  # 1970-01-01 was a Thursday
    if granularity == "month":
        return days.astype("datetime64[D]").astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    raise QueryError(f"unknown granularity {granularity!r}; expected one of {', '.join(GRANULARITIES)}")


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise QueryError(f"unknown metric {metric!r}; expected one of {', '.join(METRICS)}")


def timeseries(snapshot: Snapshot, tenant: str, start: dt.date, end: dt.date, filters: Filters,
               metric: str, granularity: str) -> pd.DataFrame:
    """One row per period intersecting the range: ``period`` (its first day) and ``value``."""
    _check_metric(metric)
    check_range(start, end)
    first = day_number(start)
    period_of_day = _period_starts(np.arange(first, day_number(end) + 1), granularity)
    periods, index_of_day = np.unique(period_of_day, return_inverse=True)
    if catalog.METRIC[metric].compliance:  # by due day: every metric, due_soon included, within the range
        assigned = selected_assignments(snapshot, tenant, filters)
        if assigned is None:
            values = [None] * len(periods)
        else:
            due = due_in(assigned.due_day, start, end)
            values = compliance_values(assigned.take(due), index_of_day[assigned.due_day[due] - first], len(periods),
                                       None, _n_users(snapshot, tenant), (metric,))[metric]
    else:
        selection = select(snapshot, tenant, start, end, filters, rollup=granularity == "month")
        floors = np.maximum(periods, first)  # each period's first day in the range
        values = _metrics(selection, lambda b: index_of_day[b.day - first], len(periods), (metric,), floors=floors,
                          bounds_of=lambda b: np.append(first_rows_from(b.day, floors), len(b.day)))[metric]
    return pd.DataFrame({"period": [day_date(p) for p in periods], "value": pd.Series(values, dtype=object)})


def _n_users(snapshot: Snapshot, tenant: str) -> int:
    ts = tenant_slices(snapshot, tenant)
    return ts.users.stop - ts.users.start


def _dimension(snapshot: Snapshot, ts, by: str) -> tuple[KeyFunction, list[str], list[str]]:
    """How to find each row's code for ``by``, and the keys and labels of the codes."""
    spec = catalog.DIMENSION.get(by)
    if spec is None:
        raise QueryError(f"unknown dimension {by!r}; expected one of {', '.join(DIMENSIONS)}")
    if spec.side == catalog.USER:
        per_user = snapshot.users[by][ts.users]
        values = snapshot.dictionaries[by]
        return (lambda b: np.take(per_user, b.user)), values, values
    if not spec.coded:
        ids = list(snapshot.trainings[spec.key_column][ts.trainings])
        return (lambda b: b.training), ids, list(snapshot.trainings[spec.label_column][ts.trainings])
    per_training = snapshot.trainings[by][ts.trainings]
    values = snapshot.dictionaries[by]
    return (lambda b: np.take(per_training, b.training)), values, values


def breakdown(snapshot: Snapshot, tenant: str, start: dt.date, end: dt.date, filters: Filters,
              metric: str, by: str, limit: int = DEFAULT_LIMIT) -> pd.DataFrame:
    """One row per value of ``by`` with matching events: ``key``, ``label``, ``value``.

    Sorted by value (descending, None last), then key. Breaking down by a
    training-side dimension leaves connections out, as filtering by it would.
    """
    _check_metric(metric)
    check_range(start, end)
    if by not in DIMENSIONS:
        raise QueryError(f"unknown dimension {by!r}; expected one of {', '.join(DIMENSIONS)}")
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be between 1 and {MAX_LIMIT}")
    ts = tenant_slices(snapshot, tenant)
    key_of, keys, labels = _dimension(snapshot, ts, by)
    seen = np.zeros(len(keys), dtype=bool)
    if catalog.METRIC[metric].compliance:
        assigned = selected_assignments(snapshot, tenant, filters)
        if assigned is not None:
            due, codes = due_in(assigned.due_day, start, end), key_of(assigned)
            seen[codes[counted_rows(assigned, metric, due)]] = True
    else:
        selection = select(snapshot, tenant, start, end, filters, training_side=by in TRAINING_DIMENSIONS,
                           rollup=True)
        key_of_block = {id(block): key_of(block) for block in selection.blocks.values()}  # each gathered once
        for codes in key_of_block.values():
            seen[codes] = True
    present = np.flatnonzero(seen).tolist()
    if not present:
        return pd.DataFrame({"key": [], "label": [], "value": pd.Series([], dtype=object)})
    if catalog.METRIC[metric].compliance:
        values = compliance_values(assigned, codes, len(keys), due, _n_users(snapshot, tenant), (metric,))[metric]
    else:
        values = _metrics(selection, lambda b: key_of_block[id(b)] if id(b) in key_of_block else key_of(b),
                          len(keys), (metric,))[metric]
    found = [values[c] for c in present]
    # Equal averages summed in a different order can differ in the last bit (74.4 vs 74.39999999999999):
    # rounded, they tie and sort by key, as metrics.md says. A plain sort: a few hundred rows at most.
    rounded = -np.round(np.array([0.0 if v is None else float(v) for v in found]), 9)
    order = sorted(range(len(present)), key=lambda i: (found[i] is None, rounded[i], keys[present[i]]))[:limit]
    return pd.DataFrame({
        "key": [keys[present[i]] for i in order],
        "label": [labels[present[i]] for i in order],
        "value": pd.Series([found[i] for i in order], dtype=object),
    })


def heatmap(snapshot: Snapshot, tenant: str, start: dt.date, end: dt.date, filters: Filters) -> pd.DataFrame:
    """Connections by local weekday (Monday = 0) and hour: 168 rows, ``value`` None under a training filter."""
    _check_filters(filters)
    check_range(start, end)
    ts = tenant_slices(snapshot, tenant)
    h = snapshot.hourly
    days = h["day"][ts.hourly]
    lo, hi = day_bounds(days, day_number(start), day_number(end))
    part = slice(ts.hourly.start + lo, ts.hourly.start + hi)
    keep = np.ones(hi - lo, dtype=bool)
    for dim in USER_DIMENSIONS:
        if filters.get(dim):
            keep &= _allowed(h[dim][part], filters[dim], snapshot.codes[dim])
    weekday = (days[lo:hi][keep].astype(np.int64) + 3) % 7
    cell = weekday * 24 + h["hour"][part][keep]
    counts = np.bincount(cell, weights=h["n"][part][keep], minlength=168)
    training_side = any(filters.get(d) for d in TRAINING_DIMENSIONS)
    return pd.DataFrame({
        "weekday": np.repeat(np.arange(7), 24),
        "hour": np.tile(np.arange(24), 7),
        "value": pd.Series([None] * 168 if training_side else [int(v) for v in counts], dtype=object),
    })


def filter_values(snapshot: Snapshot, tenant: str) -> dict[str, list[dict]]:
    """For each filter, the values it can take for this tenant: ``[{"key", "label"}]`` sorted by key."""
    ts = tenant_slices(snapshot, tenant)
    out = {}
    for spec in catalog.DIMENSIONS:
        frame, rows = (snapshot.users, ts.users) if spec.side == catalog.USER else (snapshot.trainings, ts.trainings)
        if spec.coded:
            names = snapshot.dictionaries[spec.name]
            out[spec.name] = [{"key": names[c], "label": names[c]}
                              for c in sorted(set(frame[spec.name][rows].tolist()), key=lambda c: names[c])]
        else:
            keys, labels = frame[spec.key_column][rows].tolist(), frame[spec.label_column][rows].tolist()
            out[spec.name] = [{"key": k, "label": t} for k, t in sorted(zip(keys, labels))]
    return out


def tenant_ids(snapshot: Snapshot) -> list[str]:
    return sorted(snapshot.tenants)


def default_range(snapshot: Snapshot, days: int = 30) -> tuple[dt.date, dt.date]:
    """The ``days`` days ending at the snapshot's ``data_as_of``."""
    end = snapshot.data_as_of
    return end - dt.timedelta(days=days - 1), end
