"""One refresh: newest complete export → validate → transform → snapshot → publish.

Only one refresh runs at a time: an ``flock`` on ``<snapshot root>/.refresh.lock``,
which the kernel releases when the process dies, so a crashed refresh never
leaves it held. Whatever fails, the live snapshot stays as it was, and a
report (JSON, plus one log line) says what happened and how long each step took.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from etl import snapshot as snapshots
from etl.sources import SourceError, StagedExport, latest_export, open_source
from etl.transform import build_frames
from etl.validate import (TRAININGS_COLUMNS, USERS_COLUMNS, ExportRejected, validate_activity,
                          read_dimension)

log = logging.getLogger("dataviz.refresh")


class RefreshBusy(Exception):
    """Another refresh holds the lock."""


@dataclass
class RefreshResult:
    outcome: str  # published | up_to_date | rejected | failed
    message: str
    version: str | None = None
    report: dict = field(default_factory=dict)
    report_path: Path | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in ("published", "up_to_date")


@contextmanager
def refresh_lock(root: Path, wait: bool = False):
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / ".refresh.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError as exc:
            raise RefreshBusy("another refresh is running") from exc
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


class _Steps:
    """Times each step for the report and remembers which one was running."""

    def __init__(self):
        self.timings: dict[str, float] = {}
        self.current: str | None = None

    @contextmanager
    def __call__(self, name: str):
        self.current = name
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - start, 3)


def export_identity(ref) -> dict:
    return {"date": ref.name, "location": ref.location, "files": sorted(ref.files)}


def run_refresh(source: str, snapshot_dir: str | Path, *, force: bool = False,
                max_reject_ratio: float = 0.01) -> RefreshResult:
    """Refresh once; never raises for bad input or an unreachable source."""
    root = Path(snapshot_dir)
    started = time.perf_counter()
    steps = _Steps()
    report: dict = {"source": str(source), "started_at": dt.datetime.now(dt.timezone.utc).isoformat(),
                    "outcome": None, "timings": steps.timings}
    result: RefreshResult
    try:
        with refresh_lock(root):
            result = _refresh_locked(source, root, force, max_reject_ratio, steps, report)
    except RefreshBusy as exc:
        return RefreshResult("busy", str(exc))
    report["outcome"] = result.outcome
    report["message"] = result.message
    report["seconds"] = round(time.perf_counter() - started, 3)
    if result.outcome != "up_to_date":
        result.report_path = snapshots.save_report(root, report, result.version)
    result.report = report
    level = logging.INFO if result.ok else logging.ERROR
    log.log(level, "refresh %s: %s (%.1fs)", result.outcome, result.message, report["seconds"])
    return result


def _refresh_locked(source, root, force, max_reject_ratio, steps, report) -> RefreshResult:
    try:
        with steps("find"):
            src = open_source(source)
            ref = latest_export(src)
        report["export"] = export_identity(ref)
        live = snapshots.live_version(root)
        if live and not force:
            try:
                if snapshots.read_manifest(root, live).get("export") == report["export"]:
                    return RefreshResult("up_to_date", f"up to date: export {ref.name} is already live as {live}", live)
            except snapshots.SnapshotError:
                pass  # an unreadable live snapshot is a reason to refresh, not to stop
        with StagedExport(src, ref) as staged:
            with steps("validate"):
                activity_path = staged.path("activity")
                if activity_path is None:
                    raise ExportRejected(f"export {ref.name} has no activity.csv or activity.csv.gz")
                activity = validate_activity(activity_path, ref.date, max_reject_ratio)
                warnings = activity.warnings
                users = read_dimension(staged.path("users"), USERS_COLUMNS[:2], USERS_COLUMNS[2:],
                                       ("tenant_id", "user_id"), warnings)
                trainings = read_dimension(staged.path("trainings"), TRAININGS_COLUMNS[:2], TRAININGS_COLUMNS[2:],
                                           ("tenant_id", "training_id"), warnings)
        report.update({
            "rows_read": activity.rows_read,
            "rows_accepted": activity.table.num_rows,
            "rows_rejected": activity.rejects.total,
            "duplicates_dropped": activity.duplicates_dropped,
            "rejects": activity.rejects.to_dict(),
            "warnings": warnings,
        })
        if activity.table.num_rows == 0:
            raise ExportRejected(f"export {ref.name}: no valid event rows")
        with steps("transform"):
            frames = build_frames(activity.table, users, trainings)
            del activity
        with steps("write"):
            version = snapshots.new_version(root)
            days = frames.tenants["last_day"]
            last_day = min(int(days.max()), (ref.date - dt.date(1970, 1, 1)).days)
            manifest = {
                "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "export": report["export"],
                "data_as_of": (dt.date(1970, 1, 1) + dt.timedelta(days=last_day)).isoformat(),
                "rows": {"read": report["rows_read"], "accepted": report["rows_accepted"],
                         "rejected": report["rows_rejected"], "duplicates": report["duplicates_dropped"],
                         **{f"{name}_frame": len(getattr(frames, name)) for name in snapshots.FRAME_NAMES}},
                "tenants": len(frames.tenants),
            }
            snapshots.write_snapshot(root, version, frames, manifest)
        with steps("publish"):
            snapshots.publish(root, version)
            snapshots.prune(root)
        report["version"] = version
        return RefreshResult("published", f"published snapshot {version} from export {ref.name} "
                             f"({report['rows_accepted']} rows, {report['rows_rejected']} rejected)", version)
    except ExportRejected as exc:
        report["failed_step"] = steps.current
        return RefreshResult("rejected", f"export rejected: {exc}")
    except SourceError as exc:
        report["failed_step"] = steps.current
        return RefreshResult("failed", f"source unreachable: {exc}")
    except OSError as exc:
        report["failed_step"] = steps.current
        return RefreshResult("failed", f"{steps.current} failed: {exc.strerror or exc}")
