"""The dimension path of the transform: users and trainings as entities, their codes and labels.

An entity is a (tenant, id) pair, seen in the events or listed in its
dimension file (``users.csv``, ``trainings.csv``), numbered in (tenant, id)
order. With millions of distinct learners (issue 14) the pairs are found
from the rows' integer id codes (``_pairs``: an array indexed by id, or a hash
of the row keys when an id names learners of two tenants), never by sorting
the event rows; the id strings of the events and of the file are ranked
together once (``etl.arrays.dense_ranks``); the joins with the file and the
label cleaning run on Arrow arrays and on the distinct labels only, not on
object-dtype frames row by row.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl.arrays import dense_ranks, distinct
from etl.snapshot_format import ATTRIBUTES, KEYS, NAME, NAME_RANK, UNKNOWN, Dimension, side_dimensions


@dataclass
class Entities:
    """One side's entities in snapshot order: tenant code, id, and each attribute (strings, null when unknown)."""

    tenant: np.ndarray  # int32 tenant code (rank in the sorted tenant names), ascending
    ids: pa.Array
    attrs: dict[str, pa.Array]

    def __len__(self) -> int:
        return len(self.tenant)


def _listed(table: pa.Table | None, tenant_names: list[str], id_col: str) -> tuple[pa.Table | None, np.ndarray]:
    """The file's rows of tenants that have events, and their tenant codes."""
    if table is None or not table.num_rows:
        return None, np.zeros(0, dtype=np.int64)
    rank = pc.index_in(table.column("tenant_id"), value_set=pa.array(tenant_names, pa.string()))
    kept = pc.is_valid(rank)
    table = table.filter(kept)
    return table, pc.filter(rank, kept).to_numpy(zero_copy_only=False).astype(np.int64)


def _pairs(tenant: np.ndarray, idx: np.ndarray, n_values: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (tenant, id index) pairs of the rows, as ``tenant * n_values + idx``, and each row's pair.

    When no id is used by two tenants (the usual export) an id's index is its
    pair: two passes over an array of the ids, where hashing ten million row
    keys (``pd.factorize``) took 1.3 to 2.3 s for 2M learners.
    """
    owner = np.full(n_values, -1, dtype=np.int64)
    owner[idx] = tenant
    if not (owner[idx] != tenant).any():
        used = np.zeros(n_values, dtype=bool)
        used[idx] = True
        single = np.flatnonzero(used)
        return owner[single] * n_values + single, (np.cumsum(used, dtype=np.int64) - 1)[idx]
    row_pair, pairs = pd.factorize(tenant.astype(np.int64) * n_values + idx, sort=False)
    return pairs, row_pair


def _positions(ordered: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each value's position in ``ordered`` (sorted; every value is in it), as int32.

    The values are looked up in their own sorted order: a binary search whose
    successive needles ascend stays in the cache (1.75M lookups in 2M keys: about
    1.2 s in file order).
    """
    order = np.argsort(values)
    out = np.empty(len(values), dtype=np.int32)
    out[order] = np.searchsorted(ordered, values[order])
    return out


def entities(tenant: np.ndarray, tenant_names: list[str], idx: np.ndarray, values: pa.Array,
             table: pa.Table | None, id_col: str, attrs: list[str]) -> tuple[Entities, np.ndarray]:
    """The (tenant, id) entities seen in the rows or listed in ``table``, and each row's entity code.

    Rows give a tenant code and an index into the id dictionary ``values``.
    Entities of tenants with no events are dropped (such a tenant is not in the
    snapshot); a pair listed twice takes its first row's attributes.
    """
    n_values = max(len(values), 1)
    pairs, row_pair = _pairs(tenant, idx, n_values)
    listed, listed_tenant = _listed(table, tenant_names, id_col)
    seen_ids = values.take(pa.array(pairs % n_values)) if len(pairs) else pa.array([], pa.string())
    parts = [seen_ids] + ([listed.column(id_col).combine_chunks()] if listed is not None else [])
    all_ids = pa.concat_arrays([p.cast(pa.string()) for p in parts])
    rank, holder = dense_ranks(all_ids)  # the ids of both, ranked as strings
    n_ids = max(len(holder), 1)
    seen_keys = (pairs // n_values) * n_ids + rank[:len(pairs)]  # (tenant, then the id as a string)
    listed_keys, first = np.unique(listed_tenant * n_ids + rank[len(pairs):], return_index=True)
    keys = distinct(np.concatenate([seen_keys, listed_keys]))
    ids = all_ids.take(pa.array(holder[keys % n_ids])) if len(keys) else pa.array([], pa.string())
    source_row = np.full(len(keys), -1, dtype=np.int64)
    source_row[np.searchsorted(keys, listed_keys)] = first
    take = pa.array(source_row, mask=source_row < 0)
    columns = {a: (listed.column(a).take(take).combine_chunks() if listed is not None and a in listed.column_names
                   else pa.nulls(len(keys), pa.string())) for a in attrs}
    return Entities((keys // n_ids).astype(np.int32), ids, columns), _positions(keys, seen_keys)[row_pair]


def _clean(value: str | None, upper: bool) -> str:
    """A coded dimension's label: trimmed, ``UNKNOWN`` when empty, upper-cased for ``upper`` dimensions."""
    text = value.strip() if value is not None else ""
    text = text or UNKNOWN
    if upper:
        text = text.upper()
        return UNKNOWN if text == UNKNOWN.upper() else text
    return text


def coded_labels(column: pa.Array, dim: Dimension) -> tuple[np.ndarray, list[str]]:
    """A coded dimension: each entity's code into the sorted labels, and the labels.

    Cleaning is done once per distinct raw value, not once per entity.
    """
    encoded = pc.dictionary_encode(column)
    raw = encoded.dictionary.to_pylist()
    cleaned = [_clean(v, dim.upper) for v in raw]
    has_null = encoded.null_count > 0
    labels = sorted(set(cleaned) | ({UNKNOWN} if has_null else set()))
    lookup = {v: i for i, v in enumerate(labels)}
    code_of_raw = np.array([lookup[v] for v in cleaned] + [lookup.get(UNKNOWN, -1)], dtype=np.int32)
    indices = pc.fill_null(encoded.indices, len(raw)).to_numpy(zero_copy_only=False)
    return code_of_raw[indices], labels


def own_labels(column: pa.Array, ids: pa.Array) -> list[str]:
    """The entity's own label (a training's title): as it is, or its key when empty."""
    return [label if label is not None and label.strip() else key
            for label, key in zip(column.to_pylist(), ids.to_pylist())]


def names(found: Entities) -> tuple[pa.Array, np.ndarray]:
    """Each user's display name (the ``user_id`` when empty or blank) and its rank among its tenant's names in
    code-point order: equal names share a rank, so a learner list breaks their tie by user_id whichever way it
    sorts the names."""
    name = found.attrs[NAME]
    blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(name), ""), True)
    display = pc.if_else(blank, found.ids, name)
    if not len(display):
        return display, np.zeros(0, dtype=np.int32)
    encoded = pc.dictionary_encode(display)  # few distinct names: rank those, not every learner's
    rank_of = dense_ranks(encoded.dictionary)[0]
    n_names = max(len(encoded.dictionary), 1)
    keys, inverse = np.unique(found.tenant.astype(np.int64) * n_names + rank_of[encoded.indices.to_numpy()],
                              return_inverse=True)
    tenant_of = keys // n_names
    rank = (np.arange(len(keys)) - np.searchsorted(tenant_of, tenant_of))[inverse]  # restarts at each tenant
    return display, rank


def side_frame(found: Entities, side: str, codes: dict[str, np.ndarray]) -> pd.DataFrame:
    """A side's snapshot frame: its key, then each dimension's code (or, for the entity itself, its label), then
    for the users their names (``names``)."""
    def strings(values) -> pd.Series:
        return pd.Series(np.asarray(values, dtype=object), dtype=object).astype(str)

    columns = {KEYS[side]: strings(found.ids.to_numpy(zero_copy_only=False))}
    for dim in side_dimensions(side):
        if dim.coded:
            columns[dim.name] = codes[dim.name]
        else:
            columns[dim.source] = strings(own_labels(found.attrs[dim.source], found.ids))
    if NAME in ATTRIBUTES[side]:
        display, rank = names(found)
        columns[NAME] = strings(display.to_numpy(zero_copy_only=False))
        columns[NAME_RANK] = rank.astype(np.int32)
    return pd.DataFrame(columns)
