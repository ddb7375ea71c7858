"""Rollback: make an earlier snapshot live again, then the same propagation as a refresh.

``python -m etl rollback [--to VERSION]`` (``docs/operations.md``) calls
``rollback``; without ``--to`` the target is the newest version older than the
live one. The target must be complete where the web hosts read it (the local
folder, or S3 with ``DATAVIZ_SNAPSHOT_URL``). Under the refresh lock, the
purges it calls for are journaled, the pointer moves, then the web workers are
waited for, the app cache cleared and Varnish purged (``etl.propagate``); a
laggard does not undo a rollback. The report is filed like a refresh's.

A rollback holds: the exports of the snapshots it moved away from are written
to ``<snapshot root>/rollback-hold.json``, and a refresh (the watcher's ticks,
``etl refresh``, the webhook) does not load any of them again (outcome
``held``) until a newer export arrives (another date, or the same date
uploaded again: another identity) or an operator passes ``--force``. Any
publish releases the hold. Without it the watcher republished the export it
had just been rolled back from at its next tick.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import time
from pathlib import Path

from app.config import Settings
from etl import snapshot as snapshots
from etl.errors import EtlError
from etl.snapshot_format import SnapshotError
from etl.propagate import Propagation
from etl.report import RefreshReport, RefreshResult
from etl.snapshot_s3 import Published
from etl.steps import Steps, refresh_lock

log = logging.getLogger("dataviz.rollback")


HOLD_FILE = "rollback-hold.json"


def held_exports(root: Path) -> list[dict]:
    """The export identities a rollback moved away from, which no refresh loads again without ``--force``."""
    try:
        return json.loads((Path(root) / HOLD_FILE).read_text())["exports"]
    except FileNotFoundError:
        return []
    except (ValueError, KeyError, TypeError) as exc:
        # unreadable: hold nothing rather than block every refresh; the operator can roll back again
        log.error("cannot read %s (%s): no export is held back", Path(root) / HOLD_FILE, exc)
        return []


def release_hold(root: Path) -> None:
    """After a publish: the live snapshot is the operator's or a newer export's choice, nothing is held."""
    (Path(root) / HOLD_FILE).unlink(missing_ok=True)


def _hold(root: Path, away_from: dict | None, back_to: dict | None, live: str | None, target: str) -> None:
    """Hold ``away_from`` (the export the rollback left), keep earlier holds, release ``back_to`` (now live)."""
    exports = [e for e in held_exports(root) if e != back_to]
    if away_from and away_from != back_to and away_from not in exports:
        exports.append(away_from)
    if not exports:
        release_hold(root)
        return
    snapshots.write_json(Path(root) / HOLD_FILE, {"exports": exports, "rolled_back_from": live, "to": target,
                                                  "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})


class _NoTarget(EtlError):
    """No version to roll back to."""

    def summary(self, step: str | None) -> str:
        return str(self)


def _target(published: Published, live: str | None, to: str | None) -> str:
    """The version to make live: ``to``, or the newest one older than ``live``."""
    available = published.versions()
    where = "on S3" if published.remote else "on disk"
    if to is None:
        older = [v for v in available if live is None or v < live]
        if not older:
            raise _NoTarget(f"no snapshot older than {live} to roll back to "
                            f"({where}: {', '.join(available) or 'none'})")
        to = older[-1]
    if to not in available:
        raise _NoTarget(f"snapshot {to} is not {where} (available: {', '.join(available) or 'none'})")
    return to


def _export_of(published: Published, version: str | None) -> dict | None:
    try:
        return published.read_manifest(version).get("export") if version else None
    except SnapshotError:
        return None


def rollback(settings: Settings, to: str | None = None) -> tuple[RefreshResult, list[str]]:
    """Roll back; never raises for an expected failure. Returns the result (``rolled_back`` or ``failed`` /
    ``busy``) and warnings for the operator (web hosts that did not follow, Varnish purges still pending)."""
    root = Path(settings.snapshot_dir)
    published = Published(root, settings.snapshot_url, settings.s3_timeout)
    steps = Steps()
    try:
        live = published.live_version()
        target = _target(published, live, to)
        back_to = published.read_manifest(target).get("export", {})
        report = RefreshReport(steps.timings, outcome="rolled_back", previous_version=live, version=target,
                               export=back_to)
        with refresh_lock(root):
            propagation = Propagation(settings)
            plan = propagation.before_publish(published, live, target)
            away_from = _export_of(published, live)
            with steps("publish"):
                _hold(root, away_from, back_to, live, target)  # before the pointer moves: a watcher never
                published.publish(target)                      # sees the rollback without its hold
            report.propagated = propagation.after_publish(published, live, target, time.monotonic(), steps, plan,
                                                          restore=False)
    except _NoTarget as exc:
        return RefreshResult(exc.outcome, exc.summary(None)), []
    except EtlError as exc:
        return RefreshResult(exc.outcome, f"cannot roll back{' now' if exc.outcome == 'busy' else ''}: {exc}"), []
    report.message = f"rolled back: {live} → {target} is live"
    propagated = report.propagated
    warnings = [f"web {url}: {state}" for url, state in {**propagated.web["laggards"],
                                                          **propagated.web["unreachable"]}.items()]
    warnings += [f"Varnish purge of {n} keys pending on {url} (retried at the next refresh)"
                 for url, n in propagated.purge["pending"].items()]
    result = RefreshResult("rolled_back", report.message, target, report.to_dict())
    result.report_path = snapshots.save_report(root, result.report)
    return result, warnings
