"""The JSON API for the LMS under /api/v1 (docs/api.md).

Routes are thin: verify the credential (``app.auth``), validate the
parameters (``app.params``), take the live snapshot once, call ``app.queries``
and shape the answer; ``app.http_cache`` adds ETags and memoizes the JSON.
No metric is computed here.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import partial

import orjson
from flask import Blueprint, Flask, Response, current_app, g, request
from werkzeug.routing import Map, Rule

from app import http_cache, openapi, params, problems, queries, refresh_trigger
from app.auth import Scope, parse_api_keys, verify_bearer
from app.extensions import get_settings, get_store
from app.problems import API_PREFIX, Problem
from app.store import Snapshot

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
problems.register(blueprint)
STATUS_URL = "/api/v1/refresh/status"


def _snapshot() -> Snapshot | None:
    """The request's one snapshot: taken from the store on first use, then kept to the end."""
    if "dataviz_snapshot" not in g:
        g.dataviz_snapshot = get_store(current_app).current()
    return g.dataviz_snapshot


def _live_snapshot() -> Snapshot:
    snapshot = _snapshot()
    if snapshot is None:
        raise Problem(503, "no snapshot is loaded yet; retry after the first refresh", headers={"Retry-After": "60"})
    return snapshot


def _scope() -> Scope:
    return verify_bearer(request.headers.get("Authorization"), get_settings(current_app))


def _require_admin() -> None:
    if not _scope().admin:
        raise Problem(403, "this route needs an admin API key")


def _json(payload, status: int = 200, cache_control: str = "no-store") -> Response:
    response = Response(orjson.dumps(payload), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = cache_control
    return response


@dataclass(frozen=True)
class TenantQuery:
    """A verified and validated request for one tenant's data, answered from one snapshot."""

    scope: Scope
    snapshot: Snapshot
    tenant: str
    values: dict  # the route's parameters, parsed
    start: dt.date | None = None
    end: dt.date | None = None
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)  # effective: locked ones included


def _tenant_query(route: str, tenant: str) -> TenantQuery:
    """Credential (401, 403), parameters (400), snapshot (503), tenant (404): in that order,
    so a credential for another tenant learns nothing, not even whether that tenant exists."""
    scope = _scope()
    scope.check_tenant(tenant)
    route_params = params.ROUTES.get(route, ())
    values = params.parse(request.args, route_params)
    snapshot = _live_snapshot()
    if tenant not in snapshot.tenants:
        raise Problem(404, f"tenant {tenant!r} has no data in snapshot {snapshot.version}")
    if params.FROM not in route_params:
        return TenantQuery(scope, snapshot, tenant, values)
    start, end = params.date_range(values, queries.default_range(snapshot))
    return TenantQuery(scope, snapshot, tenant, values, start, end, scope.narrow(params.filters(values)))


def _head(q: TenantQuery, **members) -> dict:
    """tenant, the route's own parameters, range and effective filters, snapshot, data_as_of."""
    head = {"tenant": q.tenant, **members}
    if q.start is not None:
        head.update({"from": q.start, "to": q.end, "filters": {dim: list(v) for dim, v in q.filters.items()}})
    head.update({"snapshot": q.snapshot.version, "data_as_of": q.snapshot.data_as_of})
    return head


def _respond(route: str, q: TenantQuery, build, *options) -> Response:
    """``options``: the route's parameters that change the answer besides range and filters."""
    query = (route, str(q.start), str(q.end), tuple(q.filters.items()), *options)
    return http_cache.respond(q.snapshot, q.scope, q.tenant, query, build)


@blueprint.get("/tenants/<tenant>/kpis")
def kpis(tenant: str):
    q = _tenant_query("kpis", tenant)
    compare = q.values["compare"]

    def build() -> dict:
        body = _head(q) | {"metrics": queries.kpis(q.snapshot, q.tenant, q.start, q.end, q.filters)}
        if compare == "previous":
            start, end = queries.previous_range(q.start, q.end)
            body["previous"] = {"from": start, "to": end,
                                "metrics": queries.kpis(q.snapshot, q.tenant, start, end, q.filters)}
        return body

    return _respond("kpis", q, build, compare)


@blueprint.get("/tenants/<tenant>/timeseries")
def timeseries(tenant: str):
    q = _tenant_query("timeseries", tenant)
    metric, granularity = q.values["metric"], q.values["granularity"]

    def build() -> dict:
        frame = queries.timeseries(q.snapshot, q.tenant, q.start, q.end, q.filters, metric, granularity)
        points = [{"period": p, "value": v} for p, v in zip(frame["period"].tolist(), frame["value"].tolist())]
        return _head(q, metric=metric, granularity=granularity) | {"points": points}

    return _respond("timeseries", q, build, metric, granularity)


@blueprint.get("/tenants/<tenant>/breakdown")
def breakdown(tenant: str):
    q = _tenant_query("breakdown", tenant)
    metric, by = q.values["metric"], q.values["by"]
    limit = q.values["limit"] or queries.DEFAULT_LIMIT

    def build() -> dict:
        frame = queries.breakdown(q.snapshot, q.tenant, q.start, q.end, q.filters, metric, by, limit)
        rows = [{"key": k, "label": label, "value": v}
                for k, label, v in zip(frame["key"].tolist(), frame["label"].tolist(), frame["value"].tolist())]
        return _head(q, metric=metric, by=by, limit=limit) | {"rows": rows}

    return _respond("breakdown", q, build, metric, by, limit)


@blueprint.get("/tenants/<tenant>/heatmap")
def heatmap(tenant: str):
    q = _tenant_query("heatmap", tenant)

    def build() -> dict:
        frame = queries.heatmap(q.snapshot, q.tenant, q.start, q.end, q.filters)
        cells = [{"weekday": w, "hour": h, "value": v} for w, h, v in
                 zip(frame["weekday"].tolist(), frame["hour"].tolist(), frame["value"].tolist())]
        return _head(q) | {"cells": cells}

    return _respond("heatmap", q, build)


@blueprint.get("/tenants/<tenant>/filters")
def filters(tenant: str):
    q = _tenant_query("filters", tenant)

    def build() -> dict:
        values = queries.filter_values(q.snapshot, q.tenant)
        for dim, locked in q.scope.filters.items():  # a locked filter offers only its own values
            values[dim] = [v for v in values[dim] if v["key"] in locked]
        return _head(q) | {"filters": values}

    return _respond("filters", q, build)


@blueprint.get("/meta")
def meta():
    _scope()
    params.parse(request.args, ())
    return _json(_live_snapshot().meta(), cache_control="no-cache")


@blueprint.get("/openapi.json")
def openapi_document():
    params.parse(request.args, ())
    return _json(openapi.document(), cache_control="public, max-age=300")


@blueprint.post("/refresh")
def refresh():
    _require_admin()
    params.parse(request.args, ())
    started = refresh_trigger.start_refresh(get_settings(current_app))
    if started["status"] != "started":
        raise Problem(409, "a refresh is already running; follow it at " + STATUS_URL,
                      headers={"Location": STATUS_URL})
    response = _json({"status": "started", "status_url": STATUS_URL}, status=202)
    response.headers["Location"] = STATUS_URL
    return response


@blueprint.get("/refresh/status")
def refresh_status():
    _require_admin()
    params.parse(request.args, ())
    return _json(refresh_trigger.refresh_status(get_settings(current_app)))


def _route_within_api(api_rules: Map) -> None:
    """Under /api/, only the API's own rules route: Dash's catch-all page never answers there.

    So an unknown path is a 404 and a known one with the wrong method a 405
    (with ``Allow``), both as problems; a path with doubled slashes is unknown,
    not redirected.
    """
    rule = request.url_rule
    if request.path.startswith(API_PREFIX) and (rule is None or not rule.rule.startswith(API_PREFIX)):
        api_rules.bind("localhost").match(request.path, request.method)


def _api_headers(response: Response) -> Response:
    """Every API answer names its snapshot and depends on the credential (errors included)."""
    if request.path.startswith(API_PREFIX):
        snapshot = _snapshot()
        if snapshot is not None:
            response.headers["X-Dataviz-Snapshot"] = snapshot.version
        response.vary.add("Authorization")
    return response


def init_app(server: Flask) -> None:
    """Register the API, its error handlers and its routing and header hooks on ``server``."""
    parse_api_keys(get_settings(server).api_keys)  # a malformed DATAVIZ_API_KEYS fails at start, not per request
    problems.init_app(server)
    server.register_blueprint(blueprint)
    api_rules = Map([Rule(r.rule, endpoint=r.endpoint, methods=r.methods)
                     for r in server.url_map.iter_rules() if r.rule.startswith(API_PREFIX)], merge_slashes=False)
    server.before_request(partial(_route_within_api, api_rules))
    server.after_request(_api_headers)
