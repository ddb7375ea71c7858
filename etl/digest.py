"""A content digest per tenant, so that a refresh purges only the tenants whose numbers changed.

The frames use global codes (users and trainings numbered across tenants,
dictionaries of labels shared by all), so one tenant's new user shifts the
codes of every tenant after it. A digest therefore hashes each tenant's slices
in a form that does not depend on other tenants: user and training codes made
local to the tenant, dictionary codes replaced by a hash of their label. Two
snapshots give a tenant the same digest exactly when every query over it
answers the same (``data_as_of``, which sets default ranges, is compared
separately by ``etl.purge``). The dimensions hashed are those of
``etl.snapshot_format.DIMENSIONS``, with the learners' names (``ATTRIBUTES``).
"""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pyarrow as pa

from etl.snapshot_format import ATTRIBUTES, FRAMES, KEYS, SIDES, hourly_dimensions, side_dimensions, tenant_spans
from etl.transform import Frames

# Each column is hashed as one fixed type, whatever width the snapshot stores it in
# (``etl.transform.narrowest`` follows the data), so that equal numbers give equal digests.
FACTS_COLUMNS = {"day": np.int32, "user": np.int32, "training": np.int32, "event": np.int8, "n": np.int32,
                 "duration": np.int64, "score_sum": np.float64, "score_n": np.int32, "completed": np.bool_}
ASSIGNMENT_COLUMNS = {"user": np.int32, "training": np.int32, "assigned_at": np.int64, "due_at": np.int64,
                      "due_day": np.int32, "completed_at": np.int64, "started": np.bool_,
                      "status": np.int8, "at_risk": np.bool_}
HOURLY_COLUMNS = {"day": np.int32, "hour": np.int8, **{d.name: np.int32 for d in hourly_dimensions()}, "n": np.int32}


def _label_hashes(labels: list[str]) -> np.ndarray:
    """One stable 64-bit number per label, indexed by the label's code."""
    return np.array([int.from_bytes(hashlib.blake2b(str(v).encode(), digest_size=8).digest(), "little",
                                    signed=True) for v in labels] or [0], dtype=np.int64)


def _feed(h, name: str, columns: dict[str, np.ndarray]) -> None:
    h.update(name.encode())
    for column, values in columns.items():
        h.update(column.encode())
        h.update(np.ascontiguousarray(values).tobytes())


def _join(values: list[str], rows: slice) -> bytes:
    return "\x1f".join(values[rows]).encode()


def _numpy(table: pa.Table, names) -> dict[str, np.ndarray]:
    return {name: table.column(name).to_numpy() for name in names}


def _side_columns(frame: pd.DataFrame, side: str, labels: dict[str, np.ndarray]) -> tuple[list, list, dict]:
    """A side's strings (its keys, its own labels) as lists and its coded labels hashed, once for all
    tenants: each tenant then takes slices, with no pandas call per tenant (200 tenants, issue 14)."""
    strings = [frame[KEYS[side]].astype(str).tolist()]
    strings += [frame[dim.label_column].astype(str).tolist() for dim in side_dimensions(side) if not dim.coded]
    strings += [frame[attribute].astype(str).tolist() for attribute in ATTRIBUTES[side]]  # the learners' names
    coded = {d.name: labels[d.name][frame[d.name].to_numpy()] for d in side_dimensions(side) if d.coded}
    return FRAMES[side], strings, coded


def _local(codes: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Global codes as each tenant's own (``starts``: its first code; ``sizes``: its rows in ``codes``, in
    tenant order)."""
    return codes - np.repeat(starts.astype(codes.dtype), sizes)


def tenant_digests(frames: Frames) -> dict[str, str]:
    """``{tenant_id: hex digest}`` of everything the queries read for that tenant.

    Every column is converted (type, local codes, hashed labels) once for all tenants; each tenant then
    hashes slices of them. A refresh of 16,000 tenants spent 10 s here doing that work tenant by tenant.
    """
    labels = {dim: _label_hashes(values) for dim, values in frames.dictionaries.items()}
    t = frames.tenants
    spans = tenant_spans(t)
    sizes = {frame: ends - starts for frame, (starts, ends) in spans.items()}
    users_start, trainings_start = spans["users"][0], spans["trainings"][0]
    facts = {c: values.astype(FACTS_COLUMNS[c], copy=False)
             for c, values in _numpy(frames.facts, FACTS_COLUMNS).items()}
    facts["user"] = _local(facts["user"], users_start, sizes["facts"])
    training = facts["training"]
    facts["training"] = np.where(training >= 0, _local(training, trainings_start, sizes["facts"]), -1)
    hourly = {c: values.astype(HOURLY_COLUMNS[c], copy=False)
              for c, values in _numpy(frames.hourly, HOURLY_COLUMNS).items()}
    for dim in hourly_dimensions():
        hourly[dim.name] = labels[dim.name][hourly[dim.name]]
    assigned = {c: values.astype(ASSIGNMENT_COLUMNS[c], copy=False)
                for c, values in _numpy(frames.assignments, ASSIGNMENT_COLUMNS).items()}
    assigned["user"] = _local(assigned["user"], users_start, sizes["assignments"])
    assigned["training"] = _local(assigned["training"], trainings_start, sizes["assignments"])
    sides = [_side_columns(getattr(frames, FRAMES[side]), side, labels) for side in SIDES]
    rows_of = {frame: [slice(a, b) for a, b in zip(starts.tolist(), ends.tolist())]
               for frame, (starts, ends) in spans.items()}
    out = {}
    names = zip(t["tenant_id"].tolist(), t["name"].tolist(), t["timezone"].tolist())
    for i, (tenant, name, zone) in enumerate(names):
        h = hashlib.blake2b(digest_size=16)
        h.update(f"{name}\x1f{zone}\x1f".encode())  # every answer names its zone
        for side, strings, coded in sides:
            rows = rows_of[side][i]
            for values in strings:
                h.update(_join(values, rows))
            _feed(h, side, {dim: values[rows] for dim, values in coded.items()})
        for frame, columns in (("facts", facts), ("hourly", hourly), ("assignments", assigned)):
            rows = rows_of[frame][i]
            _feed(h, frame, {c: values[rows] for c, values in columns.items()})
        out[str(tenant)] = h.hexdigest()
    return out
