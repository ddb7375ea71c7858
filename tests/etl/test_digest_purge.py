"""Per-tenant digests and the purge plan built from them (no services)."""
from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import shutil

from etl import snapshot_format as snapshots
from etl.generate import generate_export
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


def _only(folder, out, tenants: set[str]) -> None:
    """A copy of a generated export with the rows of ``tenants`` alone, in every file."""
    out.mkdir(parents=True)
    for path in folder.iterdir():
        if not path.name.endswith(".csv.gz"):
            shutil.copy(path, out / path.name)
            continue
        rows = list(csv.reader(io.StringIO(gzip.decompress(path.read_bytes()).decode())))
        column = rows[0].index("tenant_id")
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows([rows[0], *(r for r in rows[1:] if r[column] in tenants)])
        (out / path.name).write_bytes(gzip.compress(text.getvalue().encode()))


def test_digest003_a_tenant_digest_is_the_same_among_thousands(tmp_path):
    """A tenant's digest does not depend on the other tenants, however many come before it: 1,500 tenants (in
    ten time zones, with assignments), and the same export cut down to three of them, give those three the same
    digests. The digests are computed for all tenants at once (one conversion of each column), so a tenant's
    rows or codes taken from the wrong offset would show here."""
    summary = generate_export(str(tmp_path / "many"), events=40_000, tenants=1500, seed=5,
                              end_date=dt.date(2026, 10, 31), days=60)
    many = run_refresh(str(tmp_path / "many"), tmp_path / "many-snap")
    assert many.outcome == "published", many.message
    digests = snapshots.read_manifest(tmp_path / "many-snap", many.version)["tenant_digests"]
    assert len(digests) > 1000
    names = sorted(digests)
    kept = {names[1], names[len(names) // 2], names[-1]}
    folder = tmp_path / "many" / summary["export_date"]
    _only(folder, tmp_path / "few" / summary["export_date"], kept)
    few = run_refresh(str(tmp_path / "few"), tmp_path / "few-snap")
    assert few.outcome == "published", few.message
    alone = snapshots.read_manifest(tmp_path / "few-snap", few.version)["tenant_digests"]
    assert alone == {t: digests[t] for t in kept}


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
