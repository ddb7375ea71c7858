"""The tenants file of an export (``tenants.csv``, optional): each tenant's display name and time zone.

Rules (``docs/data-contract.md``): a row with a bad ``tenant_id`` or an
unknown time zone is rejected with its reason and line, and that tenant stays
on UTC; an empty ``timezone`` means UTC, an empty ``name`` the tenant id. Of
the valid rows repeating a ``tenant_id`` the last wins and the others are
counted as duplicates. The file never rejects the export: a tenant it misses
only keeps UTC and its id as its name.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from etl.csv_reader import DEFAULT_MAX_EXPORT_BYTES, check_columns, read_csv, read_header
from etl.row_rules import MAX_EXAMPLES, MAX_VALUE_CHARS, TENANT_ID, RowRejects
from etl.zones import UTC, is_zone

REQUIRED = ("tenant_id",)
OPTIONAL = ("name", "timezone")
BAD_TENANT = "bad tenant_id"
UNKNOWN_ZONE = "unknown time zone"


@dataclass
class Tenants:
    """The valid rows of ``tenants.csv``, and what was rejected or repeated."""

    zones: dict[str, str] = field(default_factory=dict)  # tenant_id → IANA zone name
    names: dict[str, str] = field(default_factory=dict)  # tenant_id → display name
    rows_read: int = 0
    rejects: RowRejects = field(default_factory=RowRejects)
    duplicates: int = 0

    def zone(self, tenant: str) -> str:
        return self.zones.get(tenant, UTC)

    def name(self, tenant: str) -> str:
        return self.names.get(tenant, tenant)

    def to_report(self) -> dict:
        return {"rows_read": self.rows_read, "rows_rejected": self.rejects.total, "duplicates": self.duplicates,
                "rejects": self.rejects.to_dict()}


def _reject(rejects: RowRejects, why: str, line: int | None, column: str | None, value: str | None) -> None:
    rejects.counts[why] = rejects.counts.get(why, 0) + 1
    examples = rejects.examples.setdefault(why, [])
    if len(examples) < MAX_EXAMPLES:
        examples.append({"line": line, "column": column,
                         "value": None if value is None else value[:MAX_VALUE_CHARS]})


def read_tenants(path: Path | None, warnings: list[str], max_bytes: int = DEFAULT_MAX_EXPORT_BYTES) -> Tenants:
    """``tenants.csv[.gz]`` read and checked row by row (a few rows per tenant: no need to vectorise)."""
    out = Tenants()
    if path is None:
        return out
    header = read_header(path, max_bytes)
    columns = check_columns(path, header, REQUIRED, OPTIONAL, warnings)
    malformed: list[str] = []
    table = read_csv(path, columns, malformed=malformed, max_bytes=max_bytes).to_pydict()
    ids = table["tenant_id"]
    names = table.get("name", [None] * len(ids))
    zones = table.get("timezone", [None] * len(ids))
    out.rows_read = len(ids) + len(malformed)
    for text in malformed:
        _reject(out.rejects, f"wrong number of fields (expected {len(header)})", None, None, text)
    for row, (tenant, name, zone) in enumerate(zip(ids, names, zones)):
        tenant, name, zone = (v or "" for v in (tenant, name, zone))
        if not TENANT_ID.match(tenant):
            _reject(out.rejects, BAD_TENANT, row + 2, "tenant_id", tenant)
        elif zone and not is_zone(zone):
            _reject(out.rejects, UNKNOWN_ZONE, row + 2, "timezone", zone)
        else:
            out.duplicates += tenant in out.zones
            out.zones[tenant] = zone or UTC
            out.names[tenant] = name or tenant
    return out
