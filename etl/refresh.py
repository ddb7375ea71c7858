"""One refresh: newest complete export → validate → transform → snapshot → publish.

In production (``refresh_with_settings``, used by the CLI, the watcher and the
webhook) the chain goes on after the publish: wait until the web workers serve
the new snapshot, clear the app cache, purge Varnish (``etl.propagate``).

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

from app.config import Settings
from etl import snapshot as snapshots
from etl.digest import tenant_digests
from etl.csv_reader import DEFAULT_MAX_EXPORT_BYTES
from etl.dimensions import read_dimensions
from etl.engines import PandasEngine, engine_for
from etl.errors import ExportRejected, RefreshBusy, SourceError
from etl.pause import pause_point
from etl.snapshot_format import FRAME_NAMES, LOCK_FILE, SnapshotError
from etl.snapshot_s3 import Published
from etl.sources import StagedExport, latest_export, open_source
from etl.transform import build_frames

log = logging.getLogger("dataviz.refresh")


@dataclass
class RefreshResult:
    outcome: str  # published | up_to_date | skipped | rejected | failed | busy
    message: str
    version: str | None = None
    report: dict = field(default_factory=dict)
    report_path: Path | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in ("published", "up_to_date", "skipped")


@contextmanager
def refresh_lock(root: Path, wait: bool = False):
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError as exc:
            raise RefreshBusy("another refresh is running") from exc
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            pass  # the PID is a courtesy for people; the lock is the flock, and a full disk must not stop a refresh
        yield
    finally:
        os.close(fd)


class Steps:
    """Times each step for the report and remembers which one was running."""

    def __init__(self):
        self.timings: dict[str, float] = {}
        self.current: str | None = None

    @contextmanager
    def __call__(self, name: str):
        self.current = name
        pause_point(name)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - start, 3)


def export_identity(ref) -> dict:
    return {"date": ref.name, "location": ref.location, "files": sorted(ref.files), "fingerprint": ref.fingerprint}


def refresh_with_settings(settings: Settings, *, force: bool = False, web_timeout: float | None = None,
                          skip_export: dict | None = None) -> RefreshResult:
    """The production chain for one configuration: refresh, then web workers, app cache, Varnish."""
    from etl.propagate import Propagation

    return run_refresh(settings.source, settings.snapshot_dir, force=force,
                       max_reject_ratio=settings.max_reject_ratio, max_export_bytes=settings.max_export_bytes,
                       s3_timeout=settings.s3_timeout, skip_export=skip_export,
                       propagation=Propagation(settings, web_timeout), snapshot_url=settings.snapshot_url,
                       engine=engine_for(settings))


def use_lean_arrow_pool() -> None:
    """Have Arrow allocate from jemalloc, unless the operator chose a pool (``ARROW_DEFAULT_MEMORY_POOL``).

    Reading a 10M-event export, Arrow's default pool (mimalloc) keeps freed blocks
    and the refresh peaked between 2.1 and 3.1 GB from run to run; with jemalloc it
    stays at 2.1 GB and is a little faster (docs/benchmarks.md). Only the refresh
    process switches (``python -m etl refresh`` or ``watch``, the webhook's child):
    a web worker keeps the default, which hands the snapshot's decode buffers back
    (474 MB after loading 10M events, against 757 MB with jemalloc). A pyarrow
    built without jemalloc keeps its default.
    """
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    import pyarrow as pa

    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:
        log.info("pyarrow has no jemalloc pool; keeping %s", pa.default_memory_pool().backend_name)


def run_refresh(source: str, snapshot_dir: str | Path, *, force: bool = False,
                max_reject_ratio: float = 0.01, max_export_bytes: int = DEFAULT_MAX_EXPORT_BYTES,
                s3_timeout: float = 30.0, propagation=None, skip_export: dict | None = None,
                snapshot_url: str | None = None, engine=None) -> RefreshResult:
    """Refresh once; never raises for bad input or an unreachable source.

    With a ``propagation`` (``etl.propagate.Propagation``), pending Varnish
    purges are retried first, and the steps after the publish run inside the lock.
    ``skip_export`` (an ``export_identity``) is not loaded again: the watcher
    passes the export it saw rejected, so a bad export is not re-read every tick.
    With ``snapshot_url`` (``s3://...``) the snapshot is also uploaded there and
    published by S3's pointer, which the web hosts follow (``etl.snapshot_s3``).
    ``engine`` validates the activity: ``PandasEngine`` (the default) or
    ``etl.dask_engine.DaskEngine``; both produce the same snapshot.
    """
    use_lean_arrow_pool()
    root = Path(snapshot_dir)
    started = time.perf_counter()
    steps = Steps()
    report: dict = {"source": str(source), "started_at": dt.datetime.now(dt.timezone.utc).isoformat(),
                    "outcome": None, "timings": steps.timings}
    result: RefreshResult
    try:
        with refresh_lock(root):
            if propagation is not None:
                propagation.retry_pending(root, steps, report)
            limits = {"max_reject_ratio": max_reject_ratio, "max_bytes": max_export_bytes}
            result = _refresh_locked(lambda: open_source(source, s3_timeout), Published(root, snapshot_url, s3_timeout),
                                     force, limits, steps, report, propagation, skip_export, engine or PandasEngine())
    except RefreshBusy as exc:
        return RefreshResult("busy", str(exc))
    report["outcome"] = result.outcome
    report["message"] = result.message
    report["seconds"] = round(time.perf_counter() - started, 3)
    if result.outcome not in ("up_to_date", "skipped"):
        try:
            result.report_path = snapshots.save_report(root, report, result.version)
        except OSError as exc:  # a full disk must not turn a known outcome into a traceback
            log.error("cannot save the refresh report in %s: %s", root, exc.strerror or exc)
            result.message += f"; report not saved ({exc.strerror or exc})"
    result.report = report
    level = logging.INFO if result.ok else logging.ERROR
    log.log(level, "refresh %s: %s (%.1fs)", result.outcome, result.message, report["seconds"])
    return result


def _warnings(report: dict) -> str:
    """What went wrong after the publish without undoing it, for the one-line message."""
    notes = [f"web {url} {state}" for url, state in report.get("web", {}).get("unreachable", {}).items()]
    if not report.get("app_cache", {"ok": True})["ok"]:
        notes.append(f"app cache not cleared ({report['app_cache']['error']})")
    notes += [f"Varnish purge of {n} keys pending on {url} (retried at the next refresh)"
              for url, n in report.get("purge", {}).get("pending", {}).items()]
    return "".join(f"; {note}" for note in notes)


def _refresh_locked(open_src, published: Published, force, limits, steps, report, propagation, skip_export,
                    engine) -> RefreshResult:
    root = published.root
    try:
        with steps("find"):
            src = open_src()
            ref = latest_export(src)
            live = published.live_version()
        report["export"] = export_identity(ref)
        report["previous_version"] = live
        if skip_export == report["export"] and not force:
            return RefreshResult("skipped", f"skipped: export {ref.name} was rejected; waiting for a newer one", live)
        if live and not force:
            try:
                # the same export, and its files whole and of this schema (an older schema is rebuilt);
                # the manifest first, so a new export never waits for the old snapshot's files to be checked
                if published.read_manifest(live).get("export") == report["export"]:
                    published.verify(live)  # raises SnapshotError when damaged or outdated
                    return RefreshResult("up_to_date", f"up to date: export {ref.name} is already live as {live}", live)
            except SnapshotError as exc:  # a damaged or outdated live snapshot is a reason to refresh
                log.warning("the live snapshot cannot stay (%s): loading export %s again", exc, ref.name)
                report["live_damaged"] = str(exc)
        report["engine"] = engine.name
        with StagedExport(src, ref) as staged:
            with steps("validate"):
                if ref.table_file("activity") is None:
                    raise ExportRejected(f"export {ref.name} has no activity.csv or activity.csv.gz")
                activity = engine.validate(staged, **limits)
                warnings = activity.warnings
                dimensions = read_dimensions(staged, warnings, limits["max_bytes"])
                staged.check_unchanged()
        report.update({
            "rows_read": activity.rows_read,
            "rows_accepted": activity.rows.events,
            "rows_rejected": activity.rejects.total,
            "duplicates_dropped": activity.duplicates_dropped,
            "rejects": activity.rejects.to_dict(),
            "warnings": warnings,
            **({engine.name: activity.details} if activity.details else {}),
        })
        if activity.rows.events == 0:
            raise ExportRejected(f"export {ref.name}: no valid event rows")
        with steps("transform"):
            frames = build_frames(activity.rows, dimensions.users, dimensions.trainings)
            del activity
            digests = tenant_digests(frames)
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
                         **{f"{name}_frame": len(getattr(frames, name)) for name in FRAME_NAMES}},
                "tenants": len(frames.tenants),
                "tenant_digests": digests,
            }
            snapshots.write_snapshot(root, version, frames, manifest)
        if published.remote:
            with steps("upload"):
                published.upload(version)
        if propagation is not None:
            plan = propagation.before_publish(published, live, version)
        with steps("publish"):
            published.publish(version)
        published_at = time.monotonic()
        report["version"] = version
        if propagation is not None:
            failure = propagation.after_publish(published, live, version, published_at, steps, report, plan)
            if failure:
                report["failed_step"] = "wait_web"
                return RefreshResult("failed", failure)
        published.prune()
        return RefreshResult("published", f"published snapshot {version} from export {ref.name} "
                             f"({report['rows_accepted']} rows, {report['rows_rejected']} rejected)"
                             f"{_warnings(report)}", version)
    except ExportRejected as exc:
        report["failed_step"] = steps.current
        return RefreshResult("rejected", f"export rejected: {exc}")
    except SourceError as exc:
        report["failed_step"] = steps.current
        return RefreshResult("failed", f"source unreachable: {exc}")
    except SnapshotError as exc:
        report["failed_step"] = steps.current
        return RefreshResult("failed", f"{steps.current} failed: {exc}")
    except OSError as exc:
        report["failed_step"] = steps.current
        return RefreshResult("failed", f"{steps.current} failed: {exc.strerror or exc}")
    except Exception as exc:  # a bug: still a report, an exit code and the old snapshot live, not a traceback
        log.exception("refresh failed in step %s", steps.current)
        report["failed_step"] = steps.current
        return RefreshResult("failed", f"{steps.current} failed: internal error ({exc.__class__.__name__}: "
                                       f"{' '.join(str(exc).split())[:200]})")
