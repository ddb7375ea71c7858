"""The dimension path of the transform: users and trainings as entities, their codes and labels.

An entity is a (tenant, id) pair, seen in the events or listed in its
dimension file (``users.csv``, ``trainings.csv``), numbered in (tenant, id)
order. With millions of distinct learners (issue 14) the pairs are found by
hashing the rows' integer keys (``pd.factorize``), never by sorting the event
rows, and the id strings are sorted once each, through their dictionary; the
joins with the file and the label cleaning run on Arrow arrays and on the
distinct labels only, not on object-dtype frames row by row.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl.arrays import distinct
from etl.snapshot_format import ATTRIBUTES, KEYS, NAME, NAME_RANK, UNKNOWN, Dimension, side_dimensions


@dataclass
class Entities:
    """One side's entities in snapshot order: tenant code, id, and each attribute (strings, null when unknown)."""

    tenant: np.ndarray  # int32 tenant code (rank in the sorted tenant names), ascending
    ids: pa.Array
    attrs: dict[str, pa.Array]

    def __len__(self) -> int:
        return len(self.tenant)


def _string_ranks(values: pa.Array) -> np.ndarray:
    """Each value's rank in code-point order (UTF-8 byte order is code-point order, as Python sorts str)."""
    order = pc.sort_indices(values).to_numpy()
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[order] = np.arange(len(values))
    return ranks


def _listed(table: pa.Table | None, tenant_names: list[str], id_col: str) -> tuple[pa.Table | None, np.ndarray]:
    """The file's rows of tenants that have events, and their tenant codes."""
    if table is None or not table.num_rows:
        return None, np.zeros(0, dtype=np.int64)
    rank = pc.index_in(table.column("tenant_id"), value_set=pa.array(tenant_names, pa.string()))
    kept = pc.is_valid(rank)
    table = table.filter(kept)
    return table, pc.filter(rank, kept).to_numpy(zero_copy_only=False).astype(np.int64)


def entities(tenant: np.ndarray, tenant_names: list[str], idx: np.ndarray, values: pa.Array,
             table: pa.Table | None, id_col: str, attrs: list[str]) -> tuple[Entities, np.ndarray]:
    """The (tenant, id) entities seen in the rows or listed in ``table``, and each row's entity code.

    Rows give a tenant code and an index into the id dictionary ``values``.
    Entities of tenants with no events are dropped (such a tenant is not in the
    snapshot); a pair listed twice takes its first row's attributes.
    """
    n_values = max(len(values), 1)
    row_pair, pairs = pd.factorize(tenant.astype(np.int64) * n_values + idx, sort=False)
    listed, listed_tenant = _listed(table, tenant_names, id_col)
    seen_ids = values.take(pa.array(pairs % n_values)) if len(pairs) else pa.array([], pa.string())
    parts = [seen_ids] + ([listed.column(id_col).combine_chunks()] if listed is not None else [])
    encoded = pc.dictionary_encode(pa.chunked_array(parts, type=pa.string()))
    chunks = encoded.chunks
    dictionary = chunks[-1].dictionary if chunks else pa.array([], pa.string())
    codes = np.concatenate([c.indices.to_numpy(zero_copy_only=False).astype(np.int64) for c in chunks]
                           or [np.zeros(0, np.int64)])
    n_ids = max(len(dictionary), 1)
    ranks = _string_ranks(dictionary)
    sort_key = lambda t, c: t * n_ids + ranks[c]  # noqa: E731  (tenant, then the id as a string)
    seen_keys = sort_key(pairs // n_values, codes[:len(pairs)])
    listed_keys, first = np.unique(sort_key(listed_tenant, codes[len(pairs):]), return_index=True)
    keys = distinct(np.concatenate([seen_keys, listed_keys]))
    by_rank = np.empty(len(dictionary), dtype=np.int64)
    by_rank[ranks] = np.arange(len(dictionary))
    ids = dictionary.take(pa.array(by_rank[keys % n_ids])) if len(keys) else pa.array([], pa.string())
    source_row = np.full(len(keys), -1, dtype=np.int64)
    source_row[np.searchsorted(keys, listed_keys)] = first
    take = pa.array(source_row, mask=source_row < 0)
    columns = {a: (listed.column(a).take(take).combine_chunks() if listed is not None and a in listed.column_names
                   else pa.nulls(len(keys), pa.string())) for a in attrs}
    pair_code = np.searchsorted(keys, seen_keys).astype(np.int32)
    return Entities((keys // n_ids).astype(np.int32), ids, columns), pair_code[row_pair]


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
    encoded = pc.dictionary_encode(display)
    rank_of = _string_ranks(encoded.dictionary)
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
