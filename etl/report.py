"""The refresh report: written by the orchestrator only, from the typed results of the steps.

Each step (``etl.refresh``, ``etl.rollback``, ``etl.propagate``) returns a value;
the orchestrator files it here. ``to_dict`` is the report as JSON: the file in
``reports/`` and beside the snapshot (``docs/operations.md``), the log line,
``RefreshResult.report``. A key appears once the step that knows it has run,
so a report says how far the refresh got.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from etl.errors import EXIT_CODES
from etl.propagate import Propagated


@dataclass
class Counts:
    """What the validate step read and kept (``etl.refresh.validate_export``)."""

    rows_read: int
    rows_accepted: int
    rows_rejected: int
    duplicates_dropped: int
    rejects: dict
    warnings: list[str]
    engine_details: dict  # what the engine tells about its run, under the engine's name when not empty
    tenants_file: dict  # tenants.csv: rows read, rejected (by reason, with examples), duplicates
    assignments_file: dict  # assignments.csv: rows read, accepted, rejected (by reason, with examples), duplicates
    erased: dict | None = None  # etl.erasure.Dropped: what was kept out for erased learners (None: nobody erased)


@dataclass
class RefreshReport:
    timings: dict[str, float]
    source: str | None = None  # a refresh's; a rollback has none
    started_at: str | None = None
    outcome: str | None = None
    message: str | None = None
    seconds: float | None = None
    retried_purges: dict | None = None
    export: dict | None = None  # the export's identity, and with it the version that was live
    previous_version: str | None = None
    live_damaged: str | None = None
    engine: str | None = None
    counts: Counts | None = None
    version: str | None = None
    propagated: Propagated | None = None
    failed_step: str | None = None

    def to_dict(self) -> dict:
        out: dict = {"timings": self.timings, "outcome": self.outcome}
        for name in ("source", "started_at", "retried_purges", "export", "live_damaged", "engine", "version",
                     "failed_step", "message", "seconds"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.export is not None:
            out["previous_version"] = self.previous_version
        if self.counts is not None:
            c = self.counts
            out.update(rows_read=c.rows_read, rows_accepted=c.rows_accepted, rows_rejected=c.rows_rejected,
                       duplicates_dropped=c.duplicates_dropped, rejects=c.rejects, warnings=c.warnings,
                       tenants_file=c.tenants_file, assignments_file=c.assignments_file)
            if c.erased is not None:
                out["erased"] = c.erased
            if c.engine_details:
                out[self.engine] = c.engine_details
        if self.propagated is not None:
            p = self.propagated
            out["web"] = p.web
            for name in ("web_after_restore", "app_cache", "purge"):
                if getattr(p, name) is not None:
                    out[name] = getattr(p, name)
        return out


@dataclass
class RefreshResult:
    outcome: str  # published | up_to_date | skipped | held | rejected | failed | busy (| rolled_back)
    message: str
    version: str | None = None
    report: dict = field(default_factory=dict)
    report_path: Path | None = None

    @property
    def ok(self) -> bool:
        return EXIT_CODES[self.outcome] == 0

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.outcome]
