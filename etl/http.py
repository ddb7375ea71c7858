"""HTTP calls from the ETL to our own services (web workers, Varnish), never through a proxy.

``urllib`` honours ``http_proxy`` from the environment; a proxy meant for S3
must not carry a PURGE or a readiness poll to some other host.
"""
from __future__ import annotations

import urllib.request

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def open_url(request: urllib.request.Request | str, timeout: float):
    return _opener.open(request, timeout=timeout)
