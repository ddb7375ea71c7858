"""Atomic publish, retention, rollback, the refresh lock and hot swap in the store."""
from __future__ import annotations

import json
import time

import pytest

from app import queries, store
from app.store import SnapshotStore, load_snapshot
from etl import snapshot_format as snapshots
from etl.__main__ import main as etl_main
from etl.errors import RefreshBusy
from etl.refresh import run_refresh
from etl.steps import refresh_lock
from tests.support.exports import HEADER, write_export



def test_snapshot001_keeps_last_three_and_reports(tmp_path):
    write_export(tmp_path / "src")
    published = []
    for _ in range(5):
        result = run_refresh(str(tmp_path / "src"), tmp_path / "snap", force=True)
        assert result.outcome == "published"
        published.append(result.version)
        time.sleep(0.01)
    assert snapshots.versions(tmp_path / "snap") == sorted(published)[-3:]
    assert snapshots.live_version(tmp_path / "snap") == published[-1]
    assert len(list((tmp_path / "snap" / "reports").glob("*.json"))) == 5
    manifest = snapshots.read_manifest(tmp_path / "snap", published[-1])
    assert manifest["version"] == published[-1]
    assert manifest["schema_version"] == snapshots.SCHEMA_VERSION
    assert manifest["export"]["date"] == "2026-11-01"
    assert manifest["rows"]["accepted"] == 5
    assert manifest["data_as_of"] == "2026-10-31"


def test_snapshot002_up_to_date_and_cli_exit_codes(tmp_path, monkeypatch, capsys):
    write_export(tmp_path / "src")
    monkeypatch.setenv("DATAVIZ_SOURCE", str(tmp_path / "src"))
    monkeypatch.setenv("DATAVIZ_SNAPSHOT_DIR", str(tmp_path / "snap"))
    assert etl_main(["refresh"]) == 0
    assert capsys.readouterr().out.startswith("published snapshot ")
    assert etl_main(["refresh"]) == 0
    assert capsys.readouterr().out.startswith("up to date: export 2026-11-01 is already live as ")
    write_export(tmp_path / "src", date="2026-11-02", activity=b"nonsense\n1\n")
    assert etl_main(["refresh"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("export rejected: activity.csv: required columns missing: "
                      "occurred_at, tenant_id, user_id, event_type")
    assert etl_main(["refresh", "--source", str(tmp_path / "missing")]) == 1
    assert capsys.readouterr().out.startswith("source unreachable: source folder")


def test_snapshot007_older_schema_is_rebuilt(tmp_path):
    write_export(tmp_path / "src")
    first = run_refresh(str(tmp_path / "src"), tmp_path / "snap")
    manifest_path = tmp_path / "snap" / first.version / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "schema_version": snapshots.SCHEMA_VERSION - 1}))
    again = run_refresh(str(tmp_path / "src"), tmp_path / "snap")
    assert again.outcome == "published"
    assert SnapshotStore(tmp_path / "snap").current().version == again.version


def test_snapshot003_rollback(tmp_path, monkeypatch, capsys):
    write_export(tmp_path / "src")
    first = run_refresh(str(tmp_path / "src"), tmp_path / "snap").version
    time.sleep(0.01)
    second = run_refresh(str(tmp_path / "src"), tmp_path / "snap", force=True).version
    monkeypatch.setenv("DATAVIZ_SNAPSHOT_DIR", str(tmp_path / "snap"))
    assert etl_main(["rollback"]) == 0
    assert snapshots.live_version(tmp_path / "snap") == first
    assert etl_main(["rollback", "--to", second]) == 0
    assert snapshots.live_version(tmp_path / "snap") == second
    assert etl_main(["rollback", "--to", "20200101T000000Z-ffff"]) == 1
    assert "is not on disk" in capsys.readouterr().out


def test_snapshot004_one_refresh_at_a_time(tmp_path):
    write_export(tmp_path / "src")
    (tmp_path / "snap").mkdir()
    with refresh_lock(tmp_path / "snap"):
        assert run_refresh(str(tmp_path / "src"), tmp_path / "snap").outcome == "busy"
        with pytest.raises(RefreshBusy):
            with refresh_lock(tmp_path / "snap"):
                pass
    assert run_refresh(str(tmp_path / "src"), tmp_path / "snap").outcome == "published"


def test_snapshot005_store_hot_swaps_and_refuses_damage(tmp_path):
    write_export(tmp_path / "src")
    first = run_refresh(str(tmp_path / "src"), tmp_path / "snap").version
    store = SnapshotStore(tmp_path / "snap")
    held = store.current()
    assert held.version == first
    time.sleep(0.01)
    second = run_refresh(str(tmp_path / "src"), tmp_path / "snap", force=True).version
    assert store.current().version == second
    assert held.version == first and held.tenants  # a request holding the old object keeps it whole

    # a damaged snapshot is refused and the store keeps serving what it has
    time.sleep(0.01)
    third = run_refresh(str(tmp_path / "src"), tmp_path / "snap", force=True).version
    snapshots.publish(tmp_path / "snap", second)  # back to second so that third can be damaged first
    assert store.current().version == second
    facts = snapshots.frame_path(tmp_path / "snap", third, "facts")
    facts.write_bytes(facts.read_bytes()[:100])
    snapshots.publish(tmp_path / "snap", third)
    assert store.current().version == second
    assert "refused snapshot" in store.last_error
    with pytest.raises(snapshots.SnapshotError):
        load_snapshot(tmp_path / "snap", third)
    # a fresh process falls back to the newest good snapshot on disk rather than answer nothing
    fresh = SnapshotStore(tmp_path / "snap")
    assert fresh.current().version == second
    assert fresh.last_error.endswith(f"serving {second}, the newest good one on disk")


def _previous_days(days, items) -> list[int]:
    """Each row's previous row's day of the same item, walking the rows in the order given (the reference)."""
    last, out = {}, []
    for day, item in zip(days, items):
        out.append(last.get(item, snapshots.NO_PREVIOUS))
        last[item] = day
    return out


def _next_days(days, items) -> list[int]:
    """Each row's next row's day of the same item (the reference): the previous days of the rows walked
    backwards."""
    following = _previous_days(days[::-1], items[::-1])[::-1]
    return [snapshots.NO_NEXT if d == snapshots.NO_PREVIOUS else d for d in following]


def test_snapshot008_first_occurrence_columns_stay_within_each_tenant(tmp_path, generated_snapshot_dir):
    """Two tenants with the same user and training ids: one tenant's rows never count as another's earlier
    ones; and on a generated export every row's previous and next days equal a walk over its own tenant's rows
    alone."""
    write_export(tmp_path / "src", activity=HEADER + "\n".join([
        "e1,2026-10-10T08:00:00Z,acme,u1,start,T1,,60",
        "e2,2026-10-12T08:00:00Z,beta,u1,start,T1,,60",
        "e3,2026-10-14T08:00:00Z,acme,u1,start,T1,,60",
        "e4,2026-10-13T08:00:00Z,beta,u1,connection,,,60",
    ]) + "\n")
    root = tmp_path / "snap"
    snapshot = load_snapshot(root, run_refresh(str(tmp_path / "src"), root).version)
    day = snapshot.tenants["beta"].first_day
    kpis = queries.kpis(snapshot, "beta", store.day_date(day), store.day_date(day + 1), {})
    assert (kpis["starts"], kpis["active_learners"]) == (1, 1)  # acme's u1 of 2026-10-10 is someone else
    acme = queries.kpis(snapshot, "acme", store.day_date(day), store.day_date(day + 2), {})
    assert (acme["starts"], acme["active_learners"]) == (1, 1)  # beta's u1 of 2026-10-12 is someone else

    snapshot = load_snapshot(generated_snapshot_dir, snapshots.live_version(generated_snapshot_dir))
    f = snapshot.facts
    for ts in snapshot.tenants.values():
        rows = range(ts.facts.start, ts.facts.stop)
        day, user, training, event = (f[c][ts.facts].tolist() for c in ("day", "user", "training", "event"))
        pair = list(zip(event, user, training))
        assert _previous_days(day, pair) == f[snapshots.PREVIOUS_PAIR][ts.facts].tolist()
        assert _next_days(day, pair) == f[snapshots.NEXT_PAIR][ts.facts].tolist()
        active = {snapshots.EVENT_TYPES.index(e) for e in snapshots.ACTIVE_EVENTS}
        chain = [(u, e in active) for u, e in zip(user, event)]
        order = sorted(range(len(rows)), key=lambda i: (chain[i], day[i], event[i], i))
        days, chains = [day[i] for i in order], [chain[i] for i in order]
        for column, walk in ((snapshots.PREVIOUS_USER, _previous_days), (snapshots.NEXT_USER, _next_days)):
            expected = dict(zip(order, walk(days, chains)))
            assert [expected[i] for i in range(len(rows))] == f[column][ts.facts].tolist()
