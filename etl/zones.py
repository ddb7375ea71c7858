"""Time zones: which names are valid, and UTC instants as a zone's wall-clock time.

A tenant's days, weeks, months and heatmap hours are those of its zone
(``docs/metrics.md``, Time zones), so the ETL buckets each event by its local
wall-clock time, written as microseconds since the epoch as if it were UTC:
``wall_clock`` then ``// US_PER_HOUR`` gives local hours, ``// 24`` local days.

Converting each event through the time zone database is slow (about a second
per ten million events), so ``wall_clock`` finds the zone's offset changes
over the events' span once and looks each event up in them (``searchsorted``).
"""
from __future__ import annotations

import zoneinfo
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

UTC = "UTC"
US_PER_HOUR = 3_600_000_000


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {UTC}


def is_zone(name: str) -> bool:
    """An IANA zone name the time zone database knows (case matters: ``Europe/Paris``)."""
    return name in _zone_names()


def _offsets(instants: np.ndarray, zone: str) -> np.ndarray:
    """The zone's UTC offset at each instant (microseconds since the epoch, UTC), in microseconds."""
    local = pc.local_timestamp(pa.array(instants, pa.timestamp("us", tz=zone)))
    return local.to_numpy(zero_copy_only=False).view(np.int64) - instants


def zone_codes(zones: list[str]) -> tuple[list[str], np.ndarray]:
    """The distinct zones of ``zones``, sorted, and each item's index among them: converting by zone, not by
    tenant, as thousands of tenants share a few zones."""
    names = sorted(set(zones))
    code_of = {zone: code for code, zone in enumerate(names)}
    return names, np.array([code_of[zone] for zone in zones], dtype=np.int16)


def wall_clock(ts: np.ndarray, zone: str) -> np.ndarray:
    """UTC instants (int64 microseconds) as the zone's wall-clock time, in microseconds as if UTC.

    The offset is read on an hourly grid over the span of ``ts``; where it
    changes between two grid points, the instant of the change is found by
    bisection to the microsecond. The time zone database never changes a
    zone's offset twice within an hour, so no change is missed.
    """
    if zone == UTC or not len(ts):
        return ts
    low, high = int(ts.min()), int(ts.max())
    grid = np.arange(low - low % US_PER_HOUR, high + US_PER_HOUR, US_PER_HOUR, dtype=np.int64)
    offset = _offsets(grid, zone)
    changed = np.flatnonzero(offset[1:] != offset[:-1])
    before, after = grid[changed], grid[changed + 1]  # the offset changes in (before, after]
    old = offset[changed]
    while len(changed) and (after - before > 1).any():
        middle = (before + after) // 2
        same = _offsets(middle, zone) == old
        before, after = np.where(same, middle, before), np.where(same, after, middle)
    offsets = np.concatenate((offset[:1], offset[changed + 1]))  # before the first change, then after each
    return ts + offsets[np.searchsorted(after, ts, side="right")]


def day_starts(days: np.ndarray, zone: str) -> np.ndarray:
    """The first instant (int64 microseconds since the epoch, UTC) of each local day of ``zone``.

    The inverse of ``wall_clock`` at midnight, through Arrow's copy of the time
    zone database: where midnight happens twice the day starts at the first,
    where a daylight-saving change skips it the day starts when the gap ends.
    ``days`` are day numbers since 1970-01-01 on the zone's calendar.
    """
    local = np.asarray(days, dtype=np.int64) * (24 * US_PER_HOUR)
    if zone == UTC or not len(local):
        return local
    instants = pc.assume_timezone(pa.array(local, pa.timestamp("us")), timezone=zone,
                                  ambiguous="earliest", nonexistent="latest")
    return instants.cast(pa.int64()).to_numpy(zero_copy_only=False)
