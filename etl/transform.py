"""Denormalize valid events with the user and training dimensions and aggregate them.

The snapshot holds three compact frames, all integer-coded:

* ``facts``: one row per (tenant, day, user, training, event type) with the
  event count, summed duration, summed score and scored-event count, and for
  enrolments whether the pair was ever completed. Every metric of metrics.md,
  distinct counts over any range included, is answered from it.
* ``hourly``: connections per (tenant, day, hour, group, country), for the heatmap.
* ``users`` / ``trainings``: the dimensions, indexed by their global code.

Rows are sorted by tenant then day and ``tenants`` records each tenant's row
range, so one tenant's data is a slice and a date range a binary search.
Codes are global: users and trainings are numbered in (tenant, id) order.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl.validate import COMPLETION, CONNECTION, ENROLMENT, Events

UNKNOWN = "Unknown"
US_PER_DAY = 86_400_000_000
US_PER_HOUR = 3_600_000_000
NO_TRAINING = -1


@dataclass
class Frames:
    """Everything a snapshot stores, ready to be written."""

    facts: pa.Table
    hourly: pa.Table
    users: pd.DataFrame
    trainings: pd.DataFrame
    tenants: pd.DataFrame
    dictionaries: dict[str, list[str]]


def _clean_label(series: pd.Series) -> pd.Series:
    text = series.astype("object").where(series.notna(), None)
    text = text.map(lambda v: v.strip() if isinstance(v, str) else v)
    return text.where(text.notna() & (text != ""), UNKNOWN)


def _dimension(tenant_names: list[str], seen: pd.DataFrame, table: pa.Table | None,
               id_col: str, attrs: list[str]) -> pd.DataFrame:
    """One row per (tenant, id) seen in events or listed in the file, sorted, attributes filled.

    Entities of tenants with no events are dropped: such a tenant is not in the snapshot.
    """
    frame = seen
    if table is not None and table.num_rows:
        listed = table.select(["tenant_id", id_col, *attrs]).to_pandas()
        listed = listed[listed["tenant_id"].isin(tenant_names)]
        listed = listed.drop_duplicates(["tenant_id", id_col], keep="first")
        frame = seen.merge(listed, on=["tenant_id", id_col], how="outer")
    for attr in attrs:
        if attr not in frame.columns:
            frame[attr] = None
    order = {t: i for i, t in enumerate(tenant_names)}
    frame["tenant"] = frame["tenant_id"].map(order).astype(np.int32)
    return frame.sort_values(["tenant", id_col], kind="stable").reset_index(drop=True)


def _entities(tenant: np.ndarray, tenant_names: list[str], idx: np.ndarray, values: pa.Array,
              table: pa.Table | None, id_col: str, attrs: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The (tenant, id) dimension and each event row's global code in it.

    Ids are unique within a tenant only, so an entity is the pair (tenant code,
    index into the id dictionary). Pairs are found with a presence table when
    it is small (no sort of the events), else with ``np.unique``.
    """
    n_values = max(len(values), 1)
    key = tenant.astype(np.int64) * n_values + idx
    space = len(tenant_names) * n_values
    if space <= 1 << 27:
        present = np.zeros(space, dtype=bool)
        present[key] = True
        unique_keys = np.flatnonzero(present)
        inverse = None
    else:
        unique_keys, inverse = np.unique(key, return_inverse=True)
    names = np.asarray(tenant_names, dtype=object)
    ids = np.asarray(values.to_pylist(), dtype=object) if len(values) else np.zeros(0, dtype=object)
    seen = pd.DataFrame({"tenant_id": names[unique_keys // n_values], id_col: ids[unique_keys % n_values],
                         "_key": unique_keys})
    frame = _dimension(tenant_names, seen, table, id_col, attrs)
    from_events = frame["_key"].notna().to_numpy()
    code_of_unique = np.empty(len(unique_keys), dtype=np.int32)
    order = np.argsort(frame["_key"].to_numpy()[from_events].astype(np.int64))
    code_of_unique[:] = np.flatnonzero(from_events)[order]
    if inverse is None:
        lookup = np.full(space, -1, dtype=np.int32)
        lookup[unique_keys] = code_of_unique
        codes = lookup[key]
    else:
        codes = code_of_unique[inverse]
    return frame.drop(columns="_key"), codes


def _dictionary_codes(series: pd.Series) -> tuple[np.ndarray, list[str]]:
    labels = sorted(series.unique().tolist())
    lookup = {v: i for i, v in enumerate(labels)}
    return series.map(lookup).to_numpy(np.int32), labels


def _group_sum(key: np.ndarray, weights: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Sorted unique keys, with the row count and the sum of each weight per key.

    One argsort, then ``reduceat`` over the runs: cheaper than hashing on these
    sizes, and integer weights stay exact integers.
    """
    if not len(key):
        return key, {"n": np.zeros(0, dtype=np.int64), **{name: w[:0] for name, w in weights.items()}}
    order = np.argsort(key)
    ordered = key[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    out = {"n": np.diff(np.append(starts, len(key)))}
    for name, w in weights.items():
        out[name] = np.add.reduceat(w[order], starts)
    return ordered[starts], out


def _ranges(sorted_tenant: np.ndarray, n_tenants: int) -> tuple[np.ndarray, np.ndarray]:
    starts = np.searchsorted(sorted_tenant, np.arange(n_tenants), side="left")
    ends = np.searchsorted(sorted_tenant, np.arange(n_tenants), side="right")
    return starts, ends


def build_frames(events: Events, users_table: pa.Table | None, trainings_table: pa.Table | None) -> Frames:
    """Aggregate validated events (``etl.validate.Events``) into snapshot frames."""
    present = np.flatnonzero(np.bincount(events.tenant, minlength=len(events.tenant_values)))
    values = events.tenant_values.to_pylist()
    tenant_names = sorted(values[i] for i in present)
    rank = np.full(len(values), -1, dtype=np.int64)
    rank[present] = [tenant_names.index(values[i]) for i in present]
    tenant = rank[events.tenant]
    n_tenants = len(tenant_names)

    users, user = _entities(tenant, tenant_names, events.user, events.user_values, users_table,
                            "user_id", ["group", "country"])
    has_training = events.training >= 0
    trainings, training_codes = _entities(tenant[has_training], tenant_names, events.training[has_training],
                                          events.training_values, trainings_table, "training_id",
                                          ["title", "category", "format"])
    training = np.full(len(events), NO_TRAINING, dtype=np.int32)
    training[has_training] = training_codes

    users["group"] = _clean_label(users["group"])
    users["country"] = _clean_label(users["country"]).str.upper().replace({UNKNOWN.upper(): UNKNOWN})
    title = trainings["title"].astype("object")
    trainings["title"] = title.where(title.map(lambda v: isinstance(v, str) and bool(v.strip())),
                                     trainings["training_id"])
    trainings["category"] = _clean_label(trainings["category"])
    trainings["format"] = _clean_label(trainings["format"])
    group_code, groups = _dictionary_codes(users["group"])
    country_code, countries = _dictionary_codes(users["country"])
    category_code, categories = _dictionary_codes(trainings["category"])
    format_code, formats = _dictionary_codes(trainings["format"])

    day = events.ts // US_PER_DAY
    event = events.event.astype(np.int64)
    scored = ~np.isnan(events.score)
    facts = _aggregate_facts(tenant, day, user, training, event, events.duration,
                             np.where(scored, events.score, 0.0), scored)
    hourly = _aggregate_hourly(tenant, day, (events.ts // US_PER_HOUR) % 24, event,
                               group_code[user], country_code[user], len(groups), len(countries))

    block = facts.column("tenant").to_numpy().astype(np.int64) * 4 + facts.column("event").to_numpy()
    blocks = np.searchsorted(block, np.arange(n_tenants * 4 + 1)).reshape(-1)
    h_start, h_end = _ranges(hourly.column("tenant").to_numpy(), n_tenants)
    facts, hourly = facts.drop_columns(["tenant"]), hourly.drop_columns(["tenant"])
    u_start, u_end = _ranges(users["tenant"].to_numpy(), n_tenants)
    t_start, t_end = _ranges(trainings["tenant"].to_numpy(), n_tenants)
    days = facts.column("day").to_numpy()
    spans = [(blocks[4 * t], blocks[4 * t + 4]) for t in range(n_tenants)]
    tenants = pd.DataFrame({
        "tenant_id": tenant_names,
        **{f"facts_{e}": blocks[e:4 * n_tenants:4] for e in range(4)},
        "facts_end": blocks[4:4 * n_tenants + 1:4],
        "hourly_start": h_start, "hourly_end": h_end,
        "users_start": u_start, "users_end": u_end,
        "trainings_start": t_start, "trainings_end": t_end,
        "first_day": [int(days[a:b].min()) for a, b in spans],
        "last_day": [int(days[a:b].max()) for a, b in spans],
    })
    return Frames(
        facts=facts,
        hourly=hourly,
        users=pd.DataFrame({"user_id": users["user_id"].astype(str), "group": group_code, "country": country_code}),
        trainings=pd.DataFrame({"training_id": trainings["training_id"].astype(str),
                                "title": trainings["title"].astype(str),
                                "category": category_code, "format": format_code}),
        tenants=tenants,
        dictionaries={"group": groups, "country": countries, "category": categories, "format": formats},
    )


def _aggregate_facts(tenant, day, user, training, event, duration, score, scored) -> pa.Table:
    """(tenant, event, day, user, training) → count, duration, score sum, scored count, completed."""
    day0 = int(day.min()) if len(day) else 0
    n_days = int(day.max()) - day0 + 1 if len(day) else 1
    n_users = int(user.max()) + 1 if len(user) else 1
    n_trainings = int(training.max()) + 2 if len(training) else 1
    spans = [max(tenant.max() + 1, 1), n_days, n_users, n_trainings, 4]
    if np.prod([float(s) for s in spans]) >= 2 ** 62:
        raise ValueError("export too large for a single 64-bit aggregation key; use the Dask engine")
    # Sorted by tenant, then event type, then day: one event type of one tenant is a slice.
    key = ((((tenant * 4 + event) * n_days + (day - day0)) * n_users + user) * n_trainings + (training + 1))
    uniques, sums = _group_sum(key, {"duration": duration, "score_sum": score, "score_n": scored.astype(np.int32)})
    rest, tr = np.divmod(uniques, n_trainings)
    rest, us = np.divmod(rest, n_users)
    rest, dy = np.divmod(rest, n_days)
    tn, ev = np.divmod(rest, 4)
    pair = us * n_trainings + tr
    enrolment = ev == ENROLMENT
    completed = np.zeros(len(uniques), dtype=bool)
    completed[enrolment] = pd.Series(pair[enrolment]).isin(pd.unique(pair[ev == COMPLETION])).to_numpy()
    return pa.table({
        "tenant": tn.astype(np.int32),
        "day": (dy + day0).astype(np.int32),
        "user": us.astype(np.int32),
        "training": (tr - 1).astype(np.int32),
        "event": ev.astype(np.int8),
        "n": sums["n"].astype(np.int32),
        "duration": sums["duration"].astype(np.int64),
        "score_sum": sums["score_sum"],
        "score_n": sums["score_n"].astype(np.int32),
        "completed": completed,
    })


def _aggregate_hourly(tenant, day, hour, event, group, country, n_groups, n_countries) -> pa.Table:
    """Connections per (tenant, day, hour, group, country), for the heatmap."""
    conn = event == CONNECTION
    day0 = int(day.min()) if len(day) else 0
    n_days = int(day.max()) - day0 + 1 if len(day) else 1
    key = ((((tenant[conn] * n_days + (day[conn] - day0)) * 24 + hour[conn]) * n_groups + group[conn])
           * n_countries + country[conn])
    uniques, sums = _group_sum(key, {})
    rest, co = np.divmod(uniques, n_countries)
    rest, gr = np.divmod(rest, n_groups)
    rest, hr = np.divmod(rest, 24)
    tn, dy = np.divmod(rest, n_days)
    return pa.table({
        "tenant": tn.astype(np.int32), "day": (dy + day0).astype(np.int32), "hour": hr.astype(np.int8),
        "group": gr.astype(np.int32), "country": co.astype(np.int32), "n": sums["n"].astype(np.int32),
    })
