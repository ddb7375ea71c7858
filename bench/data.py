"""The data every benchmark runs on: generated exports (cached), their snapshot, raw events.

Two shapes of data (``PROFILES``, ``python -m etl generate --profile``): "default",
the demo's (30 tenants, ~120 events per learner), and "many-learners" (200 tenants
with a long tail, a handful of events per learner), because the refresh's cost follows
the number of distinct learners, not only the number of events (issue 14). A profile
can be drawn for fewer tenants (``tenants``): many-learners in one tenant is the worst
shape for a learner list (issue 15), every learner of the export in the one list; the default profile in
``MANY_TENANTS`` tenants is the shape of a vendor with thousands of customers, whose refresh and analyst pages
did work tenant by tenant.

Exports are cached under ``bench/.cache/exports/[<profile>-][<T>tenants-][<N>assigned-]seed<S>-<N>-<digest>/`` (gitignored): the
generator is deterministic for a seed, a size and an end date, so a cached
export is byte-for-byte the one a fresh run would write (the digest of
``etl/generate.py`` and ``etl/synthetic.py`` is part of the key). The snapshot and the
raw-event Parquet files are rebuilt by every run from the code being
measured, so they never go stale.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from bench.common import CACHE, ROOT, log, run_task

SEED = 7
PROFILES = ("default", "many-learners")  # tenants: the profile's own (30, 200)
LARGE = 100_000_000  # issue 14's size: the families whose targets name it (etl, ranges, memory) run it too
LARGE_MEMORY_NEEDED = {"default": 16 << 30, "many-learners": 28 << 30}  # what the refresh peaks at, with margin
MANY_TENANTS = 20_000  # the default profile drawn for a vendor's thousands of customers, a few learners each
END_DATE = dt.date(2026, 10, 31)
DAYS = 730


@dataclass
class Dataset:
    """One size: its export folder (the dated one), snapshot root and raw-event files."""

    events: int
    export_root: Path  # what DATAVIZ_SOURCE points at
    profile: str = "default"
    tenants: int | None = None  # None: the profile's
    assignment_rows: int | None = None  # None: the generator's
    snapshot_root: Path | None = None
    raw_dir: Path | None = None  # events.parquet, users.parquet, trainings.parquet

    @property
    def label(self) -> str:
        shape = "" if self.profile == "default" else f" {self.profile}"
        return label(self.events) + shape + ("" if self.tenants is None else f" in {self.tenants} tenant(s)") + (
            "" if self.assignment_rows is None else f" with {self.assignment_rows:,} assignment rows")

    @property
    def export_dir(self) -> Path:
        (folder,) = [p for p in self.export_root.iterdir() if p.is_dir()]
        return folder

    @property
    def activity(self) -> Path:
        return self.export_dir / "activity.csv.gz"

    @property
    def work(self) -> Path:
        path = CACHE / "work" / f"{_prefix(self.profile, self.tenants, self.assignment_rows)}seed{SEED}-{self.events}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def without(self, name: str) -> Path:
        """The same export without one optional file (``name``: ``tenants``, ``assignments``), as hard links:
        the baseline a bench compares a v1.1 file's cost with."""
        root = self.work / f"no-{name}-export"
        shutil.rmtree(root, ignore_errors=True)
        folder = root / self.export_dir.name
        folder.mkdir(parents=True)
        for path in self.export_dir.iterdir():
            if not path.name.startswith(f"{name}."):
                os.link(path, folder / path.name)
        return root


def label(events: int) -> str:
    return f"{events // 1_000_000}M" if events % 1_000_000 == 0 else f"{events:,}"


def generator_digest() -> str:
    """A digest of the generator's source: a changed generator never reuses an old export."""
    sources = b"".join((ROOT / "etl" / name).read_bytes() for name in ("generate.py", "synthetic.py"))
    return hashlib.sha256(sources).hexdigest()[:10]


def _prefix(profile: str, tenants: int | None = None, assignment_rows: int | None = None) -> str:
    """Cache folder prefix: none for the default profile, tenants and assignments, so existing caches stay valid."""
    return ("" if profile == "default" else f"{profile}-") + ("" if tenants is None else f"{tenants}tenants-") + (
        "" if assignment_rows is None else f"{assignment_rows}assigned-")


def export(events: int, profile: str = "default", tenants: int | None = None,
           assignment_rows: int | None = None) -> Dataset:
    """The cached export of ``events`` rows of ``profile``, generated (in a subprocess) if missing; ``tenants`` and
    ``assignment_rows`` (``etl.generate.generate_export``): None for the profile's and the generator's."""
    root = CACHE / "exports" / f"{_prefix(profile, tenants, assignment_rows)}seed{SEED}-{events}-{generator_digest()}"
    if not list(root.glob("*/_SUCCESS")):
        shutil.rmtree(root, ignore_errors=True)
        log(f"generating the {label(events)}-event {profile} export into {root} (cached for later runs)")
        run_task("generate", root, events, profile, str(tenants or ""), str(assignment_rows or ""))
    return Dataset(events, root, profile, tenants=tenants, assignment_rows=assignment_rows)
