"""The facts rolled up by month, which long ranges read instead of the facts' rows (``app.queries``).

A query over a year of the largest tenant of 100M events reads about 14M facts rows; under a filter it gathers
each column at the rows it keeps, and takes 80 ms or more. Every whole month inside a range is now read from this
frame instead, and only the days at the range's ends from the facts.

One rollup row stands for the facts rows of one month of one (tenant, event type) that share a user *class*
(the users of the tenant with the same value of every user dimension), a training, ``completed``, and the months
of the item's previous rows (``PREVIOUS_PAIR``, and ``PREVIOUS_USER`` for ``ACTIVE_EVENTS``). Its columns are the
facts' own (``app.queries`` reads both frames through one code path):

* ``day``: the month's first local day;
* ``user``: the first user of the class (global code), so user-side filters and breakdowns read its dimensions;
* ``training``, ``event``, ``completed``: those of its rows;
* ``n``, ``duration``, ``score_sum``, ``score_n``: sums over its rows;
* ``previous_pair``, ``previous_user``: the first day of the month of the rows' previous day (``NO_PREVIOUS``
  when none), so against a floor that is a month's first day, ``previous < floor`` holds for all of the rows or
  for none of them (``previous_user`` is ``NO_PREVIOUS`` for events no metric counts learners from);
* ``rows``: how many facts rows it stands for, which a distinct count adds up instead of counting rows.

What a distinct count needs at the range's first end, which is rarely a month's first day, comes from the facts'
next-occurrence columns (``NEXT_PAIR``, ``NEXT_USER``): see ``app.queries``. Rows are sorted by tenant, event type
and month, as the facts are; the tenants frame says where each tenant's rows of each event type start
(``ROLLUP_STARTS``).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa

from etl.arrays import KeyLayout
from etl.snapshot_format import (ACTIVE_EVENTS, EVENT_TYPES, NO_PREVIOUS, PREVIOUS_PAIR, PREVIOUS_USER, USER,
                                 side_dimensions)

SUMMED = ("n", "duration", "score_sum", "score_n")
KEEP_GAIN = 1.5  # a tenant's event type keeps its rollup rows when they are at most 2/3 of its facts rows


def month_starts(days: np.ndarray) -> np.ndarray:
    """The first day (a day number) of the month of each of ``days``."""
    months = days.astype("datetime64[D]").astype("datetime64[M]")
    return months.astype("datetime64[D]").astype(np.int32)


def user_classes(users: pa.Table | pd.DataFrame, user_starts: np.ndarray) -> np.ndarray:
    """For each user (a row of the users frame), the first user of its tenant with the same value of every user
    dimension. ``user_starts``: where each tenant's users start (the users frame is sorted by tenant)."""
    n = len(users)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    tenant = np.searchsorted(np.asarray(user_starts), np.arange(n), side="right") - 1
    columns = [tenant] + [np.asarray(users[d.name]) for d in side_dimensions(USER) if d.coded]
    codes = _group_codes(columns)
    first = np.full(int(codes.max()) + 1, n, dtype=np.int32)
    np.minimum.at(first, codes, np.arange(n, dtype=np.int32))
    return first[codes]


def _group_codes(columns: list[np.ndarray], cuts: np.ndarray | None = None) -> np.ndarray:
    """A code per row for its combination of ``columns`` (non-negative integers), in the order combinations first
    appear. The columns are packed into one int64 key in place, and the key is hashed (``pd.factorize``) whenever
    the next column would not fit in it, then at the end. ``cuts``: rows where no combination continues past, so
    the rows between two are hashed on their own, in a table that stays in the processor's cache (at 100M events,
    5.1 s hashed whole)."""
    codes = None
    span = 1
    for column in columns:
        width = int(column.max()) + 1 if len(column) else 1
        if codes is None:
            codes, span = column.astype(np.int64), width
            continue
        if (span * width).bit_length() > 62:
            codes, span = _factorize(codes, cuts)
        codes *= width
        codes += column
        span *= width
    return _factorize(codes, cuts)[0]


def _factorize(keys: np.ndarray, cuts: np.ndarray | None) -> tuple[np.ndarray, int]:
    """``pd.factorize(keys)`` a piece at a time (between ``cuts``), two pieces at once (it lets go of the GIL),
    and the number of distinct keys."""
    bounds = [0, *([] if cuts is None else cuts.tolist()), len(keys)]
    codes = np.empty(len(keys), dtype=np.int64)

    def piece(a: int, b: int) -> int:
        found, uniques = pd.factorize(keys[a:b])
        codes[a:b] = found
        return len(uniques)

    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = list(pool.map(piece, bounds[:-1], bounds[1:]))
    seen = 0
    for a, b, count in zip(bounds, bounds[1:], counts):
        codes[a:b] += seen
        seen += count
    return codes, max(seen, 1)


def _cuts(event: np.ndarray, month: np.ndarray, every: int = 1 << 21) -> np.ndarray:
    """Rows about ``every`` apart where the event type or the month changes: no rollup row's facts span one."""
    changes = np.flatnonzero((event[1:] != event[:-1]) | (month[1:] != month[:-1])) + 1
    at = np.searchsorted(changes, np.arange(every, len(event), every))
    return np.unique(changes[at[at < len(changes)]])


def rollup(facts: pa.Table, classes: np.ndarray, fact_bounds: np.ndarray) -> tuple[pa.Table, np.ndarray]:
    """The rollup frame of ``facts`` (with their previous-occurrence columns; ``classes``: ``user_classes``), and
    where the rows of each of ``fact_bounds`` (facts positions: each tenant's event type starts and ends) start."""
    day = facts.column("day").to_numpy()
    event = facts.column("event").to_numpy()
    user = facts.column("user").to_numpy()
    training = facts.column("training").to_numpy()
    completed = facts.column("completed").to_numpy(zero_copy_only=False).astype(bool, copy=False)
    # Months are numbered from the first day's, through a table of the facts' days (a calendar conversion per row
    # would take seconds at 100M events); a previous day is never before the first day.
    first_day = int(day.min()) if len(day) else 0
    month_starts_table = month_starts(np.arange(first_day, (int(day.max()) if len(day) else 0) + 1, dtype=np.int32))
    first_days, month_of_day = np.unique(month_starts_table, return_inverse=True)
    month_of_day = month_of_day.astype(np.int16 if len(first_days) < 1 << 15 else np.int32)
    month = np.take(month_of_day, day - np.int32(first_day))
    counted = {PREVIOUS_PAIR: None, PREVIOUS_USER: np.isin(event, [EVENT_TYPES.index(e) for e in ACTIVE_EVENTS])}
    previous = {}  # per row, 0 for no previous row (or none counted), else 1 + the previous row's month
    for name, rows in counted.items():
        before = facts.column(name).to_numpy()
        none = before == NO_PREVIOUS
        if rows is not None:
            none |= ~rows
        index = np.take(month_of_day, np.where(none, first_day, before) - np.int32(first_day))
        index += 1
        index[none] = 0
        previous[name] = index
    # The facts are sorted by tenant, event type and day, so groups numbered in the order they first appear come
    # sorted by tenant, event type and month.
    code = _group_codes([event, month, np.take(classes, user), np.add(training, 1, dtype=np.int32), completed,
                         *previous.values()], _cuts(event, month))
    n_groups = int(code.max()) + 1 if len(code) else 0
    is_first = np.ones(len(code), dtype=bool)
    if len(code):
        np.greater(code[1:], np.maximum.accumulate(code)[:-1], out=is_first[1:])
    first_rows = np.flatnonzero(is_first)
    columns = {"day": first_days[month[first_rows]].astype(np.int32),
               "user": np.take(classes, user[first_rows]).astype(user.dtype),
               "training": training[first_rows], "event": event[first_rows]}
    for name in SUMMED:
        values = facts.column(name).to_numpy()
        total = np.bincount(code, weights=values, minlength=n_groups)
        columns[name] = total if values.dtype.kind == "f" else total.astype(np.int64)
    columns["completed"] = completed[first_rows]
    for name, index in previous.items():
        at = index[first_rows]
        columns[name] = np.where(at == 0, NO_PREVIOUS, first_days[np.maximum(at - 1, 0)]).astype(np.int32)
    columns["rows"] = np.bincount(code, minlength=n_groups).astype(np.int32)
    kept, bounds = _worth_keeping(np.searchsorted(first_rows, fact_bounds), fact_bounds, n_groups)
    return pa.table({name: values[kept] for name, values in columns.items()}), bounds


def _worth_keeping(bounds: np.ndarray, fact_bounds: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Which rollup rows to keep, and the bounds of the kept ones: a tenant's event type keeps its rows when they
    are at most ``1 / KEEP_GAIN`` of its facts rows. Where users have few events each and the user classes are
    many, the rollup would be nearly a second copy of the facts that no query reads (``app.queries`` reads the
    facts where the rollup has more than half as many rows)."""
    per_tenant = bounds.reshape(len(EVENT_TYPES) + 1, -1)
    starts, ends = per_tenant[:-1], per_tenant[1:]
    dropped = (ends - starts) * KEEP_GAIN > np.diff(fact_bounds.reshape(len(EVENT_TYPES) + 1, -1), axis=0)
    kept = np.ones(n_rows, dtype=bool)
    for a, b in zip(starts[dropped].tolist(), ends[dropped].tolist()):
        kept[a:b] = False
    before = np.concatenate([[0], np.cumsum(kept)])
    return kept, before[bounds]
