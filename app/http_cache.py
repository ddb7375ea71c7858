"""Caching of data answers: ETag and 304, headers for Varnish and browsers, memoized JSON.

One canonical description of a query (route, tenant, resolved parameters,
effective filters, the credential scope's cache key) plus the snapshot
version gives both the app cache key and the ETag, so both change exactly when
the answer can, and a new snapshot invalidates them by construction.
"""
from __future__ import annotations

from typing import Callable

import orjson
from flask import Response, current_app, request

from app.extensions import get_cache, get_settings
from app.auth import Scope
from app.cache import make_key
from app.store import Snapshot

CACHE_CONTROL = "public, max-age=60, s-maxage=86400"


def respond(snapshot: Snapshot, scope: Scope, tenant: str, query: tuple, build: Callable[[], dict]) -> Response:
    """The JSON answer ``build()`` for ``query``, or 304 when the client already has it.

    ``query`` holds primitives only (route, resolved parameters, filters):
    it is part of the cache key, and ``build`` runs only on a miss.
    """
    key = make_key("api", snapshot.version, tenant, *query, scope.cache_key())
    etag = key.rsplit(":", 1)[1]
    headers = {"ETag": f'"{etag}"', "Cache-Control": CACHE_CONTROL,
               "xkey": f"tenant-{tenant} snapshot-{snapshot.version}"}  # Vary: every API answer gets it
    if request.if_none_match.contains_weak(etag):  # If-None-Match compares weakly (RFC 9110), "*" included
        return Response(status=304, headers=headers)

    def body() -> bytes:
        return orjson.dumps(build())

    payload = get_cache(current_app).get_or_compute(key, body) if get_settings(current_app).app_cache else body()
    return Response(payload, mimetype="application/json", headers=headers)
