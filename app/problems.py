"""RFC 9457 problem details for every error the JSON API answers.

Routes raise ``Problem``; the handlers registered here turn it, credential
and query errors, Werkzeug's HTTP errors (404 unknown route, 405 wrong
method...) and any unexpected exception into ``application/problem+json``, so
an integrator always gets the same shape and never a stack trace. They only
apply under ``/api/``: the Dash pages keep Flask's and Dash's own errors.
"""
from __future__ import annotations

import logging
from http import HTTPStatus

import orjson
from flask import Blueprint, Flask, Response, request
from werkzeug.exceptions import HTTPException

from app.auth import AuthError
from app.queries import QueryError

log = logging.getLogger("dataviz.api")
API_PREFIX = "/api/"
MEDIA_TYPE = "application/problem+json"


class Problem(Exception):
    """An error answer: HTTP status, a human ``detail`` and, for 400, the parameters at fault."""

    def __init__(self, status: int, detail: str, invalid_params: list[dict] | None = None,
                 headers: dict | None = None, type_: tuple[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.invalid_params = invalid_params or []
        self.headers = headers or {}
        self.type = type_  # (type URI, title) when the status alone does not say what happened


def invalid(params: list[tuple[str, str]]) -> Problem:
    """A 400 naming each invalid parameter with its reason."""
    names = ", ".join(dict.fromkeys(name for name, _ in params))
    return Problem(400, f"invalid query parameter(s): {names}",
                   [{"name": name, "reason": reason} for name, reason in params])


def problem_response(status: int, detail: str, invalid_params: list[dict] | None = None,
                     headers: dict | None = None, type_: tuple[str, str] | None = None) -> Response:
    """``type`` is ``about:blank`` (the status says it all, so ``title`` is the status phrase), unless ``type_``
    gives a type URI and its title."""
    uri, title = type_ or ("about:blank", HTTPStatus(status).phrase)
    body = {"type": uri, "title": title, "status": status, "detail": detail}
    if invalid_params:
        body["invalid_params"] = invalid_params
    response = Response(orjson.dumps(body), status=status, mimetype=MEDIA_TYPE)
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _from_problem(exc: Problem) -> Response:
    return problem_response(exc.status, exc.detail, exc.invalid_params, exc.headers, exc.type)


def _from_query(exc: QueryError) -> Response:
    """The query layer refusing a question the validator let through is still the client's question."""
    return problem_response(400, str(exc))


def _from_auth(exc: AuthError) -> Response:
    headers = {"WWW-Authenticate": 'Bearer realm="dataviz"'} if exc.status == 401 else {}
    return problem_response(exc.status, exc.detail, headers=headers)


def _from_http(exc: HTTPException):
    """Werkzeug's errors under /api/ as problems (keeping ``Allow`` on 405); elsewhere untouched."""
    if not request.path.startswith(API_PREFIX) or exc.code is None or exc.code < 400:
        return exc
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    detail = {404: f"no API route {request.path}",
              405: f"{request.method} is not allowed on {request.path}"}.get(exc.code, exc.description)
    return problem_response(exc.code, detail, headers=headers)


def _unexpected(exc: Exception) -> Response:
    """A bug, not bad input: logged with its traceback, answered without internals."""
    log.exception("unexpected error on %s %s", request.method, request.path)
    return problem_response(500, "the server failed to answer this request; it has been logged")


def register(blueprint: Blueprint) -> None:
    """Handlers for what the API's views raise (before the blueprint is registered on any app)."""
    blueprint.register_error_handler(Problem, _from_problem)
    blueprint.register_error_handler(AuthError, _from_auth)
    blueprint.register_error_handler(QueryError, _from_query)
    blueprint.register_error_handler(HTTPException, _from_http)
    blueprint.register_error_handler(Exception, _unexpected)


def init_app(server: Flask) -> None:
    """Routing errors (404, 405) and Flask's own 500 happen outside any view: handled app-wide, for /api/ only."""
    server.register_error_handler(HTTPException, _from_http)
