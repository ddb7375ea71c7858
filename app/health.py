"""Liveness and readiness probes for load balancers and orchestrators."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from app.extensions import get_cache, get_store

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    """The process answers: nothing more is checked."""
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz():
    """Ready once a snapshot is loaded; 503 (with the reason) before that.

    What degrades the service without stopping it is said, but keeps the
    status 200: a down app cache (answers are computed, uncached; asked
    here and now, not only when a data request meets the outage) or a
    refused live snapshot (an older one is served). Taking every worker out
    of the load balancer for either would turn slower or older into nothing.
    """
    store = get_store(current_app)
    snapshot = store.current()
    if snapshot is None:
        return jsonify(status="not ready", reason=store.problem or "no snapshot published yet"), 503
    cache = get_cache(current_app)
    cache.probe()
    warnings = []
    if store.problem:
        warnings.append(store.problem)
    if not cache.up:
        warnings.append(f"app cache ({cache.backend}) unavailable, answering uncached: {cache.last_error}")
    return jsonify(status="degraded" if warnings else "ready", snapshot=snapshot.version,
                   data_as_of=snapshot.manifest["data_as_of"], app_cache="up" if cache.up else "down",
                   warnings=warnings)
