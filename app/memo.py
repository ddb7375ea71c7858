"""The query functions, memoized in the shared app cache for the dashboards.

Keys come from ``make_key``: the snapshot version, the tenant, the range and
the (already narrowed) filters, so a new snapshot or another scope never reads
an old entry. Values are plain records serialized with orjson, never pickled
DataFrames: they stay small, and an entry written by one deploy reads the same
in the next whatever the pandas version.
"""
from __future__ import annotations

import datetime as dt
from typing import Mapping, Sequence

import orjson

from app import queries
from app.cache import AppCache, make_key
from app.store import Snapshot


def _records(frame) -> list[dict]:
    return [{k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in row.items()}
            for row in frame.to_dict("records")]


def _filters_key(filters: Mapping[str, Sequence[str]]) -> tuple:
    return tuple((dim, tuple(sorted(values))) for dim, values in sorted(filters.items()) if values)


def _memo(cache: AppCache, snapshot: Snapshot, name: str, parts: tuple, compute):
    key = make_key(f"dash-{name}", snapshot.version, *parts)
    return orjson.loads(cache.get_or_compute(key, lambda: orjson.dumps(compute())))


def kpis(cache, snapshot, tenant: str, start: dt.date, end: dt.date, filters) -> dict:
    return _memo(cache, snapshot, "kpis", (tenant, start.isoformat(), end.isoformat(), _filters_key(filters)),
                 lambda: queries.kpis(snapshot, tenant, start, end, filters))


def timeseries(cache, snapshot, tenant, start, end, filters, metric: str, granularity: str) -> list[dict]:
    """``[{"period": "YYYY-MM-DD", "value": ...}]``, one per period."""
    return _memo(cache, snapshot, "timeseries",
                 (tenant, start.isoformat(), end.isoformat(), _filters_key(filters), metric, granularity),
                 lambda: _records(queries.timeseries(snapshot, tenant, start, end, filters, metric, granularity)))


def breakdown(cache, snapshot, tenant, start, end, filters, metric: str, by: str,
              limit: int = queries.DEFAULT_LIMIT) -> list[dict]:
    """``[{"key", "label", "value"}]``, sorted as ``queries.breakdown`` sorts."""
    return _memo(cache, snapshot, "breakdown",
                 (tenant, start.isoformat(), end.isoformat(), _filters_key(filters), metric, by, limit),
                 lambda: _records(queries.breakdown(snapshot, tenant, start, end, filters, metric, by, limit)))


def heatmap(cache, snapshot, tenant, start, end, filters) -> list:
    """168 values, weekday-major (Monday first), hour-minor; None under a training-side filter."""
    return _memo(cache, snapshot, "heatmap", (tenant, start.isoformat(), end.isoformat(), _filters_key(filters)),
                 lambda: list(queries.heatmap(snapshot, tenant, start, end, filters)["value"]))


def filter_values(cache, snapshot, tenant: str) -> dict[str, list[dict]]:
    return _memo(cache, snapshot, "filters", (tenant,), lambda: queries.filter_values(snapshot, tenant))
