"""HTTP caching of the API's data answers: ETag and 304, and the headers for Varnish and browsers.

The ETag is the hash of the answer key (``app.answers.key``: snapshot version,
tenant, range, effective filters, query and arguments, the scope's cache key),
so it changes exactly when the answer can, and a new snapshot invalidates it
by construction. A 304 is decided before any answer is computed or looked up.
"""
from __future__ import annotations

from typing import Callable

import orjson
from flask import Response, request

from app import answers
from app.views import TenantView

CACHE_CONTROL = "public, max-age=60, s-maxage=86400"


def respond(view: TenantView, query: str, args: tuple, build: Callable[[], dict]) -> Response:
    """The JSON answer ``build()`` to ``query(args)`` over ``view``, or 304 when the client already has it.

    ``args`` holds primitives only (the route's options besides range and
    filters); ``build`` runs only when the answer is sent.
    """
    etag = answers.key(view, query, *args).rsplit(":", 1)[1]
    headers = {"ETag": f'"{etag}"', "Cache-Control": CACHE_CONTROL,
               "xkey": f"tenant-{view.tenant} snapshot-{view.snapshot.version}"}  # Vary: every API answer gets it
    if request.if_none_match.contains_weak(etag):  # If-None-Match compares weakly (RFC 9110), "*" included
        return Response(status=304, headers=headers)
    return Response(orjson.dumps(build()), mimetype="application/json", headers=headers)
