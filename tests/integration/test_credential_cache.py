"""Issue 13, item 4, through real varnishd (the shipped VCL) in front of real gunicorn (the app).

Before: Varnish kept every API answer 24 h (``s-maxage=86400``), so an expired
embed token and a removed API key got 401 from gunicorn and 200 HITs from Varnish.
Now a token's answers are kept only until its ``exp`` (no grace), and each
answer carries the xkey ``cred-<subject>`` that revoking a key purges.
"""
from __future__ import annotations

import hashlib
import http.client
import time

import pytest

from app.auth import mint_token
from tests.support import services

pytestmark = pytest.mark.services
EMBED = "cred-cache-embed-secret-0123456789abcdefgh"
KEY = "cred-cache-reader-key-0123456789abcdef"


@pytest.fixture(scope="module")
def stack(service_logs, generated_snapshot_dir, snapshot, tmp_path_factory):
    tenant = sorted(snapshot.tenants)[0]
    env = {"DATAVIZ_SNAPSHOT_DIR": str(generated_snapshot_dir),
           "DATAVIZ_CACHE_DIR": str(tmp_path_factory.mktemp("cred-cache")), "DATAVIZ_EMBED_SECRET": EMBED,
           "DATAVIZ_API_KEYS": f"{KEY}:*"}
    web = services.start_gunicorn(service_logs, env, workers=1)
    proxy = services.start_varnish(service_logs, web.port)
    yield proxy, tenant
    proxy.stop()
    web.stop()


def get(port: int, path: str, credential: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {credential}"})
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("X-Cache", "")
    finally:
        conn.close()


def purge(port: int, tag: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("PURGE", "/", headers={"xkey-purge": tag, "X-Purge-Token": services.SUITE_PURGE_TOKEN})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_cred001_an_expired_tokens_answer_is_not_a_hit_after_exp(stack):
    proxy, tenant = stack
    token = mint_token(EMBED, tenant, ttl_seconds=4)
    exp = time.time() + 4
    path = f"/api/v1/tenants/{tenant}/kpis?from=2026-10-01&to=2026-10-31"
    assert get(proxy.port, path, token) == (200, "MISS")
    assert get(proxy.port, path, token) == (200, "HIT")  # Varnish still serves most reads
    time.sleep(max(0.0, exp - time.time()) + 1.5)
    status, cache = get(proxy.port, path, token)
    assert cache != "HIT"  # asked of gunicorn again (which still has its 30 s leeway)
    time.sleep(max(0.0, exp + 31 - time.time()))
    assert get(proxy.port, path, token)[0] == 401


def test_cred002_revoking_an_api_key_purges_its_answers_by_its_credential_tag(stack):
    proxy, tenant = stack
    path = f"/api/v1/tenants/{tenant}/heatmap?from=2026-10-01&to=2026-10-31"
    assert get(proxy.port, path, KEY) == (200, "MISS")
    assert get(proxy.port, path, KEY) == (200, "HIT")
    tag = "cred-key-" + hashlib.sha256(KEY.encode()).hexdigest()[:12]  # as docs/security.md tells operators
    assert purge(proxy.port, tag) == 200
    assert get(proxy.port, path, KEY) == (200, "MISS")
