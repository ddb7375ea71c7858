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

from etl.validate import COMPLETION, CONNECTION, ENROLMENT

UNKNOWN = "Unknown"
US_PER_DAY = 86_400_000_000
US_PER_HOUR = 3_600_000_000
NO_TRAINING = -1


@dataclass
class Frames:
    """Everything a snapshot stores, ready to be written."""

    facts: pd.DataFrame
    hourly: pd.DataFrame
    users: pd.DataFrame
    trainings: pd.DataFrame
    tenants: pd.DataFrame
    dictionaries: dict[str, list[str]]


def _encode(values: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, list]:
    """Dictionary codes (null → -1) and the dictionary as a Python list."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    encoded = values.dictionary_encode()
    codes = pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int64)
    return codes, encoded.dictionary.to_pylist()


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
    frame = frame.sort_values(["tenant", id_col], kind="stable").reset_index(drop=True)
    return frame


def _codes_for(frame: pd.DataFrame, id_col: str, row_tenant: np.ndarray, row_ids: np.ndarray,
               id_values: list) -> np.ndarray:
    """Global code of each event row, by looking its (tenant, id) up in the sorted dimension."""
    id_pos = {v: i for i, v in enumerate(id_values)}
    dim_key = frame["tenant"].to_numpy(np.int64) * (len(id_values) + 1) + frame[id_col].map(id_pos).fillna(len(id_values)).to_numpy(np.int64)
    row_key = row_tenant * (len(id_values) + 1) + row_ids
    order = np.argsort(dim_key, kind="stable")
    pos = np.searchsorted(dim_key[order], row_key)
    return order[pos].astype(np.int32)


def _dictionary_codes(series: pd.Series) -> tuple[np.ndarray, list[str]]:
    labels = sorted(series.unique().tolist())
    lookup = {v: i for i, v in enumerate(labels)}
    return series.map(lookup).to_numpy(np.int32), labels


def _group_sum(key: np.ndarray, weights: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Sorted unique keys, with the row count and the sum of each weight per key."""
    codes, uniques = pd.factorize(key, sort=True)
    out = {"n": np.bincount(codes, minlength=len(uniques))}
    for name, w in weights.items():
        out[name] = np.bincount(codes, weights=w, minlength=len(uniques))
    return np.asarray(uniques), out


def _ranges(sorted_tenant: np.ndarray, n_tenants: int) -> tuple[np.ndarray, np.ndarray]:
    starts = np.searchsorted(sorted_tenant, np.arange(n_tenants), side="left")
    ends = np.searchsorted(sorted_tenant, np.arange(n_tenants), side="right")
    return starts, ends


def build_frames(events: pa.Table, users_table: pa.Table | None, trainings_table: pa.Table | None) -> Frames:
    """Aggregate validated events (see ``etl.validate.Activity.table``) into snapshot frames."""
    tenant_raw, tenant_values = _encode(events.column("tenant_id"))
    tenant_names = sorted(tenant_values)
    remap = np.array([tenant_names.index(t) for t in tenant_values], dtype=np.int64)
    tenant = remap[tenant_raw]
    n_tenants = len(tenant_names)

    # Users: (tenant, user_id) seen in events, plus those listed in users.csv.
    user_raw, user_values = _encode(events.column("user_id"))
    seen_key = np.unique(tenant * len(user_values) + user_raw)
    seen_users = pd.DataFrame({
        "tenant_id": np.asarray(tenant_names, dtype=object)[seen_key // len(user_values)],
        "user_id": np.asarray(user_values, dtype=object)[seen_key % len(user_values)],
    })
    users = _dimension(tenant_names, seen_users, users_table, "user_id", ["group", "country"])
    user = _codes_for(users, "user_id", tenant, user_raw, user_values)

    # Trainings: (tenant, training_id) seen in events (not connections), plus trainings.csv.
    training_raw, training_values = _encode(events.column("training_id"))
    has_training = training_raw >= 0
    seen_key = np.unique(tenant[has_training] * max(len(training_values), 1) + training_raw[has_training])
    seen_trainings = pd.DataFrame({
        "tenant_id": np.asarray(tenant_names, dtype=object)[seen_key // max(len(training_values), 1)],
        "training_id": np.asarray(training_values, dtype=object)[seen_key % max(len(training_values), 1)],
    })
    trainings = _dimension(tenant_names, seen_trainings, trainings_table, "training_id",
                           ["title", "category", "format"])
    training = np.full(len(training_raw), NO_TRAINING, dtype=np.int32)
    if has_training.any():
        training[has_training] = _codes_for(trainings, "training_id", tenant[has_training],
                                            training_raw[has_training], training_values)

    users["group"] = _clean_label(users["group"])
    users["country"] = _clean_label(users["country"]).str.upper().replace({UNKNOWN.upper(): UNKNOWN})
    trainings["title"] = trainings["title"].where(
        trainings["title"].notna() & (trainings["title"].astype("object").map(lambda v: bool(str(v).strip()) if v is not None else False)),
        trainings["training_id"])
    trainings["category"] = _clean_label(trainings["category"])
    trainings["format"] = _clean_label(trainings["format"])
    group_code, groups = _dictionary_codes(users["group"])
    country_code, countries = _dictionary_codes(users["country"])
    category_code, categories = _dictionary_codes(trainings["category"])
    format_code, formats = _dictionary_codes(trainings["format"])

    ts = events.column("ts").to_numpy()
    day = ts // US_PER_DAY
    event = events.column("event").to_numpy().astype(np.int64)
    score = events.column("score").to_numpy()
    scored = ~np.isnan(score)
    facts = _aggregate_facts(tenant, day, user, training, event,
                             events.column("duration").to_numpy(), np.where(scored, score, 0.0), scored)
    hourly = _aggregate_hourly(tenant, day, (ts // US_PER_HOUR) % 24, event,
                               group_code[user], country_code[user], len(groups), len(countries))

    f_start, f_end = _ranges(facts.pop("tenant").to_numpy(), n_tenants)
    h_start, h_end = _ranges(hourly.pop("tenant").to_numpy(), n_tenants)
    u_start, u_end = _ranges(users["tenant"].to_numpy(), n_tenants)
    t_start, t_end = _ranges(trainings["tenant"].to_numpy(), n_tenants)
    days = facts["day"].to_numpy()
    tenants = pd.DataFrame({
        "tenant_id": tenant_names,
        "facts_start": f_start, "facts_end": f_end,
        "hourly_start": h_start, "hourly_end": h_end,
        "users_start": u_start, "users_end": u_end,
        "trainings_start": t_start, "trainings_end": t_end,
        "first_day": [int(days[s]) for s in f_start],
        "last_day": [int(days[e - 1]) for e in f_end],
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


def _aggregate_facts(tenant, day, user, training, event, duration, score, scored) -> pd.DataFrame:
    """(tenant, day, user, training, event) → count, duration, score sum, scored count, completed."""
    day0 = int(day.min()) if len(day) else 0
    n_days = int(day.max()) - day0 + 1 if len(day) else 1
    n_users = int(user.max()) + 1 if len(user) else 1
    n_trainings = int(training.max()) + 2 if len(training) else 1
    spans = [max(tenant.max() + 1, 1), n_days, n_users, n_trainings, 4]
    if np.prod([float(s) for s in spans]) >= 2 ** 62:
        raise ValueError("export too large for a single 64-bit aggregation key; use the Dask engine")
    key = (((tenant * n_days + (day - day0)) * n_users + user) * n_trainings + (training + 1)) * 4 + event
    uniques, sums = _group_sum(key, {"duration": duration.astype(np.float64), "score_sum": score,
                                     "score_n": scored.astype(np.float64)})
    rest, ev = np.divmod(uniques, 4)
    rest, tr = np.divmod(rest, n_trainings)
    rest, us = np.divmod(rest, n_users)
    tn, dy = np.divmod(rest, n_days)
    pair = us.astype(np.int64) * n_trainings + tr
    completed_pairs = np.unique(pair[ev == COMPLETION])
    completed = (ev == ENROLMENT) & np.isin(pair, completed_pairs)
    return pd.DataFrame({
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


def _aggregate_hourly(tenant, day, hour, event, group, country, n_groups, n_countries) -> pd.DataFrame:
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
    return pd.DataFrame({
        "tenant": tn.astype(np.int32), "day": (dy + day0).astype(np.int32), "hour": hr.astype(np.int8),
        "group": gr.astype(np.int32), "country": co.astype(np.int32), "n": sums["n"].astype(np.int32),
    })
