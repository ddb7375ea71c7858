"""The dimension files of an export (``users.csv``, ``trainings.csv``): optional, read as strings.

Their columns come from the dimensions declared in ``etl.snapshot_format``
(``file_columns``): ``tenant_id`` and the side's key are required, the
dimensions' columns optional.

A row without a key, or with a tenant id the contract refuses, is skipped
with a warning, not rejected: the events still count, under "Unknown"
labels (``docs/data-contract.md``). A learner's name longer than the contract
allows is cut to ``MAX_NAME_LENGTH`` characters, also with a warning: the
learner still counts, and lists still show who it is.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from etl.csv_reader import DEFAULT_MAX_EXPORT_BYTES, check_columns, read_csv, read_header
from etl.row_rules import TENANT_ID
from etl.snapshot_format import FRAMES, MAX_NAME_LENGTH, NAME, TRAINING, USER, file_columns
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
    return Dimensions(users=_short_names(tables[USER], warnings), trainings=tables[TRAINING],
                      tenants=tenants)


def _short_names(users: pa.Table | None, warnings: list[str]) -> pa.Table | None:
    """The users with every name cut to ``MAX_NAME_LENGTH`` characters; how many were cut goes to ``warnings``."""
    if users is None or not users.num_rows:
        return users
    names = users.column(NAME)
    long = pc.sum(pc.cast(pc.greater(pc.utf8_length(names), MAX_NAME_LENGTH), pa.int64())).as_py() or 0
    if not long:
        return users
    warnings.append(f"users: {long} names longer than {MAX_NAME_LENGTH} characters cut to {MAX_NAME_LENGTH}")
    return users.set_column(users.column_names.index(NAME), NAME,
                            pc.utf8_slice_codeunits(names, 0, MAX_NAME_LENGTH))


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
