"""A web host's local snapshot folder kept in step with the S3 pointer (``DATAVIZ_SNAPSHOT_URL``).

Each gunicorn worker runs one daemon thread that reads ``CURRENT`` on S3 every
``snapshot_poll_interval`` seconds. When it names a version the local folder
does not serve, the thread downloads that version (temp folder, then rename)
and names it in the local ``CURRENT``; ``app.store`` then swaps it in as on a
single host, and ``/api/v1/meta`` shows it, which is what the refresh waits
for. The workers of one host share the folder and take turns with an
``flock``, so a version is downloaded once per host, and the holder reads the
pointer again under the lock, so a slow worker never puts an older version back.
A download is verified like a local snapshot before it is named in ``CURRENT``
(``S3Snapshots.download``), S3 is read with ``DATAVIZ_S3_TIMEOUT``, and a
failing sync shows on ``/metrics`` (``dataviz_snapshot_sync_failing``) and
``/readyz`` (``last_error``) until a look at S3 succeeds again. After a new
version, the local versions S3 no longer lists are deleted: an erasure
withdraws the versions that hold erased learners.
"""
from __future__ import annotations

import fcntl
import logging
import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

from etl import snapshot_format as snapshots
from etl.snapshot_s3 import S3Snapshots

log = logging.getLogger("dataviz.sync")
LOCK_FILE = ".sync.lock"


@contextmanager
def _host_lock(root: Path):
    fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


class SnapshotSync:
    """Follows the S3 pointer into one local snapshot folder, from a background thread."""

    def __init__(self, url: str, root: str | Path, interval: float, timeout: float = 30.0):
        self.remote = S3Snapshots(url, timeout=timeout)
        self.root = Path(root)
        self.interval = interval
        self.first_attempt = threading.Event()  # set once the first look at S3 is over, whatever it found
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "SnapshotSync":
        self._thread = threading.Thread(target=self._run, name="snapshot-sync", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sync_once()
                self.last_error = None
            except Exception as exc:  # S3 down or a damaged upload: keep serving, try again next tick
                log.warning("cannot follow %s: %s", self.remote.url, exc)
                # /readyz shows last_error to anyone: no bucket name, no botocore text
                self.last_error = f"cannot follow the snapshots on S3 ({exc.__class__.__name__}, details in the log)"
            self.first_attempt.set()
            self._stop.wait(self.interval)

    def sync_once(self) -> str | None:
        """Bring the local folder to the version S3 names; returns it (``None``: nothing published)."""
        version = self.remote.live_version()
        if version is None or snapshots.live_version(self.root) == version:
            return version
        self.root.mkdir(parents=True, exist_ok=True)
        with _host_lock(self.root):
            version = self.remote.live_version()
            if version is None or snapshots.live_version(self.root) == version:
                return version
            for stale in self.root.glob(".download-*"):  # left by a worker killed mid-download
                shutil.rmtree(stale, ignore_errors=True)
            self.remote.download(version, self.root)
            snapshots.publish(self.root, version)
            snapshots.prune(self.root, temp=False)
            self._drop_withdrawn(version)
        log.info("snapshot %s downloaded from %s", version, self.remote.url)
        return version

    def _drop_withdrawn(self, live: str) -> None:
        """Delete the local versions S3 no longer has: an erasure (``etl.forget``) replaced or deleted them
        because they hold erased learners, so no host may keep a copy."""
        kept = set(self.remote.versions())
        for version in snapshots.versions(self.root):
            if version not in kept and version != live:
                shutil.rmtree(self.root / version, ignore_errors=True)
                log.info("snapshot %s withdrawn from %s: deleted here too", version, self.remote.url)
