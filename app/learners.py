"""Who is behind the numbers: learner rows and one learner's trainings (docs/metrics.md, v2), as pure functions.

The JSON API (pages, downloads, one learner) and the dashboards call these, as
they call ``app.queries``, whose event selection they share (``queries.select``:
range, filters, no connections under a training-side filter), so a learner's
numbers are the tenant's metrics restricted to that learner.

A list is computed per user of the tenant: arrays as long as its users,
indexed by the local user code, each column one ``bincount`` over the range's
rows (distinct pairs count first occurrences, as the metrics do). Users are
numbered in ``user_id`` order within their tenant, so the local code is the
``user_id`` order; names sort by the rank the ETL stored
(``etl.snapshot_format.NAME_RANK``) and group and country by their codes (the
dictionaries are sorted). No string is compared and no learner is sorted to
answer a page: a page is the ``limit`` first learners after a ``Position``
(where the previous page ended), found with one partition, so its cost follows
the range's rows and the tenant's users, not the page's depth. A download
sorts the listed learners once (``learner_chunks``), in the same order.

The two columns every user needs (whom the cohort lists, and the last
activity) come from the learner index (``app.learner_index``) when the range
reaches the tenant's last day of data without a training-side filter (the
dashboards' default and most API calls): each user's last day over the
snapshot, compared with the range's start, with no pass over the range's rows;
a page's own columns then read its learners' rows from the index's rows
grouped by learner. Other ranges and filters, the cohorts ``not_completed``
and those assignments decide, and the other sort columns read the range's rows.

The columns ``assigned`` and ``overdue``, the cohorts assignments decide and
a training's assignment fields come from ``app.learner_assignments`` (per-user
arrays of the tenant's assignments), asked through small hooks here.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from typing import Iterator

import numpy as np
import pandas as pd

from app import catalog, learner_index
from app.catalog import COMPLETION, CONNECTION, ENROLMENT, USER_DIMENSIONS
from app.learner_assignments import (COHORTS as ASSIGNMENT_COHORTS, COLUMNS as ASSIGNMENT_COLUMNS,
                                     LearnerAssignments, check_cohort, trainings_of)
from app.queries import (Filters, QueryError, check_range, local_codes, rows_of_users, select, tenant_slices,
                         training_mask, user_mask)
from app.store import Snapshot, day_date
from etl.snapshot_format import ACTIVE_EVENTS, EVENT_TYPES, KEYS, NAME, NAME_RANK, PREVIOUS_PAIR, USER

METRIC_COLUMNS = ("connections", "enrolments", "starts", "completions", "avg_score", "learning_hours")
TEXT_COLUMNS = ("user_id", "name", *USER_DIMENSIONS)
COLUMNS = (*TEXT_COLUMNS, *METRIC_COLUMNS, "last_activity", *ASSIGNMENT_COLUMNS)
COHORTS = ("active", "connected", "enrolled", "started", "completed", "not_completed",
           *ASSIGNMENT_COHORTS)  # overdue, at_risk (docs/metrics.md); due_soon, due (docs/api.md)
COHORT_EVENTS = {"active": ACTIVE_EVENTS, "connected": ("connection",), "enrolled": ("enrolment",),
                 "started": ("start",), "completed": ("completion",)}  # listed: a selected event of these
ORDERS = ("asc", "desc")
DEFAULT_COHORT, DEFAULT_SORT = "active", "last_activity"
DEFAULT_LIMIT, MAX_LIMIT = 50, 1000
DOWNLOAD_BLOCK = 20_000  # learners whose columns a download computes at once (``learner_chunks``)
TRAINING_COLUMNS = ("training_id", "title", "category", "format", "status", "enrolled_on", "started_on",
                    "completed_on", "on_time", "overdue", "score", "learning_hours", "assigned_on", "due_on")
_FIRST_ON = {ENROLMENT: "enrolled_on", catalog.START: "started_on", COMPLETION: "completed_on"}
NOT_ASSIGNED = {"assigned_on": None, "due_on": None, "on_time": None, "overdue": False}


class UnknownLearner(KeyError):
    """The tenant has no such learner, or none the filters let this viewer see."""


def default_order(sort: str) -> str:
    """Text columns read A to Z by default; numbers and dates the largest or latest first."""
    return "asc" if sort in TEXT_COLUMNS else "desc"


@dataclass(frozen=True)
class Position:
    """Where a learner sits in a list's order: its sort value (``empty`` when it has none), then its code.

    A page starts after the position of the previous page's last learner. Values
    are plain ints or floats, so a position survives a round trip through JSON.
    """

    empty: bool
    value: int | float
    code: int


@dataclass(frozen=True)
class LearnerPage:
    """One page of a learner list: how many learners the list has, the page's rows, where the next one starts."""

    total: int
    rows: pd.DataFrame  # COLUMNS
    next: Position | None  # None on the last page


def check_list(snapshot: Snapshot, tenant: str, cohort: str, sort: str, order: str | None) -> str:
    """Refuse an unknown cohort, column or order (``QueryError``) and a cohort that needs assignments of a tenant
    without any (``NoAssignments``); the order to use."""
    if cohort not in COHORTS:
        raise QueryError(f"unknown cohort {cohort!r}; expected one of {', '.join(COHORTS)}")
    check_cohort(snapshot, tenant, cohort)
    if sort not in COLUMNS:
        raise QueryError(f"unknown sort column {sort!r}; expected one of {', '.join(COLUMNS)}")
    order = order or default_order(sort)
    if order not in ORDERS:
        raise QueryError(f"unknown order {order!r}; expected asc or desc")
    return order


class _Part:
    """Some of the selected rows of one event type (a page's), as a selection's block (``queries._Block``) has
    them: local user codes, days and any facts column."""

    def __init__(self, user: np.ndarray, column, keep: np.ndarray | None = None):
        self.user = user  # the kept rows' users
        self._column = column
        self._keep = keep

    def column(self, name: str) -> np.ndarray:
        values = self._column(name)
        return values if self._keep is None else values[self._keep]

    @cached_property
    def day(self) -> np.ndarray:
        return self.column("day")


class _Learners:
    """Per-user columns of one tenant over a selection: arrays indexed by local user code, made on first use.

    A list needs two columns for every user (whom the cohort lists, the sort
    key); the other columns are only read for a page's (or a download block's)
    learners, so ``rows`` computes them over those learners' rows alone
    (``only``).
    """

    def __init__(self, snapshot: Snapshot, ts, n: int, parts: dict, first_day: int,
                 assignments: LearnerAssignments, codes: np.ndarray | None = None,
                 indexed: learner_index.RangeDays | None = None):
        self.snapshot, self.ts, self.n, self.parts, self.first_day = snapshot, ts, n, parts, first_day
        self.assignments, self.codes = assignments, codes  # codes: the users of ``only`` (None: all)
        self.indexed = indexed  # what the learner index says of this range (None: it does not answer for it)
        self._columns: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
        self._last_days: dict[int, np.ndarray] = {}

    @classmethod
    def over(cls, snapshot: Snapshot, tenant: str, start: dt.date, end: dt.date, filters: Filters) -> "_Learners":
        check_range(start, end)
        ts = tenant_slices(snapshot, tenant)
        selection = select(snapshot, tenant, start, end, filters)
        parts = selection.blocks  # their users' codes are made on first use (the learner index may need none)
        n = ts.users.stop - ts.users.start
        return cls(snapshot, ts, n, parts, selection.first_day,
                   LearnerAssignments(snapshot, tenant, start, end, filters, n),
                   indexed=learner_index.range_days(snapshot, tenant, start, end, filters))

    def only(self, codes: np.ndarray) -> "_Learners":
        """The metric columns of ``codes`` only, computed over their rows (found by a pass over the range's rows,
        or read from the learner index): user ``i`` is ``codes[i]`` (arrays as long as a page, not as the tenant's
        users)."""
        parts = {}
        for event, part in self.parts.items():
            if self.indexed is None:  # a pass over the range's rows
                keep, renumbered = rows_of_users(part.user, codes, self.n)
                parts[event] = _Part(renumbered, part.column, keep)
            else:  # their rows straight from the index's rows by user
                rows, renumbered = self.indexed.rows_of(event, codes)
                parts[event] = _Part(renumbered, lambda name, rows=rows: self.snapshot.facts[name][rows])
        return _Learners(self.snapshot, self.ts, len(codes), parts, self.first_day, self.assignments, codes)

    def _sum(self, events, column: str) -> np.ndarray:
        total = np.zeros(self.n)
        for part in (self.parts[e] for e in events if e in self.parts):
            total += np.bincount(part.user, weights=part.column(column), minlength=self.n)
        return total

    def _last_day_of(self, event: int) -> np.ndarray:
        """The last day of the event type's selected rows per user, -1 for none: one pass of maxima over the rows,
        made once; a cohort reads it when the last activity has made it (``listed``)."""
        if event not in self._last_days:
            part = self.parts[event]
            last = np.full(self.n, -1, dtype=np.int32)
            np.maximum.at(last, part.user, part.day.astype(np.int32, copy=False))
            self._last_days[event] = last
        return self._last_days[event]

    def listed(self, cohort: str) -> np.ndarray:
        """Which users the cohort lists: who has a row of its event types, from the learner index when it answers,
        else read from their last days when the sort by last activity has made them (no second pass over the
        rows), else one scatter of the rows' users (no array of days as long as the tenant's users)."""
        if cohort in ASSIGNMENT_COHORTS:
            return self.assignments.listed(cohort)
        if self.indexed is not None and cohort in COHORT_EVENTS:
            return self.indexed.present(EVENT_TYPES.index(e) for e in COHORT_EVENTS[cohort])
        present = np.zeros(self.n, dtype=bool)
        if cohort == "not_completed":  # a pair enrolled in the range and never completed
            if ENROLMENT in self.parts:
                part = self.parts[ENROLMENT]
                present[part.user[~part.column("completed")]] = True
            return present
        for event in (EVENT_TYPES.index(e) for e in COHORT_EVENTS[cohort]):
            if event in self._last_days:
                present |= self._last_days[event] >= 0
            elif event in self.parts:
                present[self.parts[event].user] = True
        return present

    @cached_property
    def last_day(self) -> np.ndarray:
        """The last day of any selected event per user, -1 for none (from the learner index when it answers)."""
        if self.indexed is not None:
            return self.indexed.last_day(self.parts)
        last = np.full(self.n, -1, dtype=np.int32)
        for event in self.parts:
            np.maximum(last, self._last_day_of(event), out=last)
        return last

    def column(self, name: str) -> tuple[np.ndarray, np.ndarray | None]:
        """A column's values per user, and which are empty (None: none is); each computed once."""
        if name not in self._columns:
            self._columns[name] = self._column(name)
        return self._columns[name]

    def _column(self, name: str) -> tuple[np.ndarray, np.ndarray | None]:
        users, rows = self.snapshot.users, self.ts.users
        if name == "user_id":
            return np.arange(self.n), None
        if name == "name":
            return users[NAME_RANK][rows], None
        if name in USER_DIMENSIONS:
            return users[name][rows], None
        if name == "last_activity":
            return self.last_day, self.last_day < 0
        if name in ASSIGNMENT_COLUMNS:
            return self.assignments.column(name, self.codes)
        return self._metric(catalog.METRIC[name])

    def _metric(self, metric: catalog.Metric) -> tuple[np.ndarray, np.ndarray | None]:
        """A v1 metric restricted to each user (``app.queries._metrics`` computes it for a whole selection)."""
        events = metric.event_codes
        if metric.kind == catalog.COUNT:
            if not any(e in self.parts for e in events):  # connections under a training-side filter
                return np.zeros(self.n, dtype=np.int64), np.ones(self.n, dtype=bool)
            return self._sum(events, "n").astype(np.int64), None
        if metric.kind == catalog.DISTINCT:  # pairs: a row that is its pair's first in the range counts
            total = np.zeros(self.n, dtype=np.int64)
            for part in (self.parts[e] for e in events if e in self.parts):
                total += np.bincount(part.user[part.column(PREVIOUS_PAIR) < self.first_day], minlength=self.n)
            return total, None
        if metric.kind == catalog.AVERAGE:
            counted = self._sum(events, f"{metric.column}_n")
            with np.errstate(invalid="ignore", divide="ignore"):
                return self._sum(events, f"{metric.column}_sum") / counted, counted == 0
        if metric.kind == catalog.HOURS:
            return self._sum(events, "duration") / 3600.0, None
        raise QueryError(f"metric {metric.name!r} has no learner column")

    def rows(self, codes: np.ndarray) -> pd.DataFrame:
        """The learner rows of local ``codes``, in that order, their columns computed over their own rows alone."""
        users, rows = self.snapshot.users, self.ts.users.start + codes
        out = {"user_id": users.take(KEYS[USER], rows), "name": users.take(NAME, rows)}
        for dim in USER_DIMENSIONS:
            out[dim] = np.asarray(self.snapshot.dictionaries[dim], dtype=object)[users[dim][rows]].tolist()
        theirs = self.only(codes)
        for name in (*METRIC_COLUMNS, "last_activity", *ASSIGNMENT_COLUMNS):
            values, empty = theirs.column(name)
            # Python ints, floats and dates (a day number as datetime64[D] is its date), None where empty.
            picked = (values.astype("datetime64[D]") if name == "last_activity" else values).astype(object)
            if empty is not None:
                picked[empty] = None
            out[name] = picked
        return pd.DataFrame(out, columns=list(COLUMNS))


def _sort_key(learners: _Learners, sort: str, order: str) -> tuple[np.ndarray, np.ndarray]:
    """Per user, the value that sorts ascending in the list's order (negated for ``desc``) and which are empty."""
    values, empty = learners.column(sort)
    # Equal averages summed in another order can differ in the last bit: rounded, they tie and sort by user_id,
    # as a breakdown's do (``app.queries.breakdown``).
    if values.dtype.kind == "f":
        values = np.round(values, 9)
    elif values.dtype == np.int32 or values.dtype.itemsize < 4 or (
            not len(values) or -2 ** 31 < values.min() and values.max() < 2 ** 31):
        # codes, days, most counts: half the bytes of int64 to partition; days as they are (no copy, no bounds)
        values = values.astype(np.int32, copy=False)
    else:
        values = values.astype(np.int64)
    if order == "desc":
        values = -values
    return values, np.zeros(learners.n, dtype=bool) if empty is None else empty


def _after(key: np.ndarray, empty: np.ndarray, order: str, position: Position) -> np.ndarray:
    """Which users come after ``position`` in the order (empty values last, then by code)."""
    later = np.zeros(len(key), dtype=bool)  # the codes after the position's
    later[position.code + 1:] = True
    if position.empty:
        return empty & later
    value = -position.value if order == "desc" else position.value
    return empty | (key > value) | ((key == value) & later)


def _first(key: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` first of ``codes`` (ascending) by (key, code): a partition, then a sort of at most ``k``."""
    if len(codes) > k:
        kth = np.partition(key, k - 1)[k - 1]
        below = key < kth
        ties = np.flatnonzero(key == kth)[:k - np.count_nonzero(below)]  # codes ascending: the first ties
        keep = np.flatnonzero(below)
        codes, key = np.concatenate([codes[keep], codes[ties]]), np.concatenate([key[keep], key[ties]])
    return codes[np.lexsort((codes, key))]


def _position(key: np.ndarray, empty: np.ndarray, order: str, code: int) -> Position:
    value = key[code].item()
    return Position(bool(empty[code]), 0 if empty[code] else (-value if order == "desc" else value), int(code))


def learner_page(snapshot: Snapshot, tenant: str, start: dt.date, end: dt.date, filters: Filters,
                 cohort: str = DEFAULT_COHORT, sort: str = DEFAULT_SORT, order: str | None = None,
                 limit: int = DEFAULT_LIMIT, after: Position | None = None) -> LearnerPage:
    """The ``limit`` learners of the cohort that follow ``after`` (from the first without it), sorted by
    ``sort`` in ``order`` (empty values last either way), then by ``user_id``."""
    order = check_list(snapshot, tenant, cohort, sort, order)
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be between 1 and {MAX_LIMIT}")
    learners = _Learners.over(snapshot, tenant, start, end, filters)
    key, empty = _sort_key(learners, sort, order)  # first: a sort by last activity makes what ``listed`` reads
    listed = learners.listed(cohort)
    wanted = listed if after is None else listed & _after(key, empty, order, after)
    filled = wanted & ~empty
    page = _first(key[filled], np.flatnonzero(filled), limit)
    if len(page) < limit:
        page = np.concatenate([page, np.flatnonzero(wanted & empty)[:limit - len(page)]])
    more = np.count_nonzero(wanted) > len(page)
    return LearnerPage(total=int(np.count_nonzero(listed)), rows=learners.rows(page),
                       next=_position(key, empty, order, page[-1]) if more else None)


def learner_chunks(snapshot: Snapshot, tenant: str, start: dt.date, end: dt.date, filters: Filters,
                   cohort: str = DEFAULT_COHORT, sort: str = DEFAULT_SORT, order: str | None = None,
                   chunk: int = 5000) -> Iterator[pd.DataFrame]:
    """The whole list, in the pages' order, as frames of at most ``chunk`` rows (a download streams them).

    The arguments are checked before the first chunk is asked for, so a bad
    one is refused before a response starts. Columns are computed for
    ``DOWNLOAD_BLOCK`` learners at a time, over their rows alone: memory
    follows the block, not the tenant's learners (a tenant of millions would
    otherwise hold every column of every learner for the whole download).
    """
    order = check_list(snapshot, tenant, cohort, sort, order)
    learners = _Learners.over(snapshot, tenant, start, end, filters)
    key, empty = _sort_key(learners, sort, order)  # first: a sort by last activity makes what ``listed`` reads
    codes = np.flatnonzero(learners.listed(cohort))
    codes = codes[np.lexsort((codes, key[codes], empty[codes]))]

    def chunks() -> Iterator[pd.DataFrame]:
        for i in range(0, len(codes), DOWNLOAD_BLOCK):
            rows = learners.rows(codes[i:i + DOWNLOAD_BLOCK])
            for j in range(0, len(rows), chunk):
                yield rows.iloc[j:j + chunk].reset_index(drop=True)

    return chunks()


def _user_code(snapshot: Snapshot, ts, user_id: str) -> int:
    """The learner's local code: a binary search of the tenant's ids (sorted), reading a few of them."""
    lo, hi = ts.users.start, ts.users.stop
    column = snapshot.users
    while lo < hi:
        mid = (lo + hi) // 2
        (probe,) = column.take(KEYS[USER], [mid])
        if probe < user_id:
            lo = mid + 1
        else:
            hi = mid
    if lo < ts.users.stop and column.take(KEYS[USER], [lo]) == [user_id]:
        return lo - ts.users.start
    raise UnknownLearner(user_id)


def learner_trainings(snapshot: Snapshot, tenant: str, user_id: str, filters: Filters) -> dict:
    """One learner (``user_id``, ``name``, user dimensions) and ``trainings``: a dict (``TRAINING_COLUMNS``) per
    training they have an event or an assignment for, sorted by ``training_id``.

    Training-side filters choose the trainings; the range does not apply. A
    learner outside the user-side filters (a manager's locked group) is unknown
    to the viewer, as one the tenant does not have: ``UnknownLearner``.
    """
    ts = tenant_slices(snapshot, tenant)
    code = _user_code(snapshot, ts, user_id)
    users_ok = user_mask(snapshot, ts, filters)
    if users_ok is not None and not users_ok[code]:
        raise UnknownLearner(user_id)
    trainings_ok = training_mask(snapshot, ts, filters)
    facts, user = snapshot.facts, ts.users.start + code
    found: dict[int, dict] = {}
    hours: dict[int, float] = {}
    for event, part in enumerate(ts.events):
        if event == CONNECTION:
            continue
        rows = part.start + np.flatnonzero(facts["user"][part] == user)
        trainings = local_codes(facts["training"][rows], ts.trainings)
        if trainings_ok is not None:
            rows, trainings = rows[trainings_ok[trainings]], trainings[trainings_ok[trainings]]
        days = facts["day"][rows]
        for training, day, row in zip(trainings.tolist(), days.tolist(), rows.tolist()):
            entry = found.setdefault(training, {})
            entry.setdefault(_FIRST_ON[event], day_date(day))  # rows of an event type are in day order
            hours[training] = hours.get(training, 0.0) + float(facts["duration"][row])
            if event == COMPLETION and facts["score_n"][row] > 0:  # the latest scored completion wins
                entry["score"] = float(facts["score_sum"][row]) / float(facts["score_n"][row])
    assigned = trainings_of(snapshot, ts, code, trainings_ok)
    for training in assigned:  # a training assigned and never touched is a row too
        found.setdefault(training, {})
        hours.setdefault(training, 0.0)
    codes = sorted(found, key=lambda t: snapshot.trainings[KEYS["training"]][ts.trainings.start + t])
    out = []
    for training in codes:
        entry, row = found[training], ts.trainings.start + training
        due = assigned.get(training, NOT_ASSIGNED)
        status = ("completed" if "completed_on" in entry else "in_progress" if "started_on" in entry
                  else "not_started")
        out.append({"training_id": snapshot.trainings[KEYS["training"]][row],
                    "title": snapshot.trainings["title"][row],
                    "category": snapshot.dictionaries["category"][snapshot.trainings["category"][row]],
                    "format": snapshot.dictionaries["format"][snapshot.trainings["format"][row]],
                    "status": status, "enrolled_on": entry.get("enrolled_on"),
                    "started_on": entry.get("started_on"), "completed_on": entry.get("completed_on"),
                    "on_time": due["on_time"], "overdue": due["overdue"],
                    "score": entry.get("score"), "learning_hours": hours[training] / 3600.0,
                    "assigned_on": due["assigned_on"], "due_on": due["due_on"]})
    return {**_identity(snapshot, ts.users.start + code), "trainings": out}


def _identity(snapshot: Snapshot, row: int) -> dict:
    """``user_id``, ``name`` and the user dimensions' labels of one row of the users frame."""
    out = {"user_id": snapshot.users.take(KEYS[USER], [row])[0], "name": snapshot.users.take(NAME, [row])[0]}
    for dim in USER_DIMENSIONS:
        out[dim] = snapshot.dictionaries[dim][snapshot.users[dim][row]]
    return out
