"""The store: a request arriving during the first load waits for it; a hot swap maps the new snapshot and
unmaps the old one when the last request holding it ends; an older schema is refused, saying why."""
from __future__ import annotations

import datetime as dt
import gc
import json
import shutil
import threading
import time

import pytest

from app import queries, store
from etl import snapshot_format as snapshots
from etl.refresh import run_refresh
from tests.support.exports import write_export


def test_store001_concurrent_first_load_never_answers_none(generated_snapshot_dir, monkeypatch):
    real = store.load_snapshot
    loading = threading.Event()

    def slow_load(root, version):
        loading.set()
        time.sleep(0.3)
        return real(root, version)

    monkeypatch.setattr(store, "load_snapshot", slow_load)
    live = store.SnapshotStore(generated_snapshot_dir, check_interval=60)
    first = threading.Thread(target=live.current)
    first.start()
    assert loading.wait(5)
    assert live.current() is not None  # before the fix: None until the next check, 60 s later
    first.join()


def _mapped(folder) -> bool:
    """Whether this process maps any file of ``folder`` (``/proc/self/maps`` lists every mapped file)."""
    with open("/proc/self/maps") as maps:
        return any(f"{folder}/" in line for line in maps)


def test_store002_hot_swap_keeps_the_old_mapping_for_a_request_then_unmaps_it(tmp_path):
    write_export(tmp_path / "src")
    root = tmp_path / "snap"
    first = run_refresh(str(tmp_path / "src"), root).version
    live = store.SnapshotStore(root)
    held = live.current()  # a request in flight keeps the snapshot it started with
    month = (held.data_as_of - dt.timedelta(days=30), held.data_as_of)
    answer = queries.kpis(held, "acme", *month, {})
    assert answer["connections"] and answer["active_learners"] == 2
    assert held.version == first and _mapped(root / first)

    time.sleep(0.01)
    second = run_refresh(str(tmp_path / "src"), root, force=True).version
    assert live.current().version == second and _mapped(root / second)
    assert live.retired == 1 and _mapped(root / first)
    shutil.rmtree(root / first)  # as a prune would: the mapping outlives the files' names
    assert queries.kpis(held, "acme", *month, {}) == answer
    assert snapshots.live_version(root) == second

    del held  # the request ends
    gc.collect()
    assert live.retired == 0 and not _mapped(root / first)
    assert _mapped(root / second)


def test_store003_an_older_schema_is_refused_saying_why(tmp_path):
    write_export(tmp_path / "src")
    version = run_refresh(str(tmp_path / "src"), tmp_path / "snap").version
    path = tmp_path / "snap" / version / "manifest.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "schema_version": 2}))
    expected = f"schema 2, expected {snapshots.SCHEMA_VERSION} .*Parquet.*a refresh writes one"
    with pytest.raises(snapshots.SnapshotError, match=expected):
        store.load_snapshot(tmp_path / "snap", version)
    live = store.SnapshotStore(tmp_path / "snap")
    assert live.current() is None and live.last_error.startswith(f"refused snapshot {version}")
