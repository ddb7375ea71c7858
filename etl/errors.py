"""The ETL's errors: one base class, and the one table that turns an outcome into a CLI exit code.

Every failure a refresh or a rollback expects is an ``EtlError``; each kind
names the outcome it ends in (``docs/operations.md`` lists the outcomes). The
orchestrator (``etl.refresh``) catches ``EtlError`` and reports
``exc.outcome``; the CLI (``etl.__main__``) exits with ``EXIT_CODES[outcome]``.
``SnapshotError`` belongs to the snapshot contract (``etl.snapshot_format``)
and ``ClusterError`` to the Dask engine; both derive from ``EtlError``.
"""
from __future__ import annotations

# outcome → exit code of ``python -m etl refresh|rollback`` (scripts and cron rely on 0 / 1)
EXIT_CODES = {
    "published": 0,
    "up_to_date": 0,
    "skipped": 0,  # the watcher's: this export was rejected before
    "held": 0,  # this export was rolled back: it waits for a newer one or --force (etl.rollback)
    "rolled_back": 0,
    "erased": 0,  # python -m etl forget (etl.forget)
    "rejected": 1,
    "failed": 1,
    "busy": 1,
    "refused": 2,  # erasure without a usable DATAVIZ_ERASURE_KEY (etl.erasure): fix the configuration
}


class EtlError(Exception):
    """A failure the ETL expects; ``str(exc)`` is the one-line reason."""

    outcome = "failed"

    def summary(self, step: str | None) -> str:
        """The result's one-line message when a refresh ends on this error during ``step``."""
        return f"{step} failed: {self}"


class ExportRejected(EtlError):
    """The whole export is unusable; ``str(exc)`` is the one-line reason."""

    outcome = "rejected"

    def summary(self, step: str | None) -> str:
        return f"export rejected: {self}"


class SourceError(EtlError):
    """The source cannot be read (missing folder, unreachable bucket...): not the export's fault."""

    def summary(self, step: str | None) -> str:
        return f"source unreachable: {self}"


class RefreshBusy(EtlError):
    """Another refresh (or rollback) holds the lock."""

    outcome = "busy"

    def summary(self, step: str | None) -> str:
        return str(self)
