"""Issue 13, item 12 (app side) and the readiness of a configured Redis.

Before: every invented HTTP method added a Prometheus series; ``/readyz``
said ``ready`` while the configured Redis was down, until a data request failed.
"""
from __future__ import annotations

from tests.support import services
from tests.support.apps import make_app


def test_bounded001_invented_methods_share_one_label(server):
    client = server.test_client()
    client.get("/healthz")
    for n in range(20):
        client.open("/healthz", method=f"INVENTED{n}")
    text = client.get("/metrics").get_data(as_text=True)
    assert "INVENTED" not in text
    assert 'method="other"' in text
    assert 'method="GET"' in text


def test_ready001_readyz_says_the_cache_is_down_before_any_data_request(generated_snapshot_dir, tenants, tmp_path):
    closed = services.free_port()
    client = make_app(generated_snapshot_dir, tmp_path / "cache", tenants,
                      cache_redis_url=f"redis://127.0.0.1:{closed}/0").server.test_client()
    body = client.get("/readyz").get_json()
    assert body["status"] == "degraded" and body["app_cache"] == "down", body
    assert any("app cache (redis) unavailable" in w for w in body["warnings"])


def test_ready002_a_reachable_cache_is_ready(server):
    body = server.test_client().get("/readyz").get_json()
    assert body["status"] == "ready" and body["app_cache"] == "up", body
