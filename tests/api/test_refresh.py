"""POST /api/v1/refresh starts a real `python -m etl refresh`; /refresh/status follows it."""
from __future__ import annotations

import time

from app import refresh_trigger
from etl.steps import refresh_lock
from tests.support.credentials import ADMIN_KEY, ALL_KEY, bearer, embed
from tests.support.problems import problem
from tests.support.reports import wait_for_report

ADMIN = bearer(ADMIN_KEY)


def test_ref001_refresh_publishes_a_first_snapshot(make_server, generated_export, tmp_path):
    root = tmp_path / "snapshots"
    client = make_server(root, source=str(generated_export), snapshot_check_interval=0.0).test_client()
    assert client.get("/api/v1/meta", headers=ADMIN).status_code == 503
    assert client.get("/api/v1/refresh/status", headers=ADMIN).get_json() == {"running": False, "last_report": None}

    response = client.post("/api/v1/refresh", headers=ADMIN)
    assert response.status_code == 202
    assert response.get_json() == {"status": "started", "status_url": "/api/v1/refresh/status"}
    assert response.headers["Location"] == "/api/v1/refresh/status"
    assert response.headers["Cache-Control"] == "no-store"

    report = wait_for_report(client)["last_report"]
    assert report["outcome"] == "published" and report["file"].endswith(".json")
    meta = client.get("/api/v1/meta", headers=ADMIN).get_json()
    assert meta["version"] == report["version"]
    # the child's output is kept for operators (it prints its summary after releasing the lock)
    log = root / refresh_trigger.LOG_NAME
    deadline = time.monotonic() + 30
    while not log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert log.read_text()


def test_ref002_409_while_a_refresh_holds_the_lock(make_server, snapshot_copy):
    client = make_server(snapshot_copy).test_client()
    with refresh_lock(snapshot_copy):
        assert refresh_trigger.refresh_running(snapshot_copy) is True
        response = client.post("/api/v1/refresh", headers=ADMIN)
        problem(response, 409)
        assert response.headers["Location"] == "/api/v1/refresh/status"
        assert client.get("/api/v1/refresh/status", headers=ADMIN).get_json()["running"] is True
    assert refresh_trigger.refresh_running(snapshot_copy) is False
    status = client.get("/api/v1/refresh/status", headers=ADMIN).get_json()
    assert status["running"] is False and status["last_report"]["outcome"] == "published"


def test_ref003_admin_only(client, tenants):
    for path, method in (("/api/v1/refresh", "POST"), ("/api/v1/refresh/status", "GET")):
        problem(client.open(path, method=method), 401)
        for headers in (bearer(ALL_KEY), embed(tenants[0])):
            problem(client.open(path, method=method, headers=headers), 403)
    problem(client.post("/api/v1/refresh?force=1", headers=ADMIN), 400)


def test_ref004_no_lock_file_means_not_running(tmp_path):
    assert refresh_trigger.refresh_running(tmp_path) is False
