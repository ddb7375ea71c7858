"""The one answer cache: query answers memoised once, for the API and the dashboards alike.

An answer is the JSON-ready result of one ``app.queries`` function for one
``TenantView``. Its key (``key``) is built from primitives only: the query and
its arguments, the snapshot version, the tenant, the range, the effective
filters and the scope's cache key; so a new snapshot or another scope never
reads an old entry, and the API's ETag (``app.http_cache``) is taken from the
same key. Values are stored as orjson bytes, never pickled DataFrames: they
stay small, and an entry written by one deploy reads the same in the next.
``DATAVIZ_APP_CACHE=0`` computes every answer, on both faces. The dashboards
read answers decoded (``kpis``, ``timeseries``...); the API embeds their stored
JSON in its bodies as it is (``raw``), so a cached API answer is never decoded.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable, Mapping, Sequence

import orjson
from flask import current_app

from app import learners, queries
from app.cache import make_key
from app.extensions import get_cache, get_settings
from app.views import TenantView


def filters_key(filters: Mapping[str, Sequence[str]]) -> tuple:
    """The filters as a canonical primitive: sorted dimensions and values, empty filters dropped."""
    return tuple((dim, tuple(sorted(values))) for dim, values in sorted(filters.items()) if values)


def key(view: TenantView, query: str, *args) -> str:
    """The cache key of ``query(args)`` over ``view``: also the source of the API's ETag."""
    start = view.start.isoformat() if view.start else None
    end = view.end.isoformat() if view.end else None
    return make_key(query, view.snapshot.version, view.tenant, start, end, filters_key(view.filters), *args,
                    view.scope.cache_key())


def _records(frame) -> list[dict]:
    return [{k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in row.items()}
            for row in frame.to_dict("records")]


QUERIES: dict[str, Callable[..., object]] = {
    "kpis": lambda view: queries.kpis(view.snapshot, view.tenant, view.start, view.end, view.filters),
    "timeseries": lambda view, metric, granularity: _records(queries.timeseries(
        view.snapshot, view.tenant, view.start, view.end, view.filters, metric, granularity)),
    "breakdown": lambda view, metric, by, limit: _records(queries.breakdown(
        view.snapshot, view.tenant, view.start, view.end, view.filters, metric, by, limit)),
    "heatmap": lambda view: _records(queries.heatmap(view.snapshot, view.tenant, view.start, view.end,
                                                     view.filters)),
    "filters": lambda view: queries.filter_values(view.snapshot, view.tenant),
    "learners": lambda view, cohort, sort, order, limit, after: _learner_page(
        learners.learner_page(view.snapshot, view.tenant, view.start, view.end, view.filters, cohort, sort, order,
                              limit, None if after is None else learners.Position(*after))),
    "learner": lambda view, user_id: learners.learner_trainings(view.snapshot, view.tenant, user_id, view.filters),
}


def _learner_page(page: learners.LearnerPage) -> dict:
    """A page as JSON-ready primitives: its position (``next``) as a list, for the API's cursor."""
    return {"total": page.total, "learners": _records(page.rows),
            "next": None if page.next is None else [page.next.empty, page.next.value, page.next.code]}


def raw(view: TenantView, query: str, *args) -> bytes:
    """The JSON of ``QUERIES[query](view, *args)``, from the app cache when it is on (computed and stored on a miss).

    The API embeds these bytes in its bodies as they are (``orjson.Fragment``).
    """
    def payload() -> bytes:
        return orjson.dumps(QUERIES[query](view, *args))

    if not get_settings(current_app).app_cache:
        return payload()
    return get_cache(current_app).get_or_compute(key(view, query, *args), payload)


def learner_page(view: TenantView, cohort: str, sort: str, order: str, limit: int,
                 after: learners.Position | None) -> dict:
    """``{"total", "learners": [row...], "next": [empty, value, code] | None}`` (``app.learners.learner_page``)."""
    position = None if after is None else (after.empty, after.value, after.code)
    return orjson.loads(raw(view, "learners", cohort, sort, order, limit, position))


def learner(view: TenantView, user_id: str) -> dict:
    """One learner and their trainings (``app.learners.learner_trainings``); ``UnknownLearner`` if none."""
    return orjson.loads(raw(view, "learner", user_id))


def kpis(view: TenantView) -> dict:
    """``{metric: value}`` over the view's range."""
    return orjson.loads(raw(view, "kpis"))


def timeseries(view: TenantView, metric: str, granularity: str) -> list[dict]:
    """``[{"period": "YYYY-MM-DD", "value": ...}]``, one per period."""
    return orjson.loads(raw(view, "timeseries", metric, granularity))


def breakdown(view: TenantView, metric: str, by: str, limit: int = queries.DEFAULT_LIMIT) -> list[dict]:
    """``[{"key", "label", "value"}]``, sorted as ``queries.breakdown`` sorts."""
    return orjson.loads(raw(view, "breakdown", metric, by, limit))


def heatmap(view: TenantView) -> list[dict]:
    """168 ``{"weekday", "hour", "value"}`` cells, weekday-major (Monday first); values None under a training filter."""
    return orjson.loads(raw(view, "heatmap"))


def filter_values(view: TenantView) -> dict[str, list[dict]]:
    """Every value each filter can take for the tenant (the range and filters do not matter)."""
    return orjson.loads(raw(TenantView(view.scope, view.snapshot, view.tenant), "filters"))


def offered_filter_values(view: TenantView) -> dict[str, list[dict]]:
    """The values the viewer may pick: a locked filter offers only its own (the API and the dashboards).

    A dashboard locked to group=Sales used to send every group name of the tenant in its options.
    """
    values = filter_values(view)
    return {dim: [v for v in options if v["key"] in view.scope.filters[dim]] if dim in view.scope.filters
            else options for dim, options in values.items()}
