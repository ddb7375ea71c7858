"""Liveness and readiness probes for load balancers and orchestrators."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    """The process answers: nothing more is checked."""
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz():
    """Ready once a snapshot is loaded; 503 (with the reason) before that."""
    from app import get_store

    store = get_store(current_app)
    snapshot = store.current()
    if snapshot is None:
        return jsonify(status="not ready", reason=store.problem or "no snapshot published yet"), 503
    return jsonify(status="ready", snapshot=snapshot.version, data_as_of=snapshot.manifest["data_as_of"])
