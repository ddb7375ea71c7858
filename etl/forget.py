"""Erasure of learners: ``python -m etl forget --tenant T --user U [--user U ...]`` (and the DELETE route).

A snapshot cannot be cleaned in place: the ``hourly`` frame counts connections
without the user, so one learner's share of it cannot be subtracted. A version
is therefore derived again from the export it was made from, with the erased
learners taken out (``etl.refresh.derive_version``). Under the refresh lock:

1. the learners' keyed hashes are added to the erased list (``etl.erasure``) and
   saved first: whatever happens next, no later refresh loads them again;
2. each version that lists one of them in its ``users`` frame is derived again
   from its export as a replacement of the same time
   (``etl.snapshot.replacement_version``: rollback and retention keep their
   order); a kept version whose export is gone or was uploaded again cannot be
   cleaned exactly and is deleted; the live version, if its export is gone, is
   derived from the newest export, as ``refresh --force`` would;
3. the live replacement is published, then the web workers waited for, the app
   cache cleared and Varnish purged (``etl.propagate``); a laggard is reported,
   never answered with the old version put back (it holds the learners);
4. the replaced folders are deleted (on S3 too), and the examples of rejected
   rows that name the learners are removed from every kept report;
5. the receipt, which names no one, is kept in ``reports/`` and returned.

A learner no version holds is still added to the list (the LMS may export them
later) and the receipt counts 0 rows for them.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from app.config import Settings
from etl import snapshot as snapshots
from etl.engines import engine_for
from etl.erasure import Erased, ErasureRefused, erasure_key, load_erased, save_erased, scrub_examples
from etl.errors import EtlError, SourceError
from etl.propagate import Propagation
from etl.refresh import Found, Limits, Refresh, derive_version, export_identity, find_export
from etl.report import RefreshReport, RefreshResult
from etl.snapshot_format import KEYS, USER, SnapshotError, map_frame, row_ranges
from etl.snapshot_s3 import Published
from etl.sources import open_source
from etl.steps import Steps, refresh_lock

log = logging.getLogger("dataviz.forget")


@dataclass
class Receipt:
    """What an erasure did; stored and returned without the user ids."""

    tenant: str
    learners: int
    at: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    learners_found: int = 0  # of ``learners``, those some version held
    versions: list[dict] = field(default_factory=list)  # per version that held them: what became of it
    live: str | None = None
    reports_scrubbed: dict = field(default_factory=lambda: {"files": 0, "examples": 0})
    propagated: dict | None = None
    outcome: str = "erased"
    message: str = ""

    def to_dict(self) -> dict:
        return {"outcome": self.outcome, "message": self.message, "at": self.at, "tenant": self.tenant,
                "learners": self.learners, "learners_found": self.learners_found, "versions": self.versions,
                "live": self.live, "reports_scrubbed": self.reports_scrubbed, "propagated": self.propagated}


def held_ids(root: Path, version: str, tenant: str, user_ids: list[str]) -> set[str] | None:
    """Those of ``user_ids`` the version's ``users`` frame lists under ``tenant`` (``None``: unreadable)."""
    try:
        tenants = map_frame(root, version, "tenants").to_pydict()
        users = map_frame(root, version, "users")
    except SnapshotError:
        return None
    if tenant not in tenants["tenant_id"]:
        return set()
    rows = row_ranges(tenants, tenants["tenant_id"].index(tenant)).users
    ids = users.column(KEYS[USER]).slice(rows.start, rows.stop - rows.start)
    return set(pc.filter(ids, pc.is_in(ids, value_set=pa.array(user_ids, pa.string()))).to_pylist())


def _held(published: Published, version: str, tenant: str, user_ids: list[str]) -> set[str] | None:
    try:
        if published.remote and not (published.root / version).is_dir():
            published.verify(version)  # only S3 has it: downloaded, to be read
    except SnapshotError:
        return None
    return held_ids(published.root, version, tenant, user_ids)


def same_export(identity: dict, s3_timeout: float) -> Found | None:
    """The export ``identity`` names, if its folder still holds it unchanged (same files, sizes, times)."""
    location = str(identity.get("location", ""))
    try:
        source = open_source(location.rpartition("/")[0], s3_timeout)
        refs = source.exports()
    except (SourceError, OSError):
        return None
    for ref in refs:
        if export_identity(ref) == identity:
            return Found(source, ref, identity, None)
    return None


def forget(settings: Settings, tenant: str, user_ids: list[str]) -> tuple[RefreshResult, Receipt]:
    """Erase ``user_ids`` of ``tenant``; never raises for an expected failure (the result says)."""
    receipt = Receipt(tenant, len(set(user_ids)))
    root = Path(settings.snapshot_dir)
    try:
        erasure_key(settings.erasure_key)
        with refresh_lock(root):
            _forget_locked(settings, root, tenant, sorted(set(user_ids)), receipt)
    except EtlError as exc:
        receipt.outcome = exc.outcome
        receipt.message = exc.summary(None) if isinstance(exc, ErasureRefused) else f"erasure failed: {exc}"
    except OSError as exc:
        receipt.outcome, receipt.message = "failed", f"erasure failed: {exc.strerror or exc}"
    result = RefreshResult(receipt.outcome, receipt.message, receipt.live, receipt.to_dict())
    if receipt.outcome != "busy":  # a refused erasure is reported too: the route's caller follows the reports
        result.report_path = snapshots.save_report(root, receipt.to_dict())
    log.log(logging.INFO if result.ok else logging.ERROR, "forget %s: %s", result.outcome, result.message)
    return result, receipt


def _forget_locked(settings: Settings, root: Path, tenant: str, user_ids: list[str], receipt: Receipt) -> None:
    erased = load_erased(root, settings.erasure_key)
    erased.add(tenant, user_ids)
    save_erased(root, erased)
    published = Published(root, settings.snapshot_url, settings.s3_timeout)
    live = published.live_version()
    found: set[str] = set()
    replaced: dict[str, str] = {}
    for version in published.versions():
        held = _held(published, version, tenant, user_ids)
        found |= held or set()
        if held == set():
            continue
        new = _derive_again(settings, published, version, is_live=version == live)
        entry = {"version": version, "live": version == live, **new}
        receipt.versions.append(entry)
        if entry["action"] == "republished":
            replaced[version] = entry["replaced_by"]
        if version != live:
            published.delete(version)
    receipt.learners_found = len(found)
    receipt.live = replaced.get(live, live)
    if live in replaced:
        receipt.propagated = _publish(settings, published, live, replaced[live])
        published.delete(live)
    receipt.reports_scrubbed = _scrub_reports(root, erased)
    rows = sum(v.get("events_removed", 0) for v in receipt.versions)
    receipt.message = (f"erased {receipt.learners} learners of tenant {tenant} ({receipt.learners_found} found): "
                       f"{rows} events removed from {len(replaced)} republished versions, "
                       f"{sum(v['action'] == 'deleted' for v in receipt.versions)} deleted")


def _derive_again(settings: Settings, published: Published, version: str, is_live: bool) -> dict:
    """Derive ``version`` again from its export: ``{"action": "republished", ...}``, or ``"deleted"`` with why.

    The live version must be replaced: from the newest export when its own is gone, else the forget fails
    (its learners stay live until a refresh can run, and the next refresh keeps them out)."""
    try:
        manifest = published.read_manifest(version)
    except SnapshotError:
        manifest = {}
    found = same_export(manifest.get("export") or {}, settings.s3_timeout)
    why = None if found else "its export is gone or was uploaded again"
    if found is None and is_live:
        found = find_export(lambda: open_source(settings.source, settings.s3_timeout), published)
    if found is None:
        return {"action": "deleted", "reason": why}
    steps = Steps()
    report = RefreshReport(steps.timings, source=found.ref.location, outcome="published",
                           started_at=dt.datetime.now(dt.timezone.utc).isoformat(), export=found.export,
                           previous_version=version)
    run = Refresh(lambda: found.source, published, Limits(settings.max_reject_ratio, settings.max_export_bytes),
                  engine_for(settings), None, steps, report, settings.erasure_key)
    try:
        new = derive_version(run, found, snapshots.replacement_version(published.root, version))
    except EtlError as exc:
        if is_live:
            raise
        return {"action": "deleted", "reason": f"cannot be derived again: {exc}"}
    report.version = new
    report.message = f"derived again from export {found.ref.name} for an erasure, replacing {version}"
    snapshots.save_report(published.root, report.to_dict(), new)
    before = manifest.get("rows", {})
    counts = report.counts
    return {"action": "republished", "replaced_by": new, "export": found.ref.name,
            "why": None if why is None else f"{why}: derived from the newest export",
            "events_removed": max(0, int(before.get("accepted", 0)) - counts.rows_accepted),
            "users_rows_removed": counts.erased["users_rows"]}


def _publish(settings: Settings, published: Published, previous: str, version: str) -> dict:
    """Publish the live replacement and propagate it like a refresh, never putting ``previous`` back."""
    propagation, steps = Propagation(settings), Steps()
    plan = propagation.before_publish(published, previous, version)
    published.publish(version)
    propagated = propagation.after_publish(published, previous, version, time.monotonic(), steps, plan,
                                           restore=False)
    return {"web": propagated.web, "app_cache": propagated.app_cache, "purge": propagated.purge,
            "timings": steps.timings}


def _scrub_reports(root: Path, erased: Erased) -> dict:
    """Remove the examples naming erased learners from every report kept under ``root``."""
    paths = sorted((root / "reports").glob("*.json")) + sorted(root.glob("*/report.json"))
    files = examples = 0
    for path in paths:
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # pruned meanwhile, or not a report
        # the activity's examples, and assignments.csv's (whose broken lines may name a learner too)
        removed = sum(scrub_examples(rejects or {}, erased)
                      for rejects in (report.get("rejects"), (report.get("assignments_file") or {}).get("rejects")))
        if removed:
            snapshots.write_json(path, report)
            files, examples = files + 1, examples + removed
    return {"files": files, "examples": examples}
