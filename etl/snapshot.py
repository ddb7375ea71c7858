"""Immutable, versioned snapshots on disk, published atomically.

Layout under the snapshot root::

    CURRENT                      the live version (one line), replaced atomically
    <version>/manifest.json      version, source export, row counts, rejects, created_at, schema
    <version>/report.json        the refresh report that produced it
    <version>/*.parquet          the frames of ``etl.transform.Frames``
    reports/<stamp>-<export>.json  every refresh report, including rejected exports

A snapshot is written into a hidden temporary folder, fsynced, renamed into
place, and only then named in ``CURRENT`` (write-to-temp + ``os.replace``), so a
reader sees either the old snapshot or the complete new one. The last
``KEEP`` snapshots stay on disk for rollback.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from etl.pause import pause_point
from etl.transform import Frames

SCHEMA_VERSION = 2
KEEP = 3
KEEP_REPORTS = 50
POINTER = "CURRENT"
FRAME_NAMES = ("facts", "hourly", "users", "trainings", "tenants")
VERSION_PATTERN = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{4}$")


class SnapshotError(Exception):
    """A snapshot is missing, incomplete or unreadable."""


def new_version(root: Path, now: dt.datetime | None = None) -> str:
    """A version that names its creation time and sorts after every version on disk.

    Two refreshes within one second would otherwise sort by their random
    suffix; bumping past the newest keeps "newest" and "previous" meaningful.
    """
    now = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
    existing = versions(root)
    if existing:
        newest = dt.datetime.strptime(existing[-1][:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
        now = max(now, newest + dt.timedelta(seconds=1))
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json(path: Path, payload: dict) -> None:
    """Write ``payload`` whole or not at all: a temporary file, fsynced, then renamed over ``path``."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as fh:
        json.dump(payload, fh, indent=2, sort_keys=True, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_snapshot(root: Path, version: str, frames: Frames, manifest: dict) -> Path:
    """Write a complete snapshot folder (not yet live) and return it."""
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{version}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for name in FRAME_NAMES:
            frame = getattr(frames, name)
            table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
            pq.write_table(table, tmp / f"{name}.parquet", compression="lz4")
            with open(tmp / f"{name}.parquet", "rb") as fh:
                os.fsync(fh.fileno())
        manifest = {**manifest, "version": version, "schema_version": SCHEMA_VERSION,
                    "dictionaries": frames.dictionaries,
                    "files": {name: (tmp / f"{name}.parquet").stat().st_size for name in FRAME_NAMES}}
        write_json(tmp / "manifest.json", manifest)
        fsync_dir(tmp)
        pause_point("write.rename")
        final = root / version
        os.rename(tmp, final)
        fsync_dir(root)
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def publish(root: Path, version: str) -> None:
    """Make ``version`` the live snapshot (atomic pointer swap)."""
    if not (root / version / "manifest.json").is_file():
        raise SnapshotError(f"snapshot {version} is not complete in {root}")
    tmp = root / f".{POINTER}.tmp"
    with open(tmp, "w") as fh:
        fh.write(version + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, root / POINTER)
    fsync_dir(root)


def live_version(root: Path) -> str | None:
    """The version named by ``CURRENT``, or ``None`` when nothing is published."""
    try:
        text = (Path(root) / POINTER).read_text().strip()
    except FileNotFoundError:
        return None
    return text if VERSION_PATTERN.match(text) else None


def read_manifest(root: Path, version: str) -> dict:
    path = Path(root) / version / "manifest.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SnapshotError(f"cannot read {path}: {exc}") from exc


def verify(root: Path, version: str) -> dict:
    """The manifest of ``version`` once its files are checked against it, cheaply (no data read).

    Each Parquet file must have the size the manifest recorded and a readable
    footer with the recorded row count: this catches truncated, replaced or
    missing files. Raises ``SnapshotError``.
    """
    manifest = read_manifest(root, version)
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise SnapshotError(f"snapshot {version} has schema {manifest.get('schema_version')}, expected {SCHEMA_VERSION}")
    for name in FRAME_NAMES:
        path = Path(root) / version / f"{name}.parquet"
        try:
            size = path.stat().st_size
            rows = pq.read_metadata(path).num_rows
        except (OSError, pa.ArrowException) as exc:
            raise SnapshotError(f"snapshot {version}: cannot read {name}.parquet ({exc})") from exc
        if size != manifest.get("files", {}).get(name) or rows != manifest.get("rows", {}).get(f"{name}_frame", rows):
            raise SnapshotError(f"snapshot {version}: {name}.parquet is not the file the manifest describes")
    return manifest


def versions(root: Path) -> list[str]:
    """Complete snapshots on disk, oldest first (versions sort by time)."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if VERSION_PATTERN.match(p.name) and (p / "manifest.json").is_file())


def prune(root: Path, keep: int = KEEP, temp: bool = True) -> list[str]:
    """Delete all but the newest ``keep`` snapshots (never the live one), old reports and, with
    ``temp``, stale temp folders (only the refresh, under its lock, may: a web host syncing from S3 may not)."""
    root = Path(root)
    live = live_version(root)
    removed = []
    for version in versions(root)[:-keep]:
        if version != live:
            shutil.rmtree(root / version, ignore_errors=True)
            removed.append(version)
    for tmp in root.glob(".tmp-*") if temp else ():
        shutil.rmtree(tmp, ignore_errors=True)
    reports = sorted((root / "reports").glob("*.json")) if (root / "reports").is_dir() else []
    for old in reports[:-KEEP_REPORTS]:
        old.unlink(missing_ok=True)
    return removed


def save_report(root: Path, report: dict, version: str | None = None) -> Path:
    """Keep the refresh report in ``reports/`` and, when a snapshot was written, beside it."""
    root = Path(root)
    (root / "reports").mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    export = report.get("export", {}).get("date") or "none"
    path = root / "reports" / f"{stamp}-{export}.json"
    write_json(path, report)
    if version is not None and (root / version).is_dir():
        write_json(root / version / "report.json", report)
    return path


def read_frame(root: Path, version: str, name: str) -> pa.Table:
    try:
        return pq.read_table(Path(root) / version / f"{name}.parquet")
    except (OSError, pa.ArrowException) as exc:
        raise SnapshotError(f"snapshot {version}: cannot read {name}.parquet ({exc})") from exc
