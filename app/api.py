"""The JSON API for the LMS under /api/v1 (docs/api.md).

Routes are thin: verify the credential (``app.auth``), validate the
parameters (``app.params``), resolve the ``TenantView`` (``app.views``, the
resolver the dashboards use too), take the answers from ``app.answers`` (the
one answer cache: their JSON is embedded as stored) and shape them; ``app.http_cache`` adds the ETag and the
cache headers. No metric is computed here.
"""
from __future__ import annotations

from dataclasses import replace
from functools import partial

import orjson
from flask import Blueprint, Flask, Response, current_app, g, request
from werkzeug.routing import Map, Rule

from app import (answers, cursors, downloads, http_cache, learner_assignments, learners, openapi, params, problems,
                 queries, refresh_trigger)
from app.auth import Scope, parse_api_keys, verify_bearer
from app.extensions import get_settings, get_store
from app.problems import API_PREFIX, Problem
from app.store import Snapshot
from app.views import NoSnapshot, NoTenantData, TenantView, resolve

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
problems.register(blueprint)
STATUS_URL = "/api/v1/refresh/status"


def _snapshot() -> Snapshot | None:
    """The request's one snapshot: taken from the store on first use, then kept to the end."""
    if "dataviz_snapshot" not in g:
        g.dataviz_snapshot = get_store(current_app).current()
    return g.dataviz_snapshot


def _no_snapshot() -> Problem:
    return Problem(503, "no snapshot is loaded yet; retry after the first refresh", headers={"Retry-After": "60"})


def _live_snapshot() -> Snapshot:
    snapshot = _snapshot()
    if snapshot is None:
        raise _no_snapshot()
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


def _tenant_view(route: str, tenant: str) -> tuple[TenantView, dict]:
    """The view of ``tenant`` this request asks for, and the route's parsed parameters.

    Credential (401, 403), parameters (400), snapshot (503), tenant (404),
    range (400), locked filters (403): in that order, so a credential for
    another tenant learns nothing, not even whether that tenant exists.
    """
    scope = _scope()
    scope.check_tenant(tenant)
    route_params = params.ROUTES.get(route, ())
    values = params.parse(request.args, route_params)
    if params.FORMAT_OR_DOWNLOAD in route_params:
        values["download"] = params.take_download(values)
    ranged = params.FROM in route_params
    try:
        view = resolve(scope, _snapshot(), tenant, filters=params.filters(values) if ranged else None,
                       dates=(lambda s: params.date_range(values, queries.default_range(s))) if ranged else None)
    except NoSnapshot:
        raise _no_snapshot() from None
    except NoTenantData as exc:
        raise Problem(404, f"tenant {exc.tenant!r} has no data in snapshot {exc.version}") from None
    return view, values


def _head(view: TenantView, **members) -> dict:
    """tenant and its time zone (every date of the answer is local to it), the route's own parameters,
    range and effective filters, snapshot, data_as_of."""
    head = {"tenant": view.tenant, "timezone": view.timezone, **members}
    if view.start is not None:
        head.update({"from": view.start, "to": view.end,
                     "filters": {dim: list(v) for dim, v in view.filters.items()}})
    head.update({"snapshot": view.snapshot.version, "data_as_of": view.snapshot.data_as_of})
    return head


@blueprint.get("/tenants/<tenant>/kpis")
def kpis(tenant: str):
    view, values = _tenant_view("kpis", tenant)
    compare = values["compare"]

    def build() -> dict:
        body = _head(view) | {"metrics": orjson.Fragment(answers.raw(view, "kpis"))}
        if compare == "previous":
            start, end = queries.previous_range(view.start, view.end)
            body["previous"] = {"from": start, "to": end,
                                "metrics": orjson.Fragment(answers.raw(view.over(start, end), "kpis"))}
        return body

    return http_cache.respond(view, "kpis", (compare,) if compare else (), build)


@blueprint.get("/tenants/<tenant>/timeseries")
def timeseries(tenant: str):
    view, values = _tenant_view("timeseries", tenant)
    metric, granularity = values["metric"], values["granularity"]

    def build() -> dict:
        points = orjson.Fragment(answers.raw(view, "timeseries", metric, granularity))
        return _head(view, metric=metric, granularity=granularity) | {"points": points}

    return http_cache.respond(view, "timeseries", (metric, granularity), build)


@blueprint.get("/tenants/<tenant>/breakdown")
def breakdown(tenant: str):
    view, values = _tenant_view("breakdown", tenant)
    metric, by = values["metric"], values["by"]
    limit = values["limit"] or queries.DEFAULT_LIMIT

    def build() -> dict:
        rows = orjson.Fragment(answers.raw(view, "breakdown", metric, by, limit))
        return _head(view, metric=metric, by=by, limit=limit) | {"rows": rows}

    return http_cache.respond(view, "breakdown", (metric, by, limit), build)


@blueprint.get("/tenants/<tenant>/heatmap")
def heatmap(tenant: str):
    view, _ = _tenant_view("heatmap", tenant)
    return http_cache.respond(view, "heatmap", (),
                              lambda: _head(view) | {"cells": orjson.Fragment(answers.raw(view, "heatmap"))})


@blueprint.get("/tenants/<tenant>/filters")
def filters(tenant: str):
    view, _ = _tenant_view("filters", tenant)

    def build() -> dict:
        return _head(view) | {"filters": answers.offered_filter_values(view)}

    return http_cache.respond(view, "filters", (), build)


SNAPSHOT_CHANGED = ("urn:dataviz:problem:snapshot-changed", "The snapshot changed")


@blueprint.get("/tenants/<tenant>/learners")
def learner_list(tenant: str):
    """A page of learner rows, or with ``format`` the whole list as a file (docs/api.md, learners)."""
    view, values = _tenant_view("learners", tenant)
    view.scope.check_learners()
    cohort = values["cohort"] or learners.DEFAULT_COHORT
    sort = values["sort"] or learners.DEFAULT_SORT
    try:
        order = learners.check_list(view.snapshot, view.tenant, cohort, sort, values["order"])
    except learner_assignments.NoAssignments as exc:
        raise problems.invalid([("cohort", str(exc))]) from None
    if values["download"]:
        return _download(view, values["download"], cohort, sort, order, values)
    limit = values["limit"] or learners.DEFAULT_LIMIT
    query_key = answers.key(view, "learner-list", cohort, sort, order)
    after = None
    if values["cursor"]:
        try:
            after = cursors.decode(values["cursor"], view.snapshot.version, query_key)
        except cursors.CursorError as exc:
            if exc.snapshot_changed:
                raise Problem(409, f"cursor {exc}", type_=SNAPSHOT_CHANGED) from None
            raise problems.invalid([("cursor", str(exc))]) from None

    def build() -> dict:
        page = answers.learner_page(view, cohort, sort, order, limit, after)
        position = page["next"]
        next_cursor = None if position is None else cursors.encode(view.snapshot.version, query_key,
                                                                   learners.Position(*position))
        return _head(view, cohort=cohort, sort=sort, order=order, limit=limit) | {
            "total": page["total"], "learners": page["learners"], "next_cursor": next_cursor}

    return http_cache.respond(view, "learners", (cohort, sort, order, limit, values["cursor"]), build)


def _download(view: TenantView, file_format: str, cohort: str, sort: str, order: str, values: dict) -> Response:
    """The whole list as a CSV or XLSX file, streamed; a page's ``limit`` and ``cursor`` do not apply."""
    extra = [(name, "does not apply to a download (format): it is the whole list") for name in ("limit", "cursor")
             if values[name]]
    if extra:
        raise problems.invalid(extra)
    etag, cache_headers = http_cache.headers(view, "learners-file", (file_format, cohort, sort, order))
    unchanged = http_cache.not_modified(etag, cache_headers)
    if unchanged:
        return unchanged
    chunks = learners.learner_chunks(view.snapshot, view.tenant, view.start, view.end, view.filters, cohort, sort,
                                     order)
    write = downloads.csv_stream if file_format == "csv" else downloads.xlsx_stream
    name = f"learners-{view.tenant}-{view.start}-{view.end}.{file_format}"  # tenant ids are [A-Za-z0-9_.-]
    return Response(write(learners.COLUMNS, chunks), mimetype=downloads.MEDIA_TYPES[file_format],
                    headers={**cache_headers, "Content-Disposition": f'attachment; filename="{name}"'})


@blueprint.get("/tenants/<tenant>/learners/<user_id>")
def learner(tenant: str, user_id: str):
    """One learner's trainings; 404 for a learner the tenant does not have, or the viewer's filters exclude."""
    view, values = _tenant_view("learners/{user_id}", tenant)
    view.scope.check_learners()
    view = replace(view, filters=view.scope.narrow(params.filters(values)))
    try:
        found = answers.learner(view, user_id)
    except learners.UnknownLearner:
        raise Problem(404, f"tenant {tenant!r} has no learner {user_id[:200]!r} in this view") from None

    def build() -> dict:
        identity = {k: v for k, v in found.items() if k != "trainings"}
        return _head(view) | {"filters": {dim: list(v) for dim, v in view.filters.items()}, "learner": identity,
                              "trainings": found["trainings"]}

    return http_cache.respond(view, "learner", (user_id,), build)


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


@blueprint.delete("/tenants/<tenant>/learners/<user_id>")
def forget_learner(tenant: str, user_id: str):
    """Erasure (``etl.forget``), started like a refresh; its receipt is the next report at ``STATUS_URL``."""
    _require_admin()
    params.parse(request.args, ())
    settings = get_settings(current_app)
    if not settings.erasure_key:
        raise Problem(503, "erasure is not configured on this server (DATAVIZ_ERASURE_KEY)")
    if "\n" in user_id or "\r" in user_id:  # the id goes to ``etl forget`` as one line of its standard input
        raise Problem(400, "a user id with a line break cannot be erased through this route; use "
                           "python -m etl forget --user on the host")
    started = refresh_trigger.start_forget(settings, tenant, user_id)
    if started["status"] != "started":
        raise Problem(409, "a refresh or an erasure is running; try again once it ends (" + STATUS_URL + ")",
                      headers={"Location": STATUS_URL})
    response = _json({"status": "started", "tenant": tenant, "learners": 1, "status_url": STATUS_URL}, status=202)
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
