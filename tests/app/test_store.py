"""A request that arrives while the first snapshot loads waits for it instead of seeing none."""
from __future__ import annotations

import threading
import time

from app import store


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
