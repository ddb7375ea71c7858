"""ETags and 304, cache headers for Varnish, the app cache, and one snapshot per request."""
from __future__ import annotations

import hashlib

import pytest

from app.extensions import get_cache, get_store
from app.store import SnapshotStore
from etl.refresh import run_refresh
from tests.support import services
from tests.support.credentials import ALL_KEY, bearer, embed

ALL = bearer(ALL_KEY)
ALL_SUBJECT = "key-" + hashlib.sha256(ALL_KEY.encode()).hexdigest()[:12]  # the purge tag of its answers


def etag(client, path, headers=ALL) -> str:
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    return response.headers["ETag"]


def test_cache001_headers_of_data_routes(client, snapshot, tenants):
    tenant = tenants[0]
    for route in ("kpis", "timeseries?metric=starts&granularity=day", "breakdown?metric=starts&by=group",
                  "heatmap", "filters"):
        response = client.get(f"/api/v1/tenants/{tenant}/{route}", headers=ALL)
        assert response.headers["Cache-Control"] == "public, max-age=60, s-maxage=86400"
        assert response.headers["xkey"] == f"tenant-{tenant} snapshot-{snapshot.version} cred-{ALL_SUBJECT}"
        assert response.headers["Vary"] == "Authorization, Accept-Encoding"  # compressed or not (issue 12)
        assert response.headers["X-Dataviz-Snapshot"] == snapshot.version
        tag = response.headers["ETag"]
        assert tag.startswith('"') and tag.endswith('"') and not tag.startswith("W/")


def test_cache002_same_query_same_etag_and_other_queries_differ(client, tenants):
    base = f"/api/v1/tenants/{tenants[0]}/kpis"
    tag = etag(client, base)
    assert etag(client, base) == tag
    assert etag(client, base + "?from=2026-10-02&to=2026-10-31") == tag  # the defaults, spelled out
    others = {etag(client, base + "?compare=previous"), etag(client, base + "?group=Sales"),
              etag(client, f"/api/v1/tenants/{tenants[1]}/kpis"), etag(client, base + "?to=2026-10-30"),
              etag(client, f"/api/v1/tenants/{tenants[0]}/heatmap")}
    assert tag not in others and len(others) == 5


def test_cache003_etag_changes_with_the_scope(client, tenants):
    tenant = tenants[0]
    path = f"/api/v1/tenants/{tenant}/kpis?group=Sales"
    assert etag(client, path) != etag(client, f"/api/v1/tenants/{tenant}/kpis",
                                      headers=embed(tenant, filters={"group": ["Sales"]}))
    assert etag(client, path, embed(tenant)) == etag(client, path, embed(tenant, theme="dark"))


@pytest.mark.parametrize("header", ["{tag}", "W/{tag}", '"other", {tag}', "*"])
def test_cache004_if_none_match_gives_304(client, tenants, header):
    path = f"/api/v1/tenants/{tenants[2]}/breakdown?metric=completions&by=training"
    tag = etag(client, path)
    response = client.get(path, headers={**ALL, "If-None-Match": header.format(tag=tag)})
    assert response.status_code == 304 and response.data == b""
    assert response.headers["ETag"] == tag
    assert response.headers["Cache-Control"] == "public, max-age=60, s-maxage=86400"
    assert response.headers["xkey"].startswith(f"tenant-{tenants[2]} ")


def test_cache005_if_none_match_other_tag_gives_200(client, tenants):
    path = f"/api/v1/tenants/{tenants[2]}/kpis"
    response = client.get(path, headers={**ALL, "If-None-Match": '"not-it"'})
    assert response.status_code == 200 and response.get_json()["tenant"] == tenants[2]


def test_cache006_no_304_for_another_tenant_credential(client, tenants):
    path = f"/api/v1/tenants/{tenants[0]}/kpis"
    response = client.get(path, headers={**embed(tenants[1]), "If-None-Match": "*"})
    assert response.status_code == 403


def test_cache007_new_snapshot_new_etag(make_server, snapshot_copy, generated_export, tenants):
    server = make_server(snapshot_copy, snapshot_check_interval=0.0)
    client = server.test_client()
    path = f"/api/v1/tenants/{tenants[0]}/kpis?compare=previous"
    first = client.get(path, headers=ALL)
    old_tag, old_version = first.headers["ETag"], first.headers["X-Dataviz-Snapshot"]
    assert client.get(path, headers={**ALL, "If-None-Match": old_tag}).status_code == 304

    result = run_refresh(str(generated_export), snapshot_copy, force=True)
    assert result.outcome == "published" and result.version != old_version
    second = client.get(path, headers={**ALL, "If-None-Match": old_tag})
    assert second.status_code == 200
    assert second.headers["X-Dataviz-Snapshot"] == result.version
    assert second.headers["ETag"] != old_tag
    assert second.headers["xkey"] == f"tenant-{tenants[0]} snapshot-{result.version} cred-{ALL_SUBJECT}"
    assert second.get_json()["snapshot"] == result.version
    assert second.get_json()["metrics"] == first.get_json()["metrics"]  # same export, same numbers


def test_cache008_app_cache_memoizes_the_json(make_server, generated_snapshot_dir, tenants):
    server = make_server(generated_snapshot_dir)
    client, cache = server.test_client(), get_cache(server)
    path = f"/api/v1/tenants/{tenants[3]}/timeseries?metric=starts&granularity=week"
    first = client.get(path, headers=ALL)
    assert (cache.hits, cache.misses) == (0, 1)
    second = client.get(path, headers=ALL)
    assert (cache.hits, cache.misses) == (1, 1)
    assert second.data == first.data
    client.get(path, headers={**ALL, "If-None-Match": first.headers["ETag"]})
    assert (cache.hits, cache.misses) == (1, 1)  # a 304 never touches the cache


def test_cache009_app_cache_can_be_turned_off(make_server, generated_snapshot_dir, tenants):
    server = make_server(generated_snapshot_dir, app_cache=False)
    client, cache = server.test_client(), get_cache(server)
    path = f"/api/v1/tenants/{tenants[3]}/kpis"
    bodies = {client.get(path, headers=ALL).data for _ in range(2)}
    assert len(bodies) == 1 and (cache.hits, cache.misses) == (0, 0)


def test_cache010_a_broken_cache_only_costs_speed(make_server, generated_snapshot_dir, tenants):
    # a real Redis client aimed at a loopback port nobody listens on
    server = make_server(generated_snapshot_dir, cache_redis_url=f"redis://127.0.0.1:{services.free_port()}/0")
    cache = get_cache(server)
    response = server.test_client().get(f"/api/v1/tenants/{tenants[0]}/kpis", headers=ALL)
    assert response.status_code == 200 and (cache.errors, cache.bypassed) == (1, 1)  # the set is not even tried


def test_cache011_one_snapshot_per_request(make_server, generated_snapshot_dir, tenants, monkeypatch):
    server = make_server(generated_snapshot_dir, app_cache=False)
    store = get_store(server)
    calls = []
    original = SnapshotStore.current

    def counting(self):
        calls.append(1)
        return original(self)
    monkeypatch.setattr(store, "current", counting.__get__(store))
    client = server.test_client()
    client.get("/healthz")  # Dash's first-request setup evaluates the page layout (which reads the store)
    for path in (f"/api/v1/tenants/{tenants[0]}/kpis?compare=previous", "/api/v1/meta",
                 f"/api/v1/tenants/{tenants[0]}/kpis?metric=x", "/api/v1/nope"):
        calls.clear()
        client.get(path, headers=ALL)
        assert len(calls) == 1, path
