"""Writing a snapshot: a new version folder, whole or not at all, and the refresh reports beside it.

The layout, the pointer and everything a reader needs are the contract in
``etl.snapshot_format``; this module is the ETL's writing side. A snapshot is
written into a hidden temporary folder, fsynced, renamed into place, and only
then named in ``CURRENT`` (``snapshot_format.publish``: write-to-temp +
``os.replace``), so a reader sees either the old snapshot or the complete new one.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from etl.pause import pause_point
from etl.snapshot_format import FRAME_NAMES, SCHEMA_VERSION, fsync_dir, versions

if TYPE_CHECKING:
    from etl.transform import Frames


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
