"""Every metric of metrics.md, as pure functions over a ``Snapshot``.

The JSON API and the dashboards both call these; no metric is computed
anywhere else. All of them take the tenant, an inclusive range of UTC days and
a filter mapping (dimension → values; OR within, AND across), select the
tenant's rows with one binary search on the day column, and aggregate with
numpy. Distinct counts go through ``np.unique`` on integer keys so any range
(and every period of a time series) is exact.

One engine, ``_metrics``, computes all metrics per *key*: a single key for
KPIs, the period for time series, the dimension value for breakdowns.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from app.store import Snapshot, day_date, day_number

METRICS = ("connections", "active_learners", "enrolments", "starts", "completions",
           "completion_rate", "avg_score", "learning_hours")
USER_DIMENSIONS = ("group", "country")
TRAINING_DIMENSIONS = ("training", "category", "format")
DIMENSIONS = USER_DIMENSIONS + TRAINING_DIMENSIONS
GRANULARITIES = ("day", "week", "month")
CONNECTION, ENROLMENT, START, COMPLETION = range(4)
RATE_METRICS = ("completion_rate", "avg_score", "learning_hours")
DEFAULT_LIMIT = 10
MAX_LIMIT = 1000

Filters = Mapping[str, Sequence[str]]


class QueryError(ValueError):
    """A query that cannot be answered as asked (unknown metric, dimension...)."""


class UnknownTenant(KeyError):
    """The tenant has no data in this snapshot."""


@dataclass
class _Rows:
    """The selected fact rows of one tenant, with tenant-local user and training codes."""

    day: np.ndarray
    user: np.ndarray
    training: np.ndarray  # -1 for connections
    event: np.ndarray
    n: np.ndarray
    duration: np.ndarray
    score_sum: np.ndarray
    score_n: np.ndarray
    completed: np.ndarray
    n_users: int
    n_trainings: int
    training_side: bool  # connections are excluded (training-side filter or breakdown)

    def take(self, mask: np.ndarray) -> "_Rows":
        return _Rows(self.day[mask], self.user[mask], self.training[mask], self.event[mask], self.n[mask],
                     self.duration[mask], self.score_sum[mask], self.score_n[mask], self.completed[mask],
                     self.n_users, self.n_trainings, self.training_side)


def _tenant(snapshot: Snapshot, tenant: str):
    try:
        return snapshot.tenants[tenant]
    except KeyError:
        raise UnknownTenant(tenant) from None


def _check_filters(filters: Filters) -> None:
    unknown = set(filters) - set(DIMENSIONS)
    if unknown:
        raise QueryError(f"unknown filter {sorted(unknown)[0]!r}; expected one of {', '.join(DIMENSIONS)}")


def _allowed(codes: np.ndarray, values: Sequence[str], lookup: Mapping[str, int]) -> np.ndarray:
    wanted = [lookup[v] for v in values if v in lookup]
    return np.isin(codes, np.asarray(wanted, dtype=codes.dtype))


def _user_mask(snapshot: Snapshot, ts, filters: Filters) -> np.ndarray | None:
    """Which of the tenant's users pass the user-side filters (None: no such filter)."""
    mask = None
    for dim in USER_DIMENSIONS:
        if filters.get(dim):
            ok = _allowed(snapshot.users[dim][ts.users], filters[dim], snapshot.codes[dim])
            mask = ok if mask is None else mask & ok
    return mask


def _training_mask(snapshot: Snapshot, ts, filters: Filters) -> np.ndarray | None:
    """Which of the tenant's trainings pass the training-side filters (None: no such filter)."""
    mask = None
    if filters.get("training"):
        wanted = set(filters["training"])
        ids = snapshot.trainings["training_id"][ts.trainings]
        mask = np.fromiter((t in wanted for t in ids), dtype=bool, count=len(ids))
    for dim in ("category", "format"):
        if filters.get(dim):
            ok = _allowed(snapshot.trainings[dim][ts.trainings], filters[dim], snapshot.codes[dim])
            mask = ok if mask is None else mask & ok
    return mask


def _select(snapshot: Snapshot, tenant: str, start: dt.date, end: dt.date, filters: Filters,
            training_side: bool = False) -> _Rows:
    """The tenant's fact rows in [start, end] that pass the filters."""
    _check_filters(filters)
    ts = _tenant(snapshot, tenant)
    f = snapshot.facts
    days = f["day"][ts.facts]
    lo, hi = np.searchsorted(days, [day_number(start), day_number(end) + 1])
    part = slice(ts.facts.start + lo, ts.facts.start + hi)
    rows = _Rows(
        day=days[lo:hi], user=f["user"][part] - ts.users.start,
        training=np.where(f["training"][part] >= 0, f["training"][part] - ts.trainings.start, -1),
        event=f["event"][part], n=f["n"][part], duration=f["duration"][part],
        score_sum=f["score_sum"][part], score_n=f["score_n"][part], completed=f["completed"][part],
        n_users=ts.users.stop - ts.users.start, n_trainings=ts.trainings.stop - ts.trainings.start,
        training_side=training_side or any(filters.get(d) for d in TRAINING_DIMENSIONS),
    )
    keep = None
    users_ok = _user_mask(snapshot, ts, filters)
    if users_ok is not None:
        keep = users_ok[rows.user]
    trainings_ok = _training_mask(snapshot, ts, filters)
    if trainings_ok is not None or rows.training_side:
        has_training = rows.training >= 0
        ok = has_training.copy()
        if trainings_ok is not None:
            ok[has_training] = trainings_ok[rows.training[has_training]]
        keep = ok if keep is None else keep & ok
    return rows if keep is None else rows.take(keep)


def _distinct_per_key(key: np.ndarray, item: np.ndarray, n_keys: int) -> np.ndarray:
    """Number of distinct ``item`` values per key."""
    if not len(key):
        return np.zeros(n_keys, dtype=np.int64)
    span = int(item.max()) + 1
    pairs = np.unique(key.astype(np.int64) * span + item)
    return np.bincount(pairs // span, minlength=n_keys)


def _metrics(rows: _Rows, key: np.ndarray, n_keys: int) -> dict[str, list]:
    """Every metric for each key value 0..n_keys-1 (rows with key < 0 are ignored)."""
    valid = key >= 0
    if not valid.all():
        rows, key = rows.take(valid), key[valid]
    ev = rows.event
    pair = rows.user.astype(np.int64) * max(rows.n_trainings, 1) + np.maximum(rows.training, 0)
    out: dict[str, np.ndarray | list] = {}

    conn = ev == CONNECTION
    connections = np.bincount(key[conn], weights=rows.n[conn], minlength=n_keys)
    active = ev != ENROLMENT
    out["active_learners"] = _distinct_per_key(key[active], rows.user[active].astype(np.int64), n_keys)
    for name, kind in (("enrolments", ENROLMENT), ("starts", START), ("completions", COMPLETION)):
        sel = ev == kind
        out[name] = _distinct_per_key(key[sel], pair[sel], n_keys)

    enrol = ev == ENROLMENT
    rate = np.full(n_keys, np.nan)
    if enrol.any():
        span = int(pair[enrol].max()) + 1
        combined = key[enrol].astype(np.int64) * span + pair[enrol]
        uniq, first = np.unique(combined, return_index=True)
        done = np.bincount(uniq // span, weights=rows.completed[enrol][first], minlength=n_keys)
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = done / out["enrolments"]
    comp = ev == COMPLETION
    scored = np.bincount(key[comp], weights=rows.score_n[comp], minlength=n_keys)
    score_sum = np.bincount(key[comp], weights=rows.score_sum[comp], minlength=n_keys)
    with np.errstate(invalid="ignore", divide="ignore"):
        avg = np.where(scored > 0, score_sum / np.where(scored > 0, scored, 1), np.nan)
    hours = np.bincount(key, weights=rows.duration, minlength=n_keys) / 3600.0

    def as_list(values, kind):
        if kind is int:
            return [int(v) for v in values]
        return [None if np.isnan(v) else float(v) for v in values]

    result = {
        "connections": [None] * n_keys if rows.training_side else as_list(connections, int),
        "active_learners": as_list(out["active_learners"], int),
        "enrolments": as_list(out["enrolments"], int),
        "starts": as_list(out["starts"], int),
        "completions": as_list(out["completions"], int),
        "completion_rate": as_list(rate, float),
        "avg_score": as_list(avg, float),
        "learning_hours": as_list(hours, float),
    }
    return result


def _check_range(start: dt.date, end: dt.date) -> None:
    if start > end:
        raise QueryError(f"from ({start}) is after to ({end})")


def kpis(snapshot: Snapshot, tenant: str, start: dt.date, end: dt.date, filters: Filters) -> dict:
    """Every metric over the range: ``{metric: value}`` (value may be None)."""
    _check_range(start, end)
    rows = _select(snapshot, tenant, start, end, filters)
    values = _metrics(rows, np.zeros(len(rows.day), dtype=np.int64), 1)
    return {m: values[m][0] for m in METRICS}


def previous_range(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The range of the same number of days that ends the day before ``start``."""
    length = (end - start).days + 1
    return start - dt.timedelta(days=length), start - dt.timedelta(days=1)


def _period_starts(days: np.ndarray, granularity: str) -> np.ndarray:
    """The day number of the period (day, ISO week, month) each day falls in."""
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
    _check_range(start, end)
    all_days = np.arange(day_number(start), day_number(end) + 1)
    periods = np.unique(_period_starts(all_days, granularity))
    rows = _select(snapshot, tenant, start, end, filters)
    key = np.searchsorted(periods, _period_starts(rows.day.astype(np.int64), granularity))
    values = _metrics(rows, key, len(periods))[metric]
    return pd.DataFrame({"period": [day_date(p) for p in periods], "value": pd.Series(values, dtype=object)})


def _dimension_keys(snapshot: Snapshot, ts, rows: _Rows, by: str) -> tuple[np.ndarray, list[str], list[str]]:
    """Per row, the code of its value of ``by``, plus the keys and labels of the codes."""
    if by in USER_DIMENSIONS:
        codes = snapshot.users[by][ts.users][rows.user]
        values = snapshot.dictionaries[by]
        return codes.astype(np.int64), values, values
    if by == "training":
        ids = snapshot.trainings["training_id"][ts.trainings]
        titles = snapshot.trainings["title"][ts.trainings]
        return rows.training.astype(np.int64), list(ids), list(titles)
    if by in ("category", "format"):
        per_training = snapshot.trainings[by][ts.trainings].astype(np.int64)
        codes = np.where(rows.training >= 0, per_training[np.maximum(rows.training, 0)], -1)
        values = snapshot.dictionaries[by]
        return codes, values, values
    raise QueryError(f"unknown dimension {by!r}; expected one of {', '.join(DIMENSIONS)}")


def breakdown(snapshot: Snapshot, tenant: str, start: dt.date, end: dt.date, filters: Filters,
              metric: str, by: str, limit: int = DEFAULT_LIMIT) -> pd.DataFrame:
    """One row per value of ``by`` with matching events: ``key``, ``label``, ``value``.

    Sorted by value (descending, None last), then key. Breaking down by a
    training-side dimension leaves connections out, as filtering by it would.
    """
    _check_metric(metric)
    _check_range(start, end)
    if by not in DIMENSIONS:
        raise QueryError(f"unknown dimension {by!r}; expected one of {', '.join(DIMENSIONS)}")
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(f"limit must be between 1 and {MAX_LIMIT}")
    ts = _tenant(snapshot, tenant)
    rows = _select(snapshot, tenant, start, end, filters, training_side=by in TRAINING_DIMENSIONS)
    codes, keys, labels = _dimension_keys(snapshot, ts, rows, by)
    present = np.unique(codes[codes >= 0])
    values = _metrics(rows, codes, len(keys))[metric] if len(present) else []
    frame = pd.DataFrame({
        "key": [keys[c] for c in present],
        "label": [labels[c] for c in present],
        "value": pd.Series([values[c] for c in present], dtype=object),
    })
    if frame.empty:
        return frame
    frame["_missing"] = frame["value"].isna()
    # Equal averages summed in a different order can differ in the last bit (74.4 vs 74.39999999999999):
    # rounded, they tie and sort by key, as metrics.md says.
    frame["_sort"] = -frame["value"].astype(float).fillna(0).round(9)
    frame = frame.sort_values(["_missing", "_sort", "key"], kind="stable").head(limit)
    return frame.drop(columns=["_missing", "_sort"]).reset_index(drop=True)


def heatmap(snapshot: Snapshot, tenant: str, start: dt.date, end: dt.date, filters: Filters) -> pd.DataFrame:
    """Connections by weekday (Monday = 0) and UTC hour: 168 rows, ``value`` None under a training filter."""
    _check_filters(filters)
    _check_range(start, end)
    ts = _tenant(snapshot, tenant)
    h = snapshot.hourly
    days = h["day"][ts.hourly]
    lo, hi = np.searchsorted(days, [day_number(start), day_number(end) + 1])
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
    ts = _tenant(snapshot, tenant)
    out = {}
    for dim in USER_DIMENSIONS:
        names = snapshot.dictionaries[dim]
        out[dim] = [{"key": names[c], "label": names[c]}
                    for c in sorted(set(snapshot.users[dim][ts.users].tolist()), key=lambda c: names[c])]
    ids = snapshot.trainings["training_id"][ts.trainings]
    titles = snapshot.trainings["title"][ts.trainings]
    out["training"] = [{"key": k, "label": t} for k, t in sorted(zip(ids.tolist(), titles.tolist()))]
    for dim in ("category", "format"):
        names = snapshot.dictionaries[dim]
        out[dim] = [{"key": names[c], "label": names[c]}
                    for c in sorted(set(snapshot.trainings[dim][ts.trainings].tolist()), key=lambda c: names[c])]
    return out


def tenant_ids(snapshot: Snapshot) -> list[str]:
    return sorted(snapshot.tenants)


def default_range(snapshot: Snapshot, days: int = 30) -> tuple[dt.date, dt.date]:
    """The ``days`` days ending at the snapshot's ``data_as_of``."""
    end = snapshot.data_as_of
    return end - dt.timedelta(days=days - 1), end
