"""One refresh: newest complete export → validate → transform → snapshot → publish.

In production (``refresh_with_settings``, used by the CLI, the watcher and the
webhook) the chain goes on after the publish: wait until the web workers serve
the new snapshot, clear the app cache, purge Varnish (``etl.propagate``).

``run_refresh`` is the orchestrator: under the refresh lock (``etl.steps``) it
runs declared steps, each a function with explicit inputs and a typed result
(``find_export``, ``check_live``, ``validate_export``, ``transform``,
``write_version``, then publishing and propagating), and files each result in
the ``RefreshReport`` (``etl.report``), which nothing else writes. Whatever
fails, the live snapshot stays as it was: every expected failure is an
``EtlError`` (``etl.errors``) whose outcome the result carries, and a report
(JSON, plus one log line) says what happened and how long each step took
(``docs/operations.md``).
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from app.config import Settings
from etl import snapshot as snapshots
from etl.assignments import Assignments, read_assignments
from etl.csv_reader import DEFAULT_MAX_EXPORT_BYTES
from etl.digest import tenant_digests
from etl.dimensions import Dimensions, read_dimensions
from etl.engines import Engine, PandasEngine, engine_for
from etl.erasure import Erased, drop_erased, erased_rows, load_erased, scrub_examples
from etl.errors import EtlError, ExportRejected, RefreshBusy
from etl.propagate import Propagation
from etl.report import Counts, RefreshReport, RefreshResult
from etl.rollback import held_exports, release_hold
from etl.snapshot_format import DERIVED_FRAMES, FRAME_NAMES, SnapshotError
from etl.snapshot_s3 import Published
from etl.sources import ExportRef, LocalSource, S3Source, StagedExport, latest_export, open_source
from etl.steps import Steps, refresh_lock
from etl.tenants import read_tenants
from etl.transform import Frames, Validated, build_frames

log = logging.getLogger("dataviz.refresh")


@dataclass(frozen=True)
class Limits:
    """What an export may hold: ``DATAVIZ_MAX_REJECT_RATIO`` and ``DATAVIZ_MAX_EXPORT_BYTES``."""

    max_reject_ratio: float = 0.01
    max_bytes: int = DEFAULT_MAX_EXPORT_BYTES


@dataclass
class Found:
    """The newest complete export, and what is live now."""

    source: LocalSource | S3Source
    ref: ExportRef
    export: dict  # export_identity(ref)
    live: str | None


@dataclass
class Checked:
    """The export, validated: the activity rows an engine kept, and the dimension tables."""

    activity: Validated
    dimensions: Dimensions
    assignments: Assignments
    counts: Counts


def export_identity(ref) -> dict:
    return {"date": ref.name, "location": ref.location, "files": sorted(ref.files), "fingerprint": ref.fingerprint}


def refresh_with_settings(settings: Settings, *, force: bool = False, web_timeout: float | None = None,
                          skip_export: dict | None = None) -> RefreshResult:
    """The production chain for one configuration: refresh, then web workers, app cache, Varnish."""
    return run_refresh(settings.source, settings.snapshot_dir, force=force,
                       max_reject_ratio=settings.max_reject_ratio, max_export_bytes=settings.max_export_bytes,
                       s3_timeout=settings.s3_timeout, skip_export=skip_export,
                       propagation=Propagation(settings, web_timeout), snapshot_url=settings.snapshot_url,
                       engine=engine_for(settings), erasure_key=settings.erasure_key)


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


def use_small_pages() -> None:
    """Have numpy leave its large arrays on ordinary pages, unless the operator chose (``NUMPY_MADVISE_HUGEPAGE``).

    numpy asks the kernel for transparent huge pages on every array of 4 MB or
    more (``madvise``). A refresh allocates gigabytes of short-lived arrays, and
    on this project's machine (THP ``defrag=madvise``: each such fault may wait
    for the kernel to compact memory) a 10M-event many-learners refresh took
    44 to 51 s with them and 40 to 43 s without, its peak RSS about 70 MB lower
    (3 alternated runs each, docs/benchmarks.md). On a quiet machine they are faster
    but cost memory: 100M events in 112 s instead of 143 s, at 17.2 GB instead of
    15.5 GB (session 24); memory is the scarcer here, so they stay off unless the
    operator turns them on. Only the refresh process switches.
    """
    if os.environ.get("NUMPY_MADVISE_HUGEPAGE"):
        return
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:  # a numpy without the switch keeps its default
        return
    _set_madvise_hugepage(False)


def run_refresh(source: str, snapshot_dir: str | Path, *, force: bool = False,
                max_reject_ratio: float = 0.01, max_export_bytes: int = DEFAULT_MAX_EXPORT_BYTES,
                s3_timeout: float = 30.0, propagation: Propagation | None = None, skip_export: dict | None = None,
                snapshot_url: str | None = None, engine: Engine | None = None,
                erasure_key: str | None = None) -> RefreshResult:
    """Refresh once; never raises for bad input or an unreachable source.

    With a ``propagation`` (``etl.propagate.Propagation``), pending Varnish
    purges are retried first, and the steps after the publish run inside the lock.
    ``skip_export`` (an ``export_identity``) is not loaded again: the watcher
    passes the export it saw rejected, so a bad export is not re-read every tick.
    With ``snapshot_url`` (``s3://...``) the snapshot is also uploaded there and
    published by S3's pointer, which the web hosts follow (``etl.snapshot_s3``).
    ``engine`` validates the activity: ``PandasEngine`` (the default) or
    ``etl.dask_engine.DaskEngine``; both produce the same snapshot.
    ``erasure_key`` (``DATAVIZ_ERASURE_KEY``) reads the erased learners' list
    (``etl.erasure``), whose learners are kept out; with a list and no key the
    refresh is ``refused``.
    """
    use_lean_arrow_pool()
    use_small_pages()
    root = Path(snapshot_dir)
    started = time.perf_counter()
    steps = Steps()
    report = RefreshReport(steps.timings, source=str(source),
                           started_at=dt.datetime.now(dt.timezone.utc).isoformat())
    try:
        with refresh_lock(root):
            if propagation is not None:
                report.retried_purges = propagation.retry_pending(root, steps)
            result = _refresh_locked(Refresh(lambda: open_source(source, s3_timeout),
                                             Published(root, snapshot_url, s3_timeout),
                                             Limits(max_reject_ratio, max_export_bytes), engine or PandasEngine(),
                                             propagation, steps, report, erasure_key), force, skip_export)
            # saved before the lock is released: whoever takes the lock next finds this refresh's report
            report.outcome, report.message = result.outcome, result.message
            report.seconds = round(time.perf_counter() - started, 3)
            if result.outcome not in ("up_to_date", "skipped", "held"):
                try:
                    result.report_path = snapshots.save_report(root, report.to_dict(), result.version)
                except OSError as exc:  # a full disk must not turn a known outcome into a traceback
                    log.error("cannot save the refresh report in %s: %s", root, exc.strerror or exc)
                    result.message += f"; report not saved ({exc.strerror or exc})"
    except RefreshBusy as exc:
        return RefreshResult(exc.outcome, str(exc))
    result.report = report.to_dict()
    level = logging.INFO if result.ok else logging.ERROR
    log.log(level, "refresh %s: %s (%.1fs)", result.outcome, result.message, report.seconds)
    return result


# --- the steps -------------------------------------------------------------------------------------------------


def find_export(open_src, published: Published) -> Found:
    """The newest complete export of the source, and the version live now."""
    src = open_src()
    ref = latest_export(src)
    return Found(src, ref, export_identity(ref), published.live_version())


@dataclass
class LiveCheck:
    current: bool  # the live snapshot already holds this export, whole and of this schema
    damaged: str | None = None  # why the live snapshot cannot stay, when it is damaged or outdated


def check_live(published: Published, found: Found) -> LiveCheck:
    """Whether the live snapshot already holds this export: the manifest first, so a new export never waits
    for the old snapshot's files to be checked (an older schema is rebuilt)."""
    try:
        if published.read_manifest(found.live).get("export") != found.export:
            return LiveCheck(False)
        published.verify(found.live)  # raises SnapshotError when damaged or outdated
        return LiveCheck(True)
    except SnapshotError as exc:  # a damaged or outdated live snapshot is a reason to refresh
        log.warning("the live snapshot cannot stay (%s): loading export %s again", exc, found.ref.name)
        return LiveCheck(False, str(exc))


def validate_export(staged: StagedExport, engine: Engine, limits: Limits, erased: Erased) -> Checked:
    """The tenants file first (its time zones set the events' local hours and the assignments' dates), then the
    activity through ``engine``, the dimensions through ``etl.dimensions``, the assignments through
    ``etl.assignments``, the ``erased`` learners taken out of all of them (``etl.erasure``); raises
    ``ExportRejected``."""
    if staged.ref.table_file("activity") is None:
        raise ExportRejected(f"export {staged.ref.name} has no activity.csv or activity.csv.gz")
    tenant_warnings: list[str] = []
    tenants = read_tenants(staged.path("tenants"), tenant_warnings, limits.max_bytes)
    side_warnings: list[str] = []

    def sides() -> tuple[Dimensions, Assignments]:
        return (read_dimensions(staged, side_warnings, limits.max_bytes, tenants),
                read_assignments(staged.path("assignments"), tenants.zones, limits.max_reject_ratio, side_warnings,
                                 limits.max_bytes))

    with ThreadPoolExecutor(max_workers=1) as pool:  # the other files are read while the activity is checked
        other_files = pool.submit(sides)
        activity = engine.validate(staged, limits.max_reject_ratio, limits.max_bytes, tenants.zones)
        dimensions, assignments = other_files.result()  # the activity's reason first, when both are rejected
    warnings = activity.warnings + tenant_warnings + side_warnings
    staged.check_unchanged()
    rejects = activity.rejects.to_dict()
    dropped = drop_erased(activity, dimensions, rejects, erased)
    if erased:  # an erased learner's assignments go too, and any example naming them
        assignments = assignments.take(~erased_rows(assignments, erased))
    assignments_file = assignments.to_report()
    if erased:
        scrub_examples(assignments_file["rejects"], erased)
    counts = Counts(rows_read=activity.rows_read, rows_accepted=activity.rows.events,
                    rows_rejected=activity.rejects.total, duplicates_dropped=activity.duplicates_dropped,
                    rejects=rejects, warnings=warnings, engine_details=activity.details,
                    tenants_file=tenants.to_report(), assignments_file=assignments_file,
                    erased=dropped.to_dict() if erased else None)
    return Checked(activity, dimensions, assignments, counts)


def transform(checked: Checked, export_date: dt.date) -> Frames:
    dims = checked.dimensions
    rows = checked.activity.rows
    # one date for every tenant, whatever its zone: the last UTC day with data, at most the export date
    data_as_of = min(rows.last_utc_day, (export_date - dt.date(1970, 1, 1)).days)
    return build_frames(rows, dims.users, dims.trainings, dims.tenants, checked.assignments, data_as_of)


def write_version(root: Path, found: Found, frames: Frames, counts: Counts, version: str | None = None) -> str:
    """A new snapshot folder (not yet live) and its manifest, with each tenant's digest (what the Varnish purge
    compares, ``etl.digest``, derived while the frames are written); returns its version (``version``, or a new
    one)."""
    version = version or snapshots.new_version(root)
    manifest = {
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "export": found.export,
        "data_as_of": (dt.date(1970, 1, 1) + dt.timedelta(days=frames.data_as_of)).isoformat(),
        "rows": {"read": counts.rows_read, "accepted": counts.rows_accepted,
                 "rejected": counts.rows_rejected, "duplicates": counts.duplicates_dropped,
                 **({"erased": counts.erased["activity_rows"]} if counts.erased else {}),
                 **{f"{name}_frame": len(getattr(frames, name)) for name in FRAME_NAMES
                    if name not in DERIVED_FRAMES}},  # write_snapshot adds the derived frames' counts
        "tenants": len(frames.tenants),
    }
    snapshots.write_snapshot(root, version, frames, manifest, {"tenant_digests": tenant_digests})
    return version


# --- the orchestrator ------------------------------------------------------------------------------------------


@dataclass
class Refresh:
    """What one refresh runs with."""

    open_source: Callable[[], LocalSource | S3Source]
    published: Published
    limits: Limits
    engine: Engine
    propagation: Propagation | None
    steps: Steps
    report: RefreshReport
    erasure_key: str | None = None


def _refresh_locked(run: Refresh, force: bool, skip_export: dict | None) -> RefreshResult:
    steps, report = run.steps, run.report
    try:
        return _steps(run, force, skip_export)
    except EtlError as exc:
        report.failed_step = steps.current
        return RefreshResult(exc.outcome, exc.summary(steps.current))
    except OSError as exc:
        report.failed_step = steps.current
        return RefreshResult("failed", f"{steps.current} failed: {exc.strerror or exc}")
    except Exception as exc:  # a bug: still a report, an exit code and the old snapshot live, not a traceback
        log.exception("refresh failed in step %s", steps.current)
        report.failed_step = steps.current
        return RefreshResult("failed", f"{steps.current} failed: internal error ({exc.__class__.__name__}: "
                                       f"{' '.join(str(exc).split())[:200]})")


def derive_version(run: Refresh, found: Found, version: str | None = None) -> str:
    """The export of ``found`` validated, its erased learners taken out, transformed, written (and uploaded
    with S3) as a version that is not live yet: ``version``, or a new one. A refresh runs it on the newest
    export; ``etl.forget`` on the export a version was made from."""
    steps, report, published = run.steps, run.report, run.published
    erased = load_erased(published.root, run.erasure_key)
    report.engine = run.engine.name
    with StagedExport(found.source, found.ref) as staged:
        with steps("validate"):
            checked = validate_export(staged, run.engine, run.limits, erased)
    report.counts = counts = checked.counts
    if counts.rows_accepted == 0:
        raise ExportRejected(f"export {found.ref.name}: no valid event rows")
    with steps("transform"):
        frames = transform(checked, found.ref.date)
        del checked
    with steps("write"):
        version = write_version(published.root, found, frames, counts, version)
    del frames
    if published.remote:
        with steps("upload"):
            published.upload(version)
    return version


def _steps(run: Refresh, force: bool, skip_export: dict | None) -> RefreshResult:
    steps, report, published = run.steps, run.report, run.published
    with steps("find"):
        found = find_export(run.open_source, published)
    report.export, report.previous_version = found.export, found.live
    name = found.ref.name
    if skip_export == found.export and not force:
        return RefreshResult("skipped", f"skipped: export {name} was rejected; waiting for a newer one", found.live)
    if found.live and not force:
        live = check_live(published, found)
        if live.current:
            return RefreshResult("up_to_date", f"up to date: export {name} is already live as {found.live}", found.live)
        report.live_damaged = live.damaged
        if found.export in held_exports(published.root):
            return RefreshResult("held", f"held: export {name} was rolled back and {found.live} stays live until a "
                                         f"newer export arrives (or etl refresh --force)", found.live)
    version = derive_version(run, found)
    counts = report.counts
    plan = run.propagation.before_publish(published, found.live, version) if run.propagation else None
    with steps("publish"):
        published.publish(version)
    published_at = time.monotonic()
    report.version = version
    if run.propagation is not None:
        report.propagated = run.propagation.after_publish(published, found.live, version, published_at, steps, plan)
        if report.propagated.failure:
            report.failed_step = "wait_web"
            return RefreshResult("failed", report.propagated.failure)
    release_hold(published.root)
    published.prune()
    notes = "".join(f"; {note}" for note in report.propagated.warnings()) if report.propagated else ""
    return RefreshResult("published", f"published snapshot {version} from export {name} "
                         f"({counts.rows_accepted} rows, {counts.rows_rejected} rejected){notes}", version)
