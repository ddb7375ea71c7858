"""The engine interface: how the validate step turns an export's activity file into ``Validated`` rows.

Two engines implement ``Engine``: ``PandasEngine`` (the default: the whole
file, staged locally, checked in this process) and ``etl.dask_engine.DaskEngine``
(partitions checked on a Dask cluster, for exports too big for one machine).
Both read through ``etl.csv_reader``, apply ``etl.row_rules`` and drop
duplicates with ``etl.duplicates``, so they produce the same snapshot
(``docs/scaling.md``). ``engine_for`` picks the one ``DATAVIZ_ETL_ENGINE`` names.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from etl.sources import StagedExport
from etl.transform import Validated, event_rows
from etl.validate import validate_activity

if TYPE_CHECKING:
    from app.config import Settings


class Engine(Protocol):
    """Validates the activity file of a staged export; raises ``ExportRejected`` for a bad export."""

    name: str

    def validate(self, staged: StagedExport, max_reject_ratio: float, max_bytes: int,
                 zones: Mapping[str, str]) -> Validated:
        """``zones`` (tenant id → time zone, absent: UTC) sets the local hour each event is bucketed in."""
        ...


class PandasEngine:
    """The default engine: the whole activity file, staged locally, checked in this process."""

    name = "pandas"

    def validate(self, staged: StagedExport, max_reject_ratio: float, max_bytes: int,
                 zones: Mapping[str, str]) -> Validated:
        activity = validate_activity(staged.path("activity"), staged.ref.date, max_reject_ratio, max_bytes,
                                     derive=lambda events: event_rows(events, zones))
        return Validated(activity.events, activity.rows_read, activity.rejects, activity.duplicates_dropped,
                         activity.warnings)


def engine_for(settings: Settings) -> Engine:
    """The engine ``DATAVIZ_ETL_ENGINE`` names (``--engine`` on the command line)."""
    if settings.etl_engine == "dask":
        from etl.dask_engine import DaskEngine

        return DaskEngine(scheduler=settings.dask_scheduler, s3_timeout=settings.s3_timeout)
    if settings.etl_engine != "pandas":
        raise ValueError(f"unknown ETL engine {settings.etl_engine!r}: expected pandas or dask")
    return PandasEngine()
