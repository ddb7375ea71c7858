"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json.

Query parameters come from ``app.params`` (the validator's own definitions),
so the document cannot drift from what the API accepts; response schemas are
written here, next to nothing else, and the tests check real responses
against them.
"""
from __future__ import annotations

from functools import lru_cache

from app import catalog, downloads, learners, params, queries

NUMBER = {"type": ["number", "null"]}
COUNT_OR_NULL = {"type": ["integer", "null"], "minimum": 0}
DATE = {"type": "string", "format": "date"}


def metric_schema(metric: catalog.Metric) -> dict:
    """A metric's value as the API writes it: a count, a share between 0 and 1, or any number; null allowed."""
    if metric.counted:
        schema = dict(COUNT_OR_NULL)
    elif metric.number_format == catalog.PERCENT:
        schema = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
    else:
        schema = dict(NUMBER)
    if metric.without_training:
        schema["description"] = "null when a training-side filter is set"
    return schema


METRICS_OBJECT = {
    "type": "object",
    "required": list(queries.METRICS),
    "additionalProperties": False,
    "properties": {m.name: metric_schema(m) for m in catalog.METRICS},
}
VALUE = {"type": ["number", "null"]}
FILTER_MAP = {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
              "description": "the filters applied: the request's within the credential's locked ones"}


def _envelope(properties: dict, ranged: bool = True) -> dict:
    """The common head of every tenant answer, then the route's own members (all required)."""
    props = {"tenant": {"type": "string"},
             "timezone": {"type": "string", "description": "the tenant's IANA time zone (tenants.csv; UTC when "
                                                           "absent): every date and hour of the answer is local to it",
                          "examples": ["Europe/Paris"]}}
    if ranged:
        props.update({"from": DATE, "to": DATE, "filters": FILTER_MAP})
    props.update({"snapshot": {"type": "string"}, "data_as_of": DATE}, **properties)
    return {"type": "object", "required": list(props), "properties": props}


KPIS = _envelope({
    "metrics": METRICS_OBJECT,
    "previous": {"type": "object", "required": ["from", "to", "metrics"],
                 "properties": {"from": DATE, "to": DATE, "metrics": METRICS_OBJECT}},
})
KPIS["required"].remove("previous")  # only with compare=previous
TIMESERIES = _envelope({
    "metric": {"type": "string", "enum": list(queries.METRICS)},
    "granularity": {"type": "string", "enum": list(queries.GRANULARITIES)},
    "points": {"type": "array", "items": {"type": "object", "required": ["period", "value"],
                                          "properties": {"period": DATE, "value": VALUE}}},
})
BREAKDOWN = _envelope({
    "metric": {"type": "string", "enum": list(queries.METRICS)},
    "by": {"type": "string", "enum": list(queries.DIMENSIONS)},
    "limit": {"type": "integer", "minimum": 1, "maximum": queries.MAX_LIMIT},
    "rows": {"type": "array", "maxItems": queries.MAX_LIMIT,
             "items": {"type": "object", "required": ["key", "label", "value"],
                       "properties": {"key": {"type": "string"}, "label": {"type": "string"}, "value": VALUE}}},
})
HEATMAP = _envelope({
    "cells": {"type": "array", "minItems": 168, "maxItems": 168,
              "items": {"type": "object", "required": ["weekday", "hour", "value"],
                        "properties": {"weekday": {"type": "integer", "minimum": 0, "maximum": 6},
                                       "hour": {"type": "integer", "minimum": 0, "maximum": 23},
                                       "value": COUNT_OR_NULL}}},
})
FILTER_VALUES = _envelope(ranged=False, properties={
    "filters": {"type": "object", "required": list(queries.DIMENSIONS),
                "properties": {dim: {"type": "array", "items": {
                    "type": "object", "required": ["key", "label"],
                    "properties": {"key": {"type": "string"}, "label": {"type": "string"}}}}
                    for dim in queries.DIMENSIONS}},
})
_LEARNER_TYPES = {"user_id": {"type": "string"}, "name": {"type": "string"},
                  **{dim: {"type": "string"} for dim in catalog.USER_DIMENSIONS},
                  **{m: metric_schema(catalog.METRIC[m]) for m in learners.METRIC_COLUMNS},
                  "last_activity": {"type": ["string", "null"], "format": "date"},
                  **{c: {"type": ["integer", "null"], "minimum": 0,
                         "description": "null: the tenant has no assignments"} for c in learners.ASSIGNMENT_COLUMNS}}
LEARNER_ROW = {"type": "object", "required": list(learners.COLUMNS), "additionalProperties": False,
               "properties": {c: _LEARNER_TYPES[c] for c in learners.COLUMNS}}
LEARNER_PAGE = _envelope({
    "cohort": {"type": "string", "enum": list(learners.COHORTS)},
    "sort": {"type": "string", "enum": list(learners.COLUMNS)},
    "order": {"type": "string", "enum": list(learners.ORDERS)},
    "limit": {"type": "integer", "minimum": 1, "maximum": learners.MAX_LIMIT},
    "total": {"type": "integer", "minimum": 0, "description": "learners in the whole list"},
    "learners": {"type": "array", "maxItems": learners.MAX_LIMIT, "items": LEARNER_ROW},
    "next_cursor": {"type": ["string", "null"], "description": "the next page's cursor; null on the last page"},
})
DATE_OR_NULL = {"type": ["string", "null"], "format": "date"}
TRAINING_ROW = {"type": "object", "required": list(learners.TRAINING_COLUMNS), "properties": {
    "training_id": {"type": "string"}, "title": {"type": "string"}, "category": {"type": "string"},
    "format": {"type": "string"}, "status": {"type": "string", "enum": ["completed", "in_progress", "not_started"]},
    "enrolled_on": DATE_OR_NULL, "started_on": DATE_OR_NULL, "completed_on": DATE_OR_NULL,
    "on_time": {"type": ["boolean", "null"]}, "overdue": {"type": "boolean"}, "score": NUMBER,
    "learning_hours": {"type": "number", "minimum": 0}, "assigned_on": DATE_OR_NULL, "due_on": DATE_OR_NULL}}
LEARNER = _envelope(ranged=False, properties={
    "filters": FILTER_MAP,
    "learner": {"type": "object", "required": ["user_id", "name", *catalog.USER_DIMENSIONS],
                "properties": {c: _LEARNER_TYPES[c] for c in ("user_id", "name", *catalog.USER_DIMENSIONS)}},
    "trainings": {"type": "array", "items": TRAINING_ROW},
})
META = {"type": "object", "required": ["version", "data_as_of", "created_at", "source_export", "rows", "tenants"],
        "properties": {"version": {"type": "string"}, "data_as_of": DATE, "created_at": {"type": "string"},
                       "source_export": {"type": "object"}, "rows": {"type": "object"},
                       "tenants": {"type": "integer", "minimum": 0}}}
REFRESH_STARTED = {"type": "object", "required": ["status", "status_url"],
                   "properties": {"status": {"const": "started"}, "status_url": {"type": "string"}}}
ERASURE_STARTED = {"type": "object", "required": ["status", "tenant", "learners", "status_url"],
                   "properties": {"status": {"const": "started"}, "tenant": {"type": "string"},
                                  "learners": {"type": "integer"}, "status_url": {"type": "string"}}}
REFRESH_STATUS = {"type": "object", "required": ["running", "last_report"],
                  "properties": {"running": {"type": ["boolean", "null"],
                                             "description": "null when the server cannot tell"},
                                 "last_report": {"type": ["object", "null"]}}}
PROBLEM = {
    "type": "object", "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"},
        "invalid_params": {"type": "array", "items": {
            "type": "object", "required": ["name", "reason"],
            "properties": {"name": {"type": "string"}, "reason": {"type": "string"}}}},
    },
}
CACHE_HEADERS = {
    "ETag": "Strong validator of this answer: snapshot, query and credential scope.",
    "Cache-Control": "public, max-age=60, s-maxage=86400",
    "xkey": "Purge keys: tenant-<id> snapshot-<version>.",
    "X-Dataviz-Snapshot": "The snapshot version that answered.",
}
ERRORS = {
    "400": "A query parameter is invalid; `invalid_params` names each one.",
    "401": "No credential, or a bad or expired one.",
    "403": "The credential does not cover this tenant, or asks to widen a locked filter.",
    "403-learners": "The credential does not cover this tenant, asks to widen a locked filter, or is an embed "
                    "token without `\"learners\": true`.",
    "404": "No data for this tenant in the live snapshot (all-tenant credentials only).",
    "404-learner": "No data for this tenant in the live snapshot, or no such learner in this view.",
    "409": "The cursor was issued for an older snapshot (`type` urn:dataviz:problem:snapshot-changed): start "
           "again from the first page.",
    "503": "No snapshot is loaded yet.",
}


def _problems(*codes: str) -> dict:
    """Problem answers, by status; ``"403-learners"`` is status 403 with its own description."""
    return {code.split("-")[0]: {"description": ERRORS[code],
                                 "content": {"application/problem+json": {"schema": PROBLEM}}} for code in codes}


def _json(schema: dict, description: str, headers: dict | None = None) -> dict:
    out = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        out["headers"] = {name: {"description": text, "required": True, "schema": {"type": "string"}}
                          for name, text in headers.items()}
    return out


def _query(p: params.Param) -> dict:
    schema = {"type": "array", "items": p.schema} if p.repeatable else p.schema
    return {"name": p.name, "in": "query", "required": p.required, "description": p.description,
            "schema": schema, **({"style": "form", "explode": True} if p.repeatable else {})}


TENANT = {"name": "tenant", "in": "path", "required": True, "description": "The tenant id, exactly as in the LMS.",
          "schema": {"type": "string", "minLength": 1, "maxLength": 64}}


def _tenant_route(route: str, summary: str, schema: dict) -> dict:
    return {"get": {
        "operationId": route, "summary": summary, "tags": ["data"],
        "parameters": [TENANT, *(_query(p) for p in params.ROUTES.get(route, ()))],
        "responses": {"200": _json(schema, summary, CACHE_HEADERS),
                      "304": {"description": "Not modified: `If-None-Match` matched the ETag."},
                      **_problems("400", "401", "403", "404", "503")},
    }}


USER_ID = {"name": "user_id", "in": "path", "required": True, "description": "The learner's user_id in the LMS.",
           "schema": {"type": "string", "minLength": 1}}
DOWNLOAD_HEADERS = {"Content-Disposition": {"description": "With format=csv or xlsx: `attachment; filename=...`",
                                            "schema": {"type": "string"}}}


def _learner_routes() -> dict:
    """The learner list (a page, or a file with format=csv or xlsx) and one learner's trainings."""
    page = _tenant_route("learners", "Learner rows: a page, or the whole list as a file", LEARNER_PAGE)["get"]
    ok = page["responses"]["200"]
    ok["content"] |= {media.split(";")[0]: {"schema": {"type": "string"}} for media in downloads.MEDIA_TYPES.values()}
    ok["headers"] |= DOWNLOAD_HEADERS
    page["responses"] |= _problems("403-learners", "409")
    one = _tenant_route("learners/{user_id}", "One learner's trainings", LEARNER)["get"]
    one["parameters"].insert(1, USER_ID)
    one["responses"] |= _problems("403-learners", "404-learner")
    return {"/api/v1/tenants/{tenant}/learners": {"get": page},
            "/api/v1/tenants/{tenant}/learners/{user_id}": {"get": {**one, "operationId": "learner"},
                                                            "delete": _erasure()}}


def _erasure() -> dict:
    """Erasure of one learner, started like a refresh (admin API key)."""
    return {
        "operationId": "forgetLearner", "tags": ["admin"],
        "summary": "Erase a learner everywhere (admin API key), as python -m etl forget",
        "description": "Starts the erasure like a refresh; its receipt (no user id) is the next report "
                       "at /api/v1/refresh/status. See docs/api.md.",
        "parameters": [TENANT, USER_ID],
        "responses": {
            "202": {**_json(ERASURE_STARTED, "Started"),
                    "headers": {"Location": {"description": "Where to follow it", "required": True,
                                             "schema": {"type": "string"}}}},
            "409": {"description": "A refresh or an erasure is running.",
                    "content": {"application/problem+json": {"schema": PROBLEM}}},
            **_problems("400", "401"),
            "403": {"description": "Not an admin API key.",
                    "content": {"application/problem+json": {"schema": PROBLEM}}},
            "503": {"description": "Erasure is not configured (DATAVIZ_ERASURE_KEY).",
                    "content": {"application/problem+json": {"schema": PROBLEM}}}}}


@lru_cache(maxsize=1)
def document() -> dict:
    """The whole document (built once; it only depends on the code)."""
    tenant = "/api/v1/tenants/{tenant}"
    return {
        "openapi": "3.1.0",
        "info": {"title": "Dataviz learning analytics API", "version": "1.0.0",
                 "description": "Metrics of one LMS tenant, computed from the nightly export. See docs/api.md."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {
            "type": "http", "scheme": "bearer",
            "description": "An API key, or an embed token (HS256 JWT) issued by the LMS."}}},
        "paths": {
            f"{tenant}/kpis": _tenant_route("kpis", "Every metric over the range", KPIS),
            f"{tenant}/timeseries": _tenant_route("timeseries", "One metric, one point per period", TIMESERIES),
            f"{tenant}/breakdown": _tenant_route("breakdown", "One metric by the values of a dimension", BREAKDOWN),
            f"{tenant}/heatmap": _tenant_route("heatmap", "Connections by local weekday and hour", HEATMAP),
            f"{tenant}/filters": _tenant_route("filters", "The values each filter can take", FILTER_VALUES),
            **_learner_routes(),
            "/api/v1/meta": {"get": {
                "operationId": "meta", "summary": "The live snapshot", "tags": ["service"],
                "responses": {"200": _json(META, "The live snapshot"), **_problems("400", "401", "503")}}},
            "/api/v1/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document", "tags": ["service"], "security": [],
                "responses": {"200": _json({"type": "object"}, "This document"), **_problems("400")}}},
            "/api/v1/refresh": {"post": {
                "operationId": "refresh", "summary": "Start a refresh (admin API key)", "tags": ["admin"],
                "responses": {
                    "202": {**_json(REFRESH_STARTED, "Started"),
                            "headers": {"Location": {"description": "Where to follow it", "required": True,
                                                     "schema": {"type": "string"}}}},
                    "409": {"description": "A refresh is already running.",
                            "content": {"application/problem+json": {"schema": PROBLEM}}},
                    **_problems("400", "401"),
                    "403": {"description": "Not an admin API key.",
                            "content": {"application/problem+json": {"schema": PROBLEM}}}}}},
            "/api/v1/refresh/status": {"get": {
                "operationId": "refreshStatus", "summary": "Whether a refresh runs, and the last report",
                "tags": ["admin"],
                "responses": {"200": _json(REFRESH_STATUS, "Refresh status"), **_problems("400", "401"),
                              "403": {"description": "Not an admin API key.",
                                      "content": {"application/problem+json": {"schema": PROBLEM}}}}}},
        },
    }
