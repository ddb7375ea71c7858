"""deploy/varnish/default.vcl on a real varnishd, in front of a tiny counting backend.

The backend stands in for the web app so that each VCL rule is checked on its
own (what is cached, what passes, the cache key, PURGE/BAN and their ACL);
tests/integration/test_refresh_chain.py runs the same VCL in front of gunicorn.
"""
from __future__ import annotations

import http.client
import json
import time

import pytest

from etl import purge as purging
from tests.support import services
from tests.support.varnish_backend import Backend

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def varnish_service(service_logs):
    backend = Backend()
    proxy = services.start_varnish(service_logs, backend.server_address[1])
    yield proxy, backend
    proxy.stop()
    backend.shutdown()


@pytest.fixture()
def varnish(varnish_service):
    """Varnish as every test starts it: its cache empty (a BAN on every URL), the backend's counts at zero."""
    proxy, backend = varnish_service
    assert request(proxy.port, "BAN", "/", {"X-Ban-Url": "."})[0] == 200
    backend.hits.clear()
    return proxy, backend


def request(port: int, method: str, path: str, headers: dict | None = None, source: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def get(varnish, path: str, key: str | None = "k1"):
    proxy, _ = varnish
    return request(proxy.port, "GET", path, {"Authorization": f"Bearer {key}"} if key else {})


def test_vcl001_api_cached_per_credential(varnish):
    _, backend = varnish
    path = "/api/v1/tenants/acme/kpis?from=2026-10-01"
    first, second = get(varnish, path), get(varnish, path)
    assert (first[0], first[1]["X-Cache"], second[1]["X-Cache"]) == (200, "MISS", "HIT")
    assert first[2] == second[2] and backend.hits[path] == 1
    assert "xkey" not in {h.lower() for h in second[1]}  # purge keys stay inside
    other = get(varnish, path, key="k2")  # another credential never reads k1's entry
    assert other[1]["X-Cache"] == "MISS" and json.loads(other[2])["auth"] == "Bearer k2"
    assert backend.hits[path] == 2


def test_vcl002_what_passes(varnish):
    proxy, backend = varnish
    for path in ("/api/v1/meta", "/api/v1/tenants/missing/kpis", "/?token=abc", "/explore"):
        for _ in range(2):
            status, headers, _ = get(varnish, path)
            assert headers["X-Cache"] == "MISS", path
        assert backend.hits[path] == 2, path
    for _ in range(2):
        assert request(proxy.port, "POST", "/_dash-update-component")[0] == 200
    assert backend.hits["POST /_dash-update-component"] == 2
    # static files: one shared entry, whatever the credential
    assert get(varnish, "/assets/style.css", key="a")[1]["X-Cache"] == "MISS"
    assert get(varnish, "/assets/style.css", key="b")[1]["X-Cache"] == "HIT"
    assert get(varnish, "/_dash-component-suites/dash/x.js?v=1")[1]["X-Cache"] == "MISS"
    assert get(varnish, "/_dash-component-suites/dash/x.js?v=1", key=None)[1]["X-Cache"] == "HIT"


def test_vcl003_xkey_purge_and_ban_from_the_acl_only(varnish):
    proxy, backend = varnish
    a, b = "/api/v1/tenants/a/kpis", "/api/v1/tenants/b/kpis"
    for path in (a, b):
        get(varnish, path)
        get(varnish, path, key="k2")
        assert get(varnish, path)[1]["X-Cache"] == "HIT"
    # from another loopback address, outside the ACL
    assert request(proxy.port, "PURGE", "/", {"xkey-purge": "tenant-a"}, source="127.0.0.2")[0] == 403
    assert request(proxy.port, "BAN", "/", {"X-Ban-Url": "."}, source="127.0.0.2")[0] == 403
    assert get(varnish, a)[1]["X-Cache"] == "HIT"

    status, headers, _ = request(proxy.port, "PURGE", "/", {"xkey-purge": "tenant-a tenant-zzz"})
    assert (status, headers["X-Purged"]) == (200, "2")  # both credentials' entries of tenant a
    assert get(varnish, a)[1]["X-Cache"] == "MISS"
    assert get(varnish, b)[1]["X-Cache"] == "HIT"

    assert request(proxy.port, "BAN", "/", {"X-Ban-Url": "^/api/v1/tenants/b/"})[0] == 200
    assert get(varnish, b)[1]["X-Cache"] == "MISS"


def test_purge001_retries_then_pending_then_sent(varnish, tmp_path):
    proxy, _ = varnish
    path = "/api/v1/tenants/c/kpis"
    get(varnish, path)
    dead = f"http://127.0.0.1:{services.free_port()}"  # nothing listens there
    started = time.monotonic()
    report = purging.purge(tmp_path, (proxy.url, dead), ["tenant-c"], attempts=3, backoff=0.1)
    assert time.monotonic() - started >= 0.3  # 0.1 then 0.2 of backoff
    by_url = {h["url"]: h for h in report["hosts"]}
    assert by_url[proxy.url]["ok"] and by_url[proxy.url]["purged"] == 1
    assert not by_url[dead]["ok"] and by_url[dead]["attempts"] == 3 and "Connection refused" in by_url[dead]["error"]
    assert report["pending"] == {dead: 1}
    assert purging.load_pending(tmp_path)[dead]["keys"] == ["tenant-c"]

    # the next tick retries what is pending, with the new keys, and forgets hosts no longer configured
    get(varnish, path)
    report = purging.purge(tmp_path, (proxy.url,), [])
    assert report["hosts"] == [] and report["pending"] == {}
    assert not (tmp_path / purging.PENDING_FILE).exists()
    report = purging.purge(tmp_path, (dead,), ["tenant-d"], attempts=1)
    assert report["pending"] == {dead: 1}
    pending = purging.load_pending(tmp_path)
    pending[proxy.url] = pending.pop(dead)  # as if the host came back under this URL
    (tmp_path / purging.PENDING_FILE).write_text(json.dumps(pending))
    get(varnish, "/api/v1/tenants/d/kpis")
    report = purging.purge(tmp_path, (proxy.url,), [])
    assert report["hosts"][0]["ok"] and report["hosts"][0]["purged"] == 1 and report["pending"] == {}
