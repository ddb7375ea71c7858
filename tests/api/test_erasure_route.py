"""DELETE /api/v1/tenants/{tenant}/learners/{user_id} starts a real ``python -m etl forget``, like a refresh."""
from __future__ import annotations

from etl import snapshot_format as snapshots
from tests.support.credentials import ADMIN_KEY, ALL_KEY, ERASURE_KEY, bearer, embed, tenant_key
from tests.support.problems import problem
from tests.support.reports import wait_for_report

ADMIN = bearer(ADMIN_KEY)


def tenant_users(root, tenant: str) -> list[str]:
    version = snapshots.live_version(root)
    tenants = snapshots.map_frame(root, version, "tenants").to_pydict()
    rows = snapshots.row_ranges(tenants, tenants["tenant_id"].index(tenant)).users
    return snapshots.map_frame(root, version, "users").column("user_id").to_pylist()[rows]


def test_era001_admin_only(make_server, snapshot_copy, tenants):
    client = make_server(snapshot_copy, erasure_key=ERASURE_KEY).test_client()
    path = f"/api/v1/tenants/{tenants[0]}/learners/u000001"
    problem(client.delete(path), 401)
    for headers in (bearer(ALL_KEY), bearer(tenant_key(tenants[0])), embed(tenants[0])):
        problem(client.delete(path, headers=headers), 403)
    problem(client.delete(path + "?now=1", headers=ADMIN), 400)
    assert snapshots.versions(snapshot_copy) == [snapshots.live_version(snapshot_copy)]


def test_era002_503_when_erasure_is_not_configured(make_server, snapshot_copy, tenants):
    client = make_server(snapshot_copy).test_client()
    problem(client.delete(f"/api/v1/tenants/{tenants[0]}/learners/u000001", headers=ADMIN), 503)


def test_era003_202_then_the_learner_is_gone_and_the_receipt_is_the_report(make_server, snapshot_copy,
                                                                          generated_export, tenants):
    client = make_server(snapshot_copy, source=str(generated_export), erasure_key=ERASURE_KEY,
                         snapshot_check_interval=0.0).test_client()
    tenant, before = tenants[0], snapshots.live_version(snapshot_copy)
    user = tenant_users(snapshot_copy, tenant)[0]
    others = {t: tenant_users(snapshot_copy, t) for t in tenants[1:]}

    response = client.delete(f"/api/v1/tenants/{tenant}/learners/{user}", headers=ADMIN)

    assert response.status_code == 202 and response.headers["Location"] == "/api/v1/refresh/status"
    assert response.get_json() == {"status": "started", "tenant": tenant, "learners": 1,
                                   "status_url": "/api/v1/refresh/status"}
    report = wait_for_report(client, timeout=120)["last_report"]
    assert (report["outcome"], report["tenant"], report["learners"], report["learners_found"]) == (
        "erased", tenant, 1, 1)
    assert [(v["version"], v["action"]) for v in report["versions"]] == [(before, "republished")]
    assert client.get("/api/v1/meta", headers=ADMIN).get_json()["version"] == report["live"] != before
    assert user not in tenant_users(snapshot_copy, tenant)
    assert {t: tenant_users(snapshot_copy, t) for t in tenants[1:]} == others
    assert snapshots.versions(snapshot_copy) == [report["live"]]


def test_era006_an_id_with_a_line_break_is_refused_before_anything_starts(make_server, snapshot_copy, tenants):
    client = make_server(snapshot_copy, erasure_key=ERASURE_KEY).test_client()
    for user in ("u000001%0Au000002", "u000001%0D"):
        assert "line break" in problem(client.delete(f"/api/v1/tenants/{tenants[0]}/learners/{user}",
                                                     headers=ADMIN), 400)["detail"]
    assert snapshots.versions(snapshot_copy) == [snapshots.live_version(snapshot_copy)]
    assert client.get("/api/v1/refresh/status", headers=ADMIN).get_json()["running"] is False
