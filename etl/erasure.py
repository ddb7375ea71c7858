"""Erased learners: kept only as keyed hashes, and kept out of every export a refresh loads.

``python -m etl forget`` (``etl.forget``) adds learners to the list; every
refresh, whichever engine, drops their activity rows and ``users.csv`` rows
(``drop_erased``) and the examples of rejected rows that name them
(``scrub_examples``), so an LMS that still exports them cannot bring them back.

A learner is the pair (tenant, user id), stored as
HMAC-SHA256(``DATAVIZ_ERASURE_KEY``, tenant + US + user id) in
``<snapshot root>/erased.json``: without the key nobody can test an id against
the list, and the file names no one. The file also holds an HMAC of a fixed
text (``key_check``), so a refresh or a forget run with another key refuses
instead of silently letting the erased learners back in. Tenants stay in
clear: they are customers, not people, and they let a refresh hash only the
ids of the tenants concerned.

The rows are taken out after the engine has grouped them (``drop_erased``), so
both engines share this one filter; the one thing the groups no longer tell is
the UTC day of each event, so ``data_as_of`` (the export's last day with any
event) still counts the erased learners' events: a date, naming no one.
"""
from __future__ import annotations

import csv
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from etl.arrays import distinct
from etl.errors import EtlError
from etl.snapshot import write_json
from etl.snapshot_format import fsync_dir
from etl.dimensions import Dimensions
from etl.transform import Rows, Validated

ERASED_FILE = "erased.json"
MIN_KEY_BYTES = 32
SEPARATOR = "\x1f"  # never in a tenant id (``etl.row_rules.TENANT_ID``)
_KEY_CHECK = b"dataviz erasure key check"
MAKE_KEY = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


class ErasureRefused(EtlError):
    """Erasure, or a refresh that must honour it, cannot run with this configuration."""

    outcome = "refused"

    def summary(self, step: str | None) -> str:
        return f"refused: {self}"


def erasure_key(text: str | None) -> bytes:
    """The key from ``DATAVIZ_ERASURE_KEY``; refuses none or a short one (the message never shows it)."""
    if not text:
        raise ErasureRefused(f"DATAVIZ_ERASURE_KEY is not set: erased learners are kept as hashes keyed by it, "
                             f"so erasure cannot run without it; make one with {MAKE_KEY} and keep it with the "
                             f"other secrets")
    key = text.encode()
    if len(key) < MIN_KEY_BYTES:
        raise ErasureRefused(f"DATAVIZ_ERASURE_KEY must be at least {MIN_KEY_BYTES} bytes (a short key lets "
                             f"anyone holding the list test guessed ids against it); make one with {MAKE_KEY}")
    return key


def learner_hash(key: bytes, tenant: str, user_id: str) -> str:
    return hmac.new(key, f"{tenant}{SEPARATOR}{user_id}".encode(), hashlib.sha256).hexdigest()


def _key_check(key: bytes) -> str:
    return hmac.new(key, _KEY_CHECK, hashlib.sha256).hexdigest()


@dataclass
class Erased:
    """The erased learners: per tenant, the hashes of their ids."""

    key: bytes | None
    learners: dict[str, set[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return any(self.learners.values())

    def add(self, tenant: str, user_ids: list[str]) -> None:
        self.learners.setdefault(tenant, set()).update(learner_hash(self.key, tenant, u) for u in user_ids)

    def erased_ids(self, tenant: str, ids: list[str]) -> set[str]:
        """Those of ``ids`` (distinct user ids of ``tenant``) that are erased."""
        hashes = self.learners.get(tenant)
        return {i for i in ids if learner_hash(self.key, tenant, i) in hashes} if hashes else set()

    def names_erased(self, text: str | None) -> bool:
        """Whether ``text`` (an example value: one field, or a whole malformed line) holds an erased id."""
        if not text or not self:
            return False
        try:
            fields = [f for row in csv.reader([text]) for f in row]
        except csv.Error:  # a line too broken for csv: its commas still separate the fields
            fields = text.split(",")
        tokens = {text.strip(), *(f.strip() for f in fields)}
        return any(self.erased_ids(tenant, list(tokens)) for tenant in self.learners)


def load_erased(root: Path, key_text: str | None) -> Erased:
    """The list under ``root`` (empty when there is none); refuses a list that the key cannot read."""
    path = Path(root) / ERASED_FILE
    try:
        stored = json.loads(path.read_text())
    except FileNotFoundError:
        return Erased(erasure_key(key_text) if key_text else None)
    except ValueError as exc:
        raise ErasureRefused(f"{path} is unreadable ({exc}): refusing to run without the erased learners") from exc
    if not key_text:
        raise ErasureRefused(f"{path} lists erased learners but DATAVIZ_ERASURE_KEY is not set: without it a "
                             f"refresh would bring them back; set the key erasure used")
    key = erasure_key(key_text)
    if not hmac.compare_digest(stored.get("key_check", ""), _key_check(key)):
        raise ErasureRefused(f"DATAVIZ_ERASURE_KEY is not the key {path} was made with: with it, the erased "
                             f"learners would come back; set the key erasure used")
    return Erased(key, {tenant: set(hashes) for tenant, hashes in stored.get("learners", {}).items()})


def save_erased(root: Path, erased: Erased) -> None:
    """Write the list whole or not at all, then fsync the folder: an erasure survives a crash."""
    write_json(Path(root) / ERASED_FILE, {
        "algorithm": "HMAC-SHA256(DATAVIZ_ERASURE_KEY, tenant + U+001F + user_id)",
        "key_check": _key_check(erased.key),
        "learners": {tenant: sorted(hashes) for tenant, hashes in sorted(erased.learners.items()) if hashes}})
    fsync_dir(Path(root))


# --- what a refresh drops --------------------------------------------------------------------------------------


def erased_rows(rows: Rows, erased: Erased) -> np.ndarray:
    """Which grouped activity rows belong to erased learners: only the distinct user ids of the tenants
    with erased learners are hashed, not the rows."""
    mask = np.zeros(len(rows), dtype=bool)
    tenants = rows.tenant_values.to_pylist()
    for tenant in erased.learners:
        if tenant not in tenants:
            continue
        in_tenant = rows.tenant == tenants.index(tenant)
        codes = distinct(rows.user[in_tenant])
        ids = rows.user_values.take(pa.array(codes)).to_pylist()
        gone = erased.erased_ids(tenant, ids)
        if gone:
            codes = np.array([code for code, i in zip(codes, ids) if i in gone], dtype=rows.user.dtype)
            mask |= in_tenant & np.isin(rows.user, codes)
    return mask


def erased_users(users: pa.Table, erased: Erased) -> np.ndarray:
    """Which rows of ``users.csv`` (strings: ``tenant_id``, ``user_id``...) are of erased learners."""
    mask = np.zeros(users.num_rows, dtype=bool)
    for tenant in erased.learners:
        in_tenant = pc.fill_null(pc.equal(users.column("tenant_id"), tenant), False)
        ids = pc.unique(pc.filter(users.column("user_id"), in_tenant)).to_pylist()
        gone = erased.erased_ids(tenant, ids)
        if gone:
            hit = pc.and_(in_tenant, pc.is_in(users.column("user_id"), value_set=pa.array(sorted(gone))))
            mask |= pc.fill_null(hit, False).to_numpy(zero_copy_only=False)
    return mask


def scrub_examples(rejects: dict, erased: Erased) -> int:
    """Remove, in place, the examples of rejected rows (a report's ``rejects``) that name an erased learner;
    returns how many were removed. The counts per reason stay: they name no one."""
    removed = 0
    for examples in rejects.get("examples", {}).values():
        kept = [e for e in examples if not erased.names_erased(e.get("value"))]
        removed += len(examples) - len(kept)
        examples[:] = kept
    return removed


@dataclass
class Dropped:
    """What a refresh kept out for the erased learners (the report's ``erased``)."""

    activity_rows: int = 0  # events, not counted as rejected
    users_rows: int = 0
    examples: int = 0  # examples of rejected rows left out of the report

    def to_dict(self) -> dict:
        return {"activity_rows": self.activity_rows, "users_rows": self.users_rows, "examples": self.examples}


def drop_erased(activity: Validated, dimensions: Dimensions, rejects: dict, erased: Erased) -> Dropped:
    """Take the erased learners out of a validated export, in place, whichever engine validated it."""
    if not erased:
        return Dropped()
    gone = erased_rows(activity.rows, erased)
    events = int(activity.rows.n[gone].sum())
    if gone.any():
        activity.rows = activity.rows.take(~gone)
    users = 0
    if dimensions.users is not None:
        listed = erased_users(dimensions.users, erased)
        users = int(listed.sum())
        if users:
            dimensions.users = dimensions.users.filter(pa.array(~listed))
    return Dropped(events, users, scrub_examples(rejects, erased))
