"""HTTP caching of the API's data answers: ETag and 304, and the headers for Varnish and browsers.

The ETag is the hash of the answer key (``app.answers.key``: snapshot version,
tenant, range, effective filters, query and arguments, the scope's cache key),
so it changes exactly when the answer can, and a new snapshot invalidates it
by construction. A 304 is decided before any answer is computed or looked up.

A cached answer never outlives the credential that fetched it: a token's
answers are kept by Varnish (and browsers) only until its ``exp``, with no
grace, and every answer carries the xkey ``cred-<subject>`` so that removing
an API key can purge its answers at once (docs/security.md, "Revoking a credential").
"""
from __future__ import annotations

import time
from typing import Callable

import orjson
from flask import Response, request

from app import answers
from app.auth import Scope
from app.views import TenantView

BROWSER_SECONDS = 60
SHARED_SECONDS = 86400  # Varnish keeps an answer until a refresh purges it, a day at most
CACHE_CONTROL = f"public, max-age={BROWSER_SECONDS}, s-maxage={SHARED_SECONDS}"


def cache_control(scope: Scope, now: float | None = None) -> str:
    """``CACHE_CONTROL``, bounded by a token's ``exp`` (no stale serving past it: grace 0 in Varnish)."""
    if scope.expires is None:
        return CACHE_CONTROL
    left = max(0, int(scope.expires - (time.time() if now is None else now)))
    return (f"public, max-age={min(BROWSER_SECONDS, left)}, s-maxage={min(SHARED_SECONDS, left)}, "
            "stale-while-revalidate=0")


def headers(view: TenantView, query: str, args: tuple) -> tuple[str, dict]:
    """The ETag of ``query(args)`` over ``view`` and the cache headers every data answer carries."""
    etag = answers.key(view, query, *args).rsplit(":", 1)[1]
    return etag, {"ETag": f'"{etag}"', "Cache-Control": cache_control(view.scope),
                  "xkey": f"tenant-{view.tenant} snapshot-{view.snapshot.version} {view.scope.credential_tag}"}


def not_modified(etag: str, cache_headers: dict) -> Response | None:
    """A 304 when the client already has this answer (If-None-Match compares weakly, RFC 9110; "*" included)."""
    return Response(status=304, headers=cache_headers) if request.if_none_match.contains_weak(etag) else None


def respond(view: TenantView, query: str, args: tuple, build: Callable[[], dict]) -> Response:
    """The JSON answer ``build()`` to ``query(args)`` over ``view``, or 304 when the client already has it.

    ``args`` holds primitives only (the route's options besides range and
    filters); ``build`` runs only when the answer is sent.
    """
    etag, cache_headers = headers(view, query, args)  # Vary: every API answer gets it
    return not_modified(etag, cache_headers) or Response(orjson.dumps(build()), mimetype="application/json",
                                                         headers=cache_headers)
