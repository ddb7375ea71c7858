"""Learners' names (data-contract v1.1, users.csv ``name``): kept in the snapshot, cut to 200 characters with a
warning, the user_id when empty, ranked within each tenant (equal names, equal ranks)."""
from __future__ import annotations

import json

from app.store import load_snapshot
from etl.refresh import run_refresh
from tests.support.exports import HEADER, write_export

ACTIVITY = HEADER + "".join(f",2026-10-30T08:00:00Z,{tenant},{user},connection,,,\n"
                            for tenant, user in [("acme", "u1"), ("acme", "u2"), ("acme", "u3"), ("acme", "u4"),
                                                 ("acme", "u5"), ("beta", "u1")])


def users_of(snapshot, tenant):
    rows = snapshot.tenants[tenant].users
    return [(snapshot.users.take("user_id", [r])[0], snapshot.users.take("name", [r])[0],
             int(snapshot.users["name_rank"][r])) for r in range(rows.start, rows.stop)]


def test_names001_kept_defaulted_cut_and_ranked(tmp_path):
    users = ("tenant_id,user_id,group,country,name\n"
             "acme,u1,Sales,FR,Zoé Martin\nacme,u2,Sales,FR,\nacme,u3,HR,FR,   \nacme,u4,HR,FR,Zoé Martin\n"
             f"acme,u5,HR,FR,{'É' * 250}\nbeta,u1,Sales,DE,Anna\n")
    write_export(tmp_path / "src", activity=ACTIVITY, users=users)
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap")
    assert result.outcome == "published", result.message
    snapshot = load_snapshot(tmp_path / "snap", result.version)
    # empty and blank names fall back to the user_id; equal names share a rank (code point order: Z < u < É)
    assert users_of(snapshot, "acme") == [("u1", "Zoé Martin", 0), ("u2", "u2", 1), ("u3", "u3", 2),
                                          ("u4", "Zoé Martin", 0), ("u5", "É" * 200, 3)]
    assert users_of(snapshot, "beta") == [("u1", "Anna", 0)]
    report = json.loads((tmp_path / "snap" / result.version / "report.json").read_text())
    assert "users: 1 names longer than 200 characters cut to 200" in report["warnings"]


def test_names002_an_export_without_names_shows_user_ids(tmp_path):
    write_export(tmp_path / "src", activity=ACTIVITY, users="tenant_id,user_id,group\nacme,u2,Sales\n")
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap")
    snapshot = load_snapshot(tmp_path / "snap", result.version)
    assert users_of(snapshot, "acme") == [(u, u, i) for i, u in enumerate(["u1", "u2", "u3", "u4", "u5"])]
