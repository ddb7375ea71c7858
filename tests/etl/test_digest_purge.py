"""Per-tenant digests and the purge plan built from them (no services)."""
from __future__ import annotations

from etl import snapshot_format as snapshots
from etl.purge import purge_keys
from etl.refresh import run_refresh
from tests.support.exports import GOOD_ROWS, HEADER, write_export


def _digests(tmp_path, name: str, rows: list[str], users: str | None = None) -> dict:
    write_export(tmp_path / name, activity=HEADER + "\n".join(rows) + "\n", users=users)
    result = run_refresh(str(tmp_path / name), tmp_path / f"{name}-snap")
    assert result.outcome == "published", result.message
    return snapshots.read_manifest(tmp_path / f"{name}-snap", result.version)["tenant_digests"]


def test_digest001_only_the_changed_tenant_changes(tmp_path):
    base = _digests(tmp_path, "base", GOOD_ROWS)
    assert set(base) == {"acme", "beta"}
    assert _digests(tmp_path, "same", GOOD_ROWS) == base
    # a new user in acme shifts every global user code of beta (users are numbered across tenants)
    more_acme = _digests(tmp_path, "acme", GOOD_ROWS + ["e9,2026-10-31T13:00:00Z,acme,u0,connection,,,5"])
    assert more_acme["acme"] != base["acme"] and more_acme["beta"] == base["beta"]
    # a label only: a user of beta moves to another group
    users = "tenant_id,user_id,group,country\nbeta,u1,Sales,FR\n"
    relabelled = _digests(tmp_path, "label", GOOD_ROWS, users=users)
    assert relabelled["beta"] != base["beta"] and relabelled["acme"] == base["acme"]


def _manifest(version: str, data_as_of: str, **digests) -> dict:
    return {"version": version, "data_as_of": data_as_of, "tenant_digests": digests}


def test_digest002_purge_plan():
    old = _manifest("v1", "2026-10-31", acme="a", beta="b", gone="g")
    assert purge_keys(old, _manifest("v2", "2026-10-31", acme="a", beta="B", new="n")) == (
        ["tenant-beta", "tenant-gone", "tenant-new"], "3 of 4 tenants changed")
    assert purge_keys(old, _manifest("v2", "2026-10-31", acme="a", beta="b", gone="g")) == (
        [], "0 of 3 tenants changed")
    keys, why = purge_keys(old, _manifest("v2", "2026-11-01", acme="a", beta="b"))
    assert keys == ["tenant-acme", "tenant-beta", "tenant-gone"] and why.startswith("data_as_of moved")
    assert purge_keys(None, _manifest("v2", "2026-10-31", acme="a")) == (
        ["tenant-acme"], "no previous snapshot: every tenant")
    keys, why = purge_keys({"version": "v0", "data_as_of": "2026-10-31"}, _manifest("v2", "2026-10-31", acme="a"))
    assert keys == ["snapshot-v0", "tenant-acme"] and "no tenant digests" in why
