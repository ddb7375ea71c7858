"""Prometheus exposition at /metrics, per process (the service's health figures, not learning metrics).

Request counts and latencies are recorded by request hooks; the snapshot,
refresh outcomes and app cache counters are read when Prometheus scrapes.
Each app gets its own registry, so several apps (tests) live in one process.
Under gunicorn every worker keeps its own numbers and a scrape reaches one
worker: multi-worker aggregation is not done (see docs/api.md).
"""
from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from app import refresh_trigger
from app.extensions import get_cache, get_settings, get_store

blueprint = Blueprint("prometheus", __name__)
REGISTRY_KEY = "dataviz_prometheus"
UNMATCHED = "unmatched"  # unknown paths share one label value, so they cannot blow up cardinality
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
OTHER = "other"  # any other method: an invented one no longer adds a series


class _StateCollector:
    """What the app holds, read at scrape time: live snapshot, refresh reports, app cache."""

    def __init__(self, server: Flask):
        self.server = server

    def collect(self):
        snapshot = get_store(self.server).current()
        info = GaugeMetricFamily("dataviz_snapshot_info", "The live snapshot (1), by version and data_as_of",
                                 labels=["version", "data_as_of"])
        age = GaugeMetricFamily("dataviz_snapshot_age_seconds", "Seconds since the live snapshot was created")
        if snapshot is not None:
            info.add_metric([snapshot.version, snapshot.manifest["data_as_of"]], 1)
            created = dt.datetime.fromisoformat(snapshot.manifest["created_at"])
            age.add_metric([], (dt.datetime.now(dt.timezone.utc) - created).total_seconds())
        yield info
        yield age

        root = Path(get_settings(self.server).snapshot_dir)
        outcomes = GaugeMetricFamily("dataviz_refresh_reports", "Kept refresh reports (the last 50), by outcome",
                                     labels=["outcome"])
        for outcome, count in sorted(refresh_trigger.outcome_counts(root).items()):
            outcomes.add_metric([outcome], count)
        yield outcomes
        running = refresh_trigger.refresh_running(root)
        if running is not None:
            yield GaugeMetricFamily("dataviz_refresh_running", "1 while a refresh holds the lock", value=int(running))

        cache = get_cache(self.server)
        for name, value in (("hits", cache.hits), ("misses", cache.misses), ("errors", cache.errors),
                            ("bypassed", cache.bypassed)):
            yield CounterMetricFamily(f"dataviz_app_cache_{name}", f"App cache {name}", value=value)
        yield GaugeMetricFamily("dataviz_app_cache_up", "1 while the app cache answers, 0 after a failure "
                                "(requests are answered uncached)", value=int(cache.up))
        store = get_store(self.server)
        yield GaugeMetricFamily("dataviz_snapshot_refused", "1 when the published snapshot could not be loaded "
                                "(an older one is served)", value=int(store.last_error is not None))
        if store.sync is not None:  # DATAVIZ_SNAPSHOT_URL: this worker follows the snapshots on S3
            yield GaugeMetricFamily("dataviz_snapshot_sync_failing", "1 while the last look at the snapshots on S3 "
                                    "failed (S3 unreachable, a download refused)",
                                    value=int(store.sync.last_error is not None))


class _RequestMetrics:
    def __init__(self, registry: CollectorRegistry):
        self.requests = Counter("dataviz_http_requests", "HTTP requests answered",
                                ["route", "method", "status"], registry=registry)
        self.latency = Histogram("dataviz_http_request_duration_seconds", "Time to answer, by route and status",
                                 ["route", "status"], registry=registry)


def _start_timer() -> None:
    g.dataviz_started = time.perf_counter()


def _record(response: Response) -> Response:
    started = g.pop("dataviz_started", None)
    if started is not None:
        route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
        status = str(response.status_code)
        recorder: _RequestMetrics = current_app.extensions[REGISTRY_KEY][1]
        method = request.method if request.method in METHODS else OTHER
        recorder.requests.labels(route, method, status).inc()
        recorder.latency.labels(route, status).observe(time.perf_counter() - started)
    return response


@blueprint.get("/metrics")
def exposition():
    registry, _ = current_app.extensions[REGISTRY_KEY]
    encode, content_type = choose_encoder(request.headers.get("Accept"))  # text 0.0.4 unless OpenMetrics is asked
    return Response(encode(registry), content_type=content_type)


def init_app(server: Flask) -> None:
    registry = CollectorRegistry()
    registry.register(_StateCollector(server))
    server.extensions[REGISTRY_KEY] = (registry, _RequestMetrics(registry))
    server.before_request(_start_timer)
    server.after_request(_record)
    server.register_blueprint(blueprint)
