"""A refresh killed (SIGKILL) at each step, a full disk, a damaged snapshot: the live snapshot stays whole,
nothing is lost, and the next refresh repairs what the crash left undone.

``DATAVIZ_PAUSE_AT`` stops the refresh subprocess at an exact step (SIGSTOP), so each kill is deterministic.
"""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from app.config import Settings
from app.store import SnapshotStore, load_snapshot
from etl import purge as purging
from etl import snapshot_format as snapshots
from etl.refresh import refresh_with_settings, run_refresh
from tests.support import services
from tests.support.apps import make_app
from tests.support.exports import GOOD_ROWS, HEADER, write_export
from tests.support.varnish_backend import Backend

ROOT = Path(__file__).resolve().parents[2]
STEPS = ("find", "validate", "transform", "write", "write.rename", "publish", "wait_web", "clear_cache", "purge")


@pytest.fixture(scope="module")
def varnish(service_logs):
    """A real varnishd with the deployed VCL, in front of a backend that tags answers by tenant."""
    backend = Backend()
    proxy = services.start_varnish(service_logs, backend.server_address[1])
    yield proxy
    proxy.stop()
    backend.shutdown()


def cached(proxy, path: str) -> str:
    """GET ``path`` through Varnish: its X-Cache (HIT or MISS)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{proxy.port}{path}", timeout=10) as response:
        return response.headers["X-Cache"]


@pytest.fixture()
def chain(tmp_path, varnish):
    """A live snapshot of export A, export B (acme changed) waiting, and the settings of the chain."""
    settings = Settings(source=str(tmp_path / "src"), snapshot_dir=str(tmp_path / "snap"),
                        cache_dir=str(tmp_path / "cache"), varnish_urls=(f"http://127.0.0.1:{varnish.port}",),
                        purge_token=services.SUITE_PURGE_TOKEN)
    write_export(tmp_path / "src", date="2026-11-01")
    first = refresh_with_settings(settings)
    assert first.outcome == "published", first.message
    write_export(tmp_path / "src", date="2026-11-02",
                 activity=HEADER + "\n".join(GOOD_ROWS + ["e9,2026-10-31T13:00:00Z,acme,u3,connection,,,5"]) + "\n")
    yield settings, first.version, varnish


def env_for(settings: Settings, **extra) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "DATAVIZ_SOURCE": settings.source,
            "DATAVIZ_SNAPSHOT_DIR": settings.snapshot_dir, "DATAVIZ_CACHE_DIR": settings.cache_dir,
            "DATAVIZ_VARNISH_URLS": ",".join(settings.varnish_urls), "DATAVIZ_PURGE_TOKEN": settings.purge_token,
            **extra}


def wait_stopped(proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while psutil.Process(proc.pid).status() != psutil.STATUS_STOPPED:
        assert proc.poll() is None, f"the refresh ended (exit {proc.returncode}) before its pause point"
        assert time.monotonic() < deadline, "the refresh never reached its pause point"
        time.sleep(0.02)


@pytest.mark.services
@pytest.mark.parametrize("step", STEPS)
def test_crash001_sigkill_at_each_step(chain, step):
    settings, first, varnish = chain
    root = Path(settings.snapshot_dir)
    pages = {tenant: f"/api/v1/tenants/{tenant}/kpis?step={step}" for tenant in ("acme", "beta")}
    assert [cached(varnish, p) for p in pages.values()] == ["MISS", "MISS"]
    assert [cached(varnish, p) for p in pages.values()] == ["HIT", "HIT"]
    proc = subprocess.Popen([sys.executable, "-m", "etl", "refresh"], cwd=ROOT, env=env_for(settings, DATAVIZ_PAUSE_AT=step),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_stopped(proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    live = snapshots.live_version(root)
    published = live != first
    assert published == (STEPS.index(step) > STEPS.index("publish")), live
    assert load_snapshot(root, live).tenants  # whole, whichever it is
    assert SnapshotStore(root).current().version == live

    after = refresh_with_settings(settings)  # the next refresh or watcher tick
    assert after.outcome == ("up_to_date" if published else "published"), after.message
    assert load_snapshot(root, snapshots.live_version(root)).manifest["export"]["date"] == "2026-11-02"
    # the changed tenant is purged, even when the crash came first; the unchanged one stays cached
    assert (cached(varnish, pages["acme"]), cached(varnish, pages["beta"])) == ("MISS", "HIT")
    assert purging.load_pending(root) == {}
    assert not list(root.glob(".tmp-*"))


def test_crash004_fallback_never_picks_a_rolled_back_snapshot(tmp_path):
    """Rolled back from the newest to the middle one, which then rots: the store serves the oldest."""
    write_export(tmp_path / "src", date="2026-11-01")
    root = tmp_path / "snap"
    oldest, middle, newest = [run_refresh(str(tmp_path / "src"), root, force=True).version for _ in range(3)]
    assert oldest < middle < newest
    snapshots.publish(root, middle)  # what `python -m etl rollback` does
    facts = snapshots.frame_path(root, middle, "facts")
    facts.write_bytes(facts.read_bytes()[:-40])
    assert SnapshotStore(root).current().version == oldest


def mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def refresh_onto_a_full_disk(tmp_path, generated_export, root: Path, fill, make_room) -> None:
    """A small export is published; once ``fill()`` has left no room, the big one fails in the write step and
    the small one stays live and whole; once ``make_room()``, the big one is published."""
    write_export(tmp_path / "small", date="2026-11-01")
    first = run_refresh(str(tmp_path / "small"), root)
    assert first.outcome == "published", first.message
    fill()
    result = run_refresh(str(generated_export), root)
    assert result.outcome == "failed"
    assert result.message.startswith("write failed: ") and "No space left on device" in result.message
    assert result.report["failed_step"] == "write"
    assert snapshots.live_version(root) == first.version
    assert load_snapshot(root, first.version).tenants
    assert not list(root.glob(".tmp-*"))  # the half-written folder is gone: the room is back
    make_room()
    again = run_refresh(str(generated_export), root)
    assert again.outcome == "published", again.message


def test_crash002a_disk_full_on_a_real_tmpfs(tmp_path, generated_export):
    """A real full disk: a 256 kB tmpfs. Mounting needs CAP_SYS_ADMIN; without it the test is skipped, saying
    so, and test_crash002b's simulated full disk is the one that ran."""
    root = tmp_path / "snap"
    if not mount_tmpfs(root, "256k"):
        pytest.skip("no real full disk here: mounting a tmpfs is not permitted (test_crash002b simulates one)")
    try:
        stats = os.statvfs(root)
        assert os.path.ismount(root) and stats.f_blocks * stats.f_frsize <= 256 * 1024  # the path taken: a real disk
        refresh_onto_a_full_disk(tmp_path, generated_export, root, fill=lambda: None,
                                 make_room=lambda: subprocess.run(["mount", "-o", "remount,size=256m", str(root)],
                                                                  check=True))
    finally:
        subprocess.run(["umount", str(root)], check=True)


def test_crash002b_disk_full_simulated_in_the_frame_writer(tmp_path, generated_export, monkeypatch):
    """ENOSPC raised when the frame writer opens an Arrow file for writing, wherever the test runs; the test
    checks that the failure came from that writer (the path taken), not from anything else on the way."""
    import pyarrow as pa

    calls: list[str] = []
    real_file = pa.OSFile

    def no_space(where, mode="r", *args, **kwargs):
        if "w" not in mode:
            return real_file(where, mode, *args, **kwargs)
        calls.append(str(where))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    root = tmp_path / "snap"
    refresh_onto_a_full_disk(tmp_path, generated_export, root,
                             fill=lambda: monkeypatch.setattr(pa, "OSFile", no_space), make_room=monkeypatch.undo)
    assert len(calls) == 1 and str(root) in calls[0], calls  # the first frame written hit the full disk


def test_crash003_damaged_live_snapshot(tmp_path):
    """The store falls back to the newest good snapshot; the next refresh does not call the damage "up to date"."""
    write_export(tmp_path / "src", date="2026-11-01")
    root = tmp_path / "snap"
    older = run_refresh(str(tmp_path / "src"), root).version
    time.sleep(0.01)
    live = run_refresh(str(tmp_path / "src"), root, force=True).version
    facts = snapshots.frame_path(root, live, "facts")
    facts.write_bytes(facts.read_bytes()[:-40])  # bit rot at the end of a file: the footer is gone

    store = SnapshotStore(root)
    assert store.current().version == older
    assert store.last_error == f"refused snapshot {live} (SnapshotError, details in the log); serving {older}, the newest good one on disk"
    ready = make_app(root, tmp_path / "cache", ["acme"]).server.test_client().get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["status"] == "degraded"
    assert ready.get_json()["snapshot"] == older and ready.get_json()["warnings"] == [store.last_error]
    assert str(root) not in ready.get_data(as_text=True)  # no server path to an anonymous caller

    result = run_refresh(str(tmp_path / "src"), root)
    assert result.outcome == "published", result.message
    assert result.report["live_damaged"].startswith(f"snapshot {live}: cannot read facts.arrow")
    time.sleep(0.01)
    assert store.current().version == result.version and store.last_error is None
