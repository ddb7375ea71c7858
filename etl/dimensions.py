"""The dimension files of an export (``users.csv``, ``trainings.csv``): optional, read as strings.

Their columns come from the dimensions declared in ``etl.snapshot_format``
(``file_columns``): ``tenant_id`` and the side's key are required, the
dimensions' columns optional.

A row without a key, or with a tenant id the contract refuses, is skipped
with a warning, not rejected: the events still count, under "Unknown"
labels (``docs/data-contract.md``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from etl.csv_reader import DEFAULT_MAX_EXPORT_BYTES, check_columns, read_csv, read_header
from etl.row_rules import TENANT_ID
from etl.snapshot_format import FRAMES, TRAINING, USER, file_columns
from etl.sources import StagedExport
from etl.tenants import Tenants


@dataclass
class Dimensions:
    """The users and trainings tables (``None`` when the export has no such file), and the tenants file."""

    users: pa.Table | None
    trainings: pa.Table | None
    tenants: Tenants


def read_dimensions(staged: StagedExport, warnings: list[str], max_bytes: int, tenants: Tenants) -> Dimensions:
    """Both dimension files of a staged export, beside its tenants (``etl.tenants``, read before the
    activity); what was skipped goes to ``warnings``."""
    tables = {}
    for side in (USER, TRAINING):
        columns = file_columns(side)
        tables[side] = read_dimension(staged.path(FRAMES[side]), columns[:2], columns[2:], columns[:2],
                                      warnings, max_bytes)
    return Dimensions(users=tables[USER], trainings=tables[TRAINING], tenants=tenants)


def read_dimension(path: Path | None, required: tuple[str, ...], optional: tuple[str, ...],
                   key: tuple[str, str], warnings: list[str],
                   max_bytes: int = DEFAULT_MAX_EXPORT_BYTES) -> pa.Table | None:
    """A users or trainings file as strings; rows without a key are skipped with a warning."""
    if path is None:
        return None
    header = read_header(path, max_bytes)
    columns = check_columns(path, header, required, optional, warnings)
    table = read_csv(path, columns, max_bytes=max_bytes)
    for name in optional:
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(table.num_rows, pa.string()))
    ok = pc.and_(pc.is_valid(table.column(key[0])), pc.is_valid(table.column(key[1])))
    bad_tenant = pc.invert(pc.fill_null(pc.match_substring_regex(table.column(key[0]), TENANT_ID.pattern), False))
    ok = pc.and_(ok, pc.invert(bad_tenant))
    skipped = table.num_rows - pc.sum(pc.cast(ok, pa.int64())).as_py() if table.num_rows else 0
    if skipped:
        warnings.append(f"{path.name}: {skipped} rows without a valid {key[0]} or {key[1]} skipped")
    return table.filter(ok)
