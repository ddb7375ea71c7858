"""Learner routes: who may see them, locked filters, cursors bound to the snapshot and the query, downloads with
neutralised cells, and precise problems for bad input."""
from __future__ import annotations

import csv
import io
import re
import shutil
import time

import jwt
import openpyxl
import pytest

from etl import snapshot_format as snapshots
from etl.refresh import run_refresh
from etl.snapshot import new_version
from tests.support.apps import make_app
from tests.support.credentials import ALL_KEY, EMBED_SECRET, OTHER_TENANT, TENANT, analyst, bearer, embed, tenant_key
from tests.support.exports import HEADER, write_export
from tests.support.problems import invalid_names, problem

LIST = f"/api/v1/tenants/{TENANT}/learners"
RANGE = {"from": "2026-08-01", "to": "2026-10-31"}


def some_learner(client) -> str:
    return client.get(LIST, headers=bearer(ALL_KEY), query_string={"limit": "1"}).get_json()["learners"][0]["user_id"]


def test_lrn001_who_may_see_learners(client):
    user_id = some_learner(client)
    allowed = [bearer(ALL_KEY), bearer(tenant_key(TENANT)), analyst(), embed(TENANT, learners=True)]
    refused = [embed(TENANT), bearer(tenant_key(OTHER_TENANT)), embed(OTHER_TENANT, learners=True)]
    for path in (LIST, f"{LIST}?format=csv", f"{LIST}/{user_id}"):
        for headers in allowed:
            assert client.get(path, headers=headers).status_code == 200, (path, headers)
        for headers in refused:
            problem(client.get(path, headers=headers), 403)
        problem(client.get(path), 401)
    body = problem(client.get(LIST, headers=embed(TENANT)), 403)
    assert '"learners": true' in body["detail"]


def test_lrn002_a_non_boolean_learners_claim_is_refused(client):
    token = jwt.encode({"tenant": TENANT, "exp": int(time.time()) + 60, "learners": "yes"}, EMBED_SECRET,
                       algorithm="HS256")
    problem(client.get(LIST, headers=bearer(token)), 401)


def test_lrn003_locked_filters_apply_to_lists_downloads_and_learners(client):
    everyone = client.get(LIST, headers=bearer(ALL_KEY), query_string={**RANGE, "limit": "1000"}).get_json()
    groups = sorted({r["group"] for r in everyone["learners"]})
    locked, other = groups[0], groups[1]
    manager = embed(TENANT, learners=True, filters={"group": [locked]})
    page = client.get(LIST, headers=manager, query_string={**RANGE, "limit": "1000"}).get_json()
    assert page["filters"] == {"group": [locked]}
    assert page["learners"] and {r["group"] for r in page["learners"]} == {locked}
    assert page["total"] == sum(r["group"] == locked for r in everyone["learners"]) < everyone["total"]
    rows = list(csv.DictReader(io.StringIO(client.get(LIST, headers=manager, query_string={
        **RANGE, "format": "csv"}).get_data(as_text=True))))
    assert [r["user_id"] for r in rows] == [r["user_id"] for r in page["learners"]]
    problem(client.get(LIST, headers=manager, query_string={"group": other}), 403)
    outsider = next(r["user_id"] for r in everyone["learners"] if r["group"] == other)
    assert client.get(f"{LIST}/{outsider}", headers=bearer(ALL_KEY)).status_code == 200
    problem(client.get(f"{LIST}/{outsider}", headers=manager), 404)


def test_lrn004_cursor_bound_to_the_query_and_the_credential(client):
    query = {**RANGE, "limit": "3"}
    first = client.get(LIST, headers=bearer(ALL_KEY), query_string=query).get_json()
    cursor = first["next_cursor"]
    second = client.get(LIST, headers=bearer(ALL_KEY), query_string={**query, "cursor": cursor}).get_json()
    assert not {r["user_id"] for r in first["learners"]} & {r["user_id"] for r in second["learners"]}
    for other in ({"from": "2026-08-02"}, {"sort": "name"}, {"order": "asc"}, {"cohort": "enrolled"},
                  {"group": "Sales"}):
        response = client.get(LIST, headers=bearer(ALL_KEY), query_string={**query, **other, "cursor": cursor})
        assert invalid_names(response) == ["cursor"], other
    # the same query under another scope is another query (an analyst's scope is the all-tenant key's: same list)
    other_scope = client.get(LIST, headers=bearer(tenant_key(TENANT)), query_string={**query, "cursor": cursor})
    assert invalid_names(other_scope) == ["cursor"]
    assert client.get(LIST, headers=analyst(), query_string={**query, "cursor": cursor}).status_code == 200
    # a page size is not the query: a cursor continues with another limit
    assert client.get(LIST, headers=bearer(ALL_KEY), query_string={**RANGE, "limit": "9",
                                                                   "cursor": cursor}).status_code == 200
    for forged in ("x", "!!!", "W10", cursor[:-4], "eyJhIjoxfQ", "A" * 513):
        response = client.get(LIST, headers=bearer(ALL_KEY), query_string={**query, "cursor": forged})
        assert invalid_names(response) == ["cursor"], forged


def test_lrn005_cursor_after_a_new_snapshot_is_a_409(make_server, snapshot_copy, tenants):
    server = make_server(snapshot_copy, snapshot_check_interval=0.0)
    client = server.test_client()
    cursor = client.get(LIST, headers=bearer(ALL_KEY), query_string={"limit": "2"}).get_json()["next_cursor"]
    live = snapshots.live_version(snapshot_copy)
    newer = new_version(snapshot_copy)  # the same frames, republished as a new version (as an erasure would)
    shutil.copytree(snapshot_copy / live, snapshot_copy / newer)
    snapshots.publish(snapshot_copy, newer)
    response = client.get(LIST, headers=bearer(ALL_KEY), query_string={"limit": "2", "cursor": cursor})
    body = problem(response, 409)
    assert body["type"] == "urn:dataviz:problem:snapshot-changed" and "first page" in body["detail"]
    assert response.headers["X-Dataviz-Snapshot"] == newer


def test_lrn006_bad_input_is_a_precise_400(client):
    for query, names in [({"limit": "0"}, ["limit"]), ({"limit": "1001"}, ["limit"]), ({"limit": "x"}, ["limit"]),
                         ({"cohort": "everyone"}, ["cohort"]), ({"sort": "score"}, ["sort"]),
                         ({"order": "up"}, ["order"]), ({"format": ["csv", "xlsx"]}, ["format"]),
                         ({"format": "csv", "limit": "5"}, ["limit"]), ({"from": "2026-13-01"}, ["from"]),
                         ({"page": "2"}, ["page"])]:
        assert invalid_names(client.get(LIST, headers=bearer(ALL_KEY), query_string=query)) == names, query
    without = f"/api/v1/tenants/{OTHER_TENANT}/learners"  # hooli has no assignments
    for cohort in ("overdue", "at_risk", "due_soon", "due"):
        for extra in ({}, {"format": "csv"}):
            response = client.get(without, headers=bearer(ALL_KEY), query_string={"cohort": cohort, **extra})
            assert invalid_names(response) == ["cohort"], (cohort, extra)
            assert f"tenant {OTHER_TENANT!r} has none" in response.get_json()["invalid_params"][0]["reason"]
    problem(client.get(f"{LIST}/no-such-learner", headers=bearer(ALL_KEY)), 404)
    problem(client.get(f"{LIST}/{'u' * 5000}", headers=bearer(ALL_KEY)), 404)
    assert invalid_names(client.get(f"{LIST}/u000001", headers=bearer(ALL_KEY),
                                    query_string={"from": "2026-01-01"})) == ["from"]
    problem(client.get("/api/v1/tenants/no-such-tenant/learners", headers=bearer(ALL_KEY)), 404)


def test_lrn007_caching_headers_like_every_data_answer(client):
    for path in (LIST, f"{LIST}?format=xlsx", f"{LIST}/{some_learner(client)}"):
        response = client.get(path, headers=bearer(ALL_KEY))
        assert response.headers["xkey"].startswith(f"tenant-{TENANT} snapshot-")
        assert "cred-" in response.headers["xkey"] and response.headers["Cache-Control"].startswith("public")
        again = client.get(path, headers={**bearer(ALL_KEY), "If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304
        other = client.get(path, headers=bearer(tenant_key(TENANT)))  # another scope, another ETag
        assert other.headers["ETag"] != response.headers["ETag"]


NAMES = {"u1": "=HYPERLINK(\"http://evil\",\"x\")", "u2": "+33 1 23", "u3": "-2+3", "u4": "@SUM(A1)",
         "u5": "\tTabbed", "u6": "\rReturn", "u7": "Zoé, \"quoted\"", "u8": ""}


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    activity = HEADER + "".join(f",2026-10-{10 + i}T08:00:00Z,acme,{u},connection,,,60\n" for i, u in enumerate(NAMES))
    users = "tenant_id,user_id,group,country,name\n" + "".join(
        f'acme,{u},=cmd|calc,FR,"{n.replace(chr(34), chr(34) * 2)}"\n' for u, n in NAMES.items())
    write_export(root / "src", activity=activity, users=users)
    assert run_refresh(str(root / "src"), root / "snap").outcome == "published"
    return make_app(root / "snap", root / "cache", ["acme"]).server


def expected_cells(user_id: str) -> list[str]:
    name = NAMES[user_id] or user_id
    return [user_id, ("'" + name) if name[0] in "=+-@\t\r" else name, "'=cmd|calc", "FR"]


def test_lrn008_csv_download_whole_list_neutralised(hostile_server):
    client = hostile_server.test_client()
    query = {"from": "2026-10-01", "to": "2026-10-31", "sort": "user_id", "order": "asc", "format": "csv"}
    response = client.get("/api/v1/tenants/acme/learners", headers=bearer(ALL_KEY), query_string=query)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="learners-acme-2026-10-01-2026-10-31.csv"'
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True), newline="")))
    assert rows[0][:4] == ["user_id", "name", "group", "country"] and len(rows) == 1 + len(NAMES)
    for row, user_id in zip(rows[1:], sorted(NAMES)):
        assert row[:4] == expected_cells(user_id)
        day = f"2026-10-{10 + list(NAMES).index(user_id)}"
        assert row[4:9] == ["1", "0", "0", "0", ""] and row[-3:] == [day, "", ""]


def unescape(text: str) -> str:
    return re.sub(r"_x([0-9A-F]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def test_lrn009_xlsx_download_whole_list_neutralised(hostile_server):
    client = hostile_server.test_client()
    query = {"from": "2026-10-01", "to": "2026-10-31", "sort": "user_id", "order": "asc", "format": "xlsx"}
    response = client.get("/api/v1/tenants/acme/learners", headers=bearer(ALL_KEY), query_string=query)
    assert response.status_code == 200 and response.headers["Content-Disposition"].endswith('.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("user_id", "name", "group", "country") and len(rows) == 1 + len(NAMES)
    for row, user_id in zip(rows[1:], sorted(NAMES)):
        # control characters are stored escaped (ECMA-376 ST_Xstring: "\r" is "_x000D_"), which openpyxl leaves
        assert [unescape(cell) for cell in row[:4]] == expected_cells(user_id)
        assert row[4:9] == (1, 0, 0, 0, None)
    assert all(cell.data_type != "f" for line in sheet.iter_rows() for cell in line)  # no formula anywhere


def test_lrn010_assignment_cohorts_and_columns(client):
    """globex assigns trainings: its overdue learners each have an overdue assignment, its at-risk list totals the
    ``at_risk_learners`` KPI (under a manager's locked group too), the columns sort and reach the files, and one
    learner's trainings carry their due dates and statuses."""
    kpis = client.get(f"/api/v1/tenants/{TENANT}/kpis", headers=bearer(ALL_KEY), query_string=RANGE).get_json()
    at_risk = client.get(LIST, headers=bearer(ALL_KEY), query_string={**RANGE, "cohort": "at_risk"}).get_json()
    assert at_risk["total"] == kpis["metrics"]["at_risk_learners"] > 0
    overdue = client.get(LIST, headers=bearer(ALL_KEY), query_string={
        **RANGE, "cohort": "overdue", "sort": "overdue", "limit": "1000"}).get_json()
    counts = [r["overdue"] for r in overdue["learners"]]
    assert overdue["total"] == len(counts) > 0 and min(counts) >= 1 and counts == sorted(counts, reverse=True)
    assert all(r["assigned"] >= r["overdue"] for r in overdue["learners"])
    for cohort in ("due_soon", "due"):
        assert client.get(LIST, headers=bearer(ALL_KEY), query_string={**RANGE, "cohort": cohort}).get_json()["total"]
    group = overdue["learners"][0]["group"]
    manager = embed(TENANT, learners=True, filters={"group": [group]})
    locked_kpis = client.get(f"/api/v1/tenants/{TENANT}/kpis", headers=manager, query_string=RANGE).get_json()
    locked = client.get(LIST, headers=manager, query_string={**RANGE, "cohort": "at_risk"}).get_json()
    assert locked["total"] == locked_kpis["metrics"]["at_risk_learners"] <= at_risk["total"]
    rows = list(csv.DictReader(io.StringIO(client.get(LIST, headers=bearer(ALL_KEY), query_string={
        **RANGE, "cohort": "overdue", "sort": "overdue", "format": "csv"}).get_data(as_text=True))))
    assert [(r["user_id"], int(r["assigned"]), int(r["overdue"])) for r in rows] == \
        [(r["user_id"], r["assigned"], r["overdue"]) for r in overdue["learners"]]
    everyone = client.get(LIST, headers=bearer(ALL_KEY), query_string=RANGE).get_json()
    assert all(isinstance(r["assigned"], int) for r in everyone["learners"])
    learner = client.get(f"{LIST}/{overdue['learners'][0]['user_id']}", headers=bearer(ALL_KEY)).get_json()
    late = [t for t in learner["trainings"] if t["overdue"]]
    assert len(late) == overdue["learners"][0]["overdue"]
    assert all(t["due_on"] <= learner["data_as_of"] and t["status"] != "completed" and t["on_time"] is None
               and t["assigned_on"] <= t["due_on"] for t in late)
    assert len([t for t in learner["trainings"] if t["assigned_on"]]) == overdue["learners"][0]["assigned"]
