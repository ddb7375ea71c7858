"""Denormalize valid events with the user and training dimensions and aggregate them.

The snapshot holds three compact frames, all integer-coded:

Days and hours are the tenant's local ones (its time zone, from ``tenants.csv``;
UTC when it has none): each event's wall-clock time is found before it is
bucketed (``local_hours``).

* ``facts``: one row per (tenant, day, user, training, event type) with the
  event count, summed duration, summed score and scored-event count, and for
  enrolments whether the pair was ever completed. Every metric of docs/metrics.md,
  distinct counts over any range included, is answered from it.
* ``hourly``: connections per (tenant, day, hour, coded user dimension), for the heatmap.
* ``users`` / ``trainings``: the dimensions, indexed by their global code; the
  users also carry their display name and its rank in the tenant (``NAME``,
  ``NAME_RANK``), for learner lists.
* ``assignments``: one row per assignment, with its due day on the tenant's calendar and its completion (the
  earliest completion event: ``Rows.first_ts``, the one column kept at the instant, not the hour).

Which dimensions there are, on which side, from which column of the dimension
files, comes from ``etl.snapshot_format.DIMENSIONS``.

Rows are sorted by tenant then day and ``tenants`` records each tenant's name,
time zone and row range, so one tenant's data is a slice and a date range a binary search.
Codes are global: users and trainings are numbered in (tenant, id) order.

Both ETL engines feed ``build_frames`` the same input, ``Rows``: events grouped
by (tenant, user, training, event type, hour) with integer sums. The pandas
engine passes each event as a row of its own; the Dask engine groups each
partition on its worker and concatenates the partial groups. Scores are summed
exactly (``score_parts``), so the frames do not depend on how the rows were
split, nor on the order in which they were added.
"""
from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl.arrays import KeyLayout, RowColumns, sorted_neighbours
from etl.entities import coded_labels, entities, side_frame
from etl.row_rules import Events, RowRejects
from etl.assignments import Assignments
from etl.snapshot_format import (ATTRIBUTES, COMPLETED, COMPLETION, CONNECTION, DIMENSIONS, DUE_SOON, DUE_SOON_DAYS,
                                 ENROLMENT, INACTIVE_DAYS, KEYS, LATE, NO_DAY, NO_INSTANT, ON_TIME, OPEN, OVERDUE,
                                 START, TRAINING, USER, hourly_dimensions, range_columns, side_dimensions)
from etl.tenants import Tenants
from etl.zones import UTC, US_PER_HOUR, day_starts, wall_clock, zone_codes

US_PER_DAY = 24 * US_PER_HOUR
NO_TRAINING = -1
_LIMB_BITS = 26  # a score is three integers: its bits down to 2^-26, to 2^-52, to 2^-78
_LIMB_MASK = (1 << _LIMB_BITS) - 1


def score_parts(score: np.ndarray) -> np.ndarray:
    """Each score (0 to 100, NaN for none) as 3 int64 limbs whose weighted sum is the score.

    Integer sums are exact in any order, which float sums are not: with limbs,
    a group's score sum is the same whether its events were added one by one
    or as partial sums from several partitions. Every bit of a score of at
    least 2^-25 is kept; the bits of smaller ones below 2^-78 are dropped.
    """
    rest = np.where(np.isnan(score), 0.0, score)
    limbs = np.empty((3, len(rest)), dtype=np.int64)
    for i in range(3):
        scale = _LIMB_BITS * (i + 1)
        whole = np.floor(np.ldexp(rest, scale))
        limbs[i] = whole
        rest = rest - np.ldexp(whole, -scale)  # exact: the bits below the limb
    return limbs


def score_total(limbs: np.ndarray) -> np.ndarray:
    """Summed limbs back to float64: the exact sum, rounded once."""
    high, mid, low = (part.astype(np.int64, copy=True) for part in limbs)
    mid += low >> _LIMB_BITS
    low &= _LIMB_MASK
    high += mid >> _LIMB_BITS
    mid &= _LIMB_MASK
    return np.ldexp(high.astype(np.float64), -_LIMB_BITS) + np.ldexp(
        ((mid << _LIMB_BITS) | low).astype(np.float64), -3 * _LIMB_BITS)


@dataclass
class Rows(RowColumns):
    """Valid events grouped by (tenant, user, training, event type, hour): what ``build_frames`` aggregates.

    Strings stay in dictionaries: ``tenant``, ``user`` and ``training`` index
    ``*_values`` (``training`` is -1 for none).
    """

    tenant: np.ndarray  # int32
    tenant_values: pa.Array
    user: np.ndarray  # int32
    user_values: pa.Array
    training: np.ndarray  # int32, -1 for none
    training_values: pa.Array
    event: np.ndarray  # int8
    hour: np.ndarray  # int32 hours since the epoch, on the wall clock of the tenant's time zone
    n: np.ndarray  # int32 events
    duration: np.ndarray  # int64 seconds, summed
    score_n: np.ndarray  # int32 events with a score
    scored: np.ndarray  # int32 indices of the rows with a score (a small share: completions)...
    score: np.ndarray  # ...and their summed limbs (``score_parts``), (3, len(scored)) int64
    first_ts: np.ndarray  # int64 microseconds, UTC: the earliest event of the group (an assignment's completion)
    last_utc_day: int  # the latest event's UTC day (-1 for none): what ``data_as_of`` is read from

    def __len__(self) -> int:
        return len(self.event)

    @property
    def events(self) -> int:
        return int(self.n.sum())

    NOT_ROWS = ("scored", "score")  # renumbered by ``keep``

    def keep(self, rows: np.ndarray) -> None:
        """Only ``rows`` (a mask), in place (``RowColumns``), the scored ones renumbered."""
        scored = rows[self.scored]
        position = np.cumsum(rows, dtype=np.int64)[self.scored[scored]] - 1
        self.scored, self.score = position.astype(np.int32), self.score[:, scored]
        super().keep(rows)


def local_hours(events: Events, zones: Mapping[str, str]) -> np.ndarray:
    """Each event's hour on its tenant's wall clock (``zones``: tenant id → zone; absent: UTC).

    Bucketing happens after the conversion, not before: with a 30- or 45-minute
    offset one UTC hour spans two local ones.
    """
    names, zone_of_tenant = zone_codes([zones.get(t, UTC) for t in events.tenant_values.to_pylist()])
    if set(names) <= {UTC}:
        return (events.ts // US_PER_HOUR).astype(np.int32)
    zone = zone_of_tenant[events.tenant]
    local = events.ts.copy()
    for code, name in enumerate(names):
        if name != UTC:
            rows = np.flatnonzero(zone == code)
            local[rows] = wall_clock(events.ts[rows], name)
    return (local // US_PER_HOUR).astype(np.int32)


def event_rows(events: Events, zones: Mapping[str, str]) -> Rows:
    """Every event as a row of its own, in its tenant's local hour."""
    scored = np.flatnonzero(~np.isnan(events.score)).astype(np.int32)
    return Rows(tenant=events.tenant, tenant_values=events.tenant_values, user=events.user,
                user_values=events.user_values, training=events.training, training_values=events.training_values,
                event=events.event, hour=local_hours(events, zones),
                n=np.ones(len(events), dtype=np.int32), duration=events.duration,
                score_n=(~np.isnan(events.score)).astype(np.int32), scored=scored,
                score=score_parts(events.score[scored]), first_ts=events.ts,
                last_utc_day=int(events.ts.max() // US_PER_DAY) if len(events) else -1)


@dataclass
class Validated:
    """What the validate step hands the transform step, whichever engine ran it."""

    rows: Rows
    rows_read: int
    rejects: RowRejects
    duplicates_dropped: int
    warnings: list[str]
    details: dict = field(default_factory=dict)  # what the engine tells the report about its run


def group_rows(rows: Rows) -> Rows:
    """Rows with the same (tenant, user, training, event type, hour) summed into one: a partition's
    partial aggregate, smaller to ship than its events."""
    if not len(rows):
        return rows
    hour0 = int(rows.hour.min())
    layout = KeyLayout([len(rows.tenant_values), len(rows.user_values), len(rows.training_values) + 1, 4,
                        int(rows.hour.max()) - hour0 + 1])
    if not layout.fits:
        return rows  # too many combinations for one 64-bit key: ship the rows as they are
    key = layout.pack([rows.tenant, rows.user, rows.training + 1, rows.event, rows.hour - hour0])
    uniques, sums, (scored, score) = _group_sum(key, {"n": rows.n, "duration": rows.duration,
                                                      "score_n": rows.score_n}, (rows.scored, rows.score),
                                                {"first_ts": rows.first_ts})
    tenant, user, training, event, hour = layout.unpack(uniques)
    return Rows(tenant=tenant.astype(np.int32), tenant_values=rows.tenant_values, user=user.astype(np.int32),
                user_values=rows.user_values, training=(training - 1).astype(np.int32),
                training_values=rows.training_values, event=event.astype(np.int8),
                hour=(hour + hour0).astype(np.int32),
                n=sums["n"], duration=sums["duration"], score_n=sums["score_n"], scored=scored, score=score,
                first_ts=sums["first_ts"], last_utc_day=rows.last_utc_day)


def _unify(values: list[pa.Array]) -> tuple[pa.Array, list[np.ndarray]]:
    """One dictionary for several, and for each of them the new code of every old one.

    One hash table over all of them (``dictionary_encode`` of the chunks
    together): a streamed refresh unifies dozens of blocks' dictionaries of
    hundreds of thousands of user ids each, which a lookup table per block
    (``index_in``) would rebuild again and again.
    """
    if not values:
        return pa.array([], pa.string()), []
    encoded = pc.dictionary_encode(pa.chunked_array(values, type=pa.string()))
    unified = encoded.chunks[-1].dictionary if encoded.num_chunks else pa.array([], pa.string())
    codes = [c.indices.to_numpy(zero_copy_only=False).astype(np.int32) for c in encoded.chunks]
    if len(codes) != len(values):  # chunks of no values may be dropped: give them no codes
        sizes = iter(codes)
        codes = [next(sizes) if len(v) else np.zeros(0, dtype=np.int32) for v in values]
    return unified, codes


def concat_rows(parts: list[Rows]) -> Rows:
    """The rows of several partitions, their dictionaries unified."""
    columns = {}
    for name, none in (("tenant", None), ("user", None), ("training", -1)):
        unified, recode = _unify([getattr(p, f"{name}_values") for p in parts])
        codes = []
        for part, new in zip(parts, recode):
            old = getattr(part, name)
            codes.append(np.where(old >= 0, new[np.maximum(old, 0)], -1).astype(np.int32) if len(new)
                         else np.full(len(old), -1, dtype=np.int32))
        columns[name] = np.concatenate(codes) if codes else np.zeros(0, dtype=np.int32)
        columns[f"{name}_values"] = unified
    for name in ("event", "hour", "n", "duration", "score_n", "first_ts"):
        columns[name] = np.concatenate([getattr(p, name) for p in parts])
    before = np.cumsum([0] + [len(p) for p in parts[:-1]])
    columns["scored"] = np.concatenate([p.scored + np.int32(b) for p, b in zip(parts, before)]).astype(np.int32)
    columns["score"] = np.concatenate([p.score for p in parts], axis=1)
    columns["last_utc_day"] = max((p.last_utc_day for p in parts), default=-1)
    return Rows(**columns)


@dataclass
class Frames:
    """Everything a snapshot stores, ready to be written."""

    facts: pa.Table
    hourly: pa.Table
    users: pd.DataFrame
    trainings: pd.DataFrame
    assignments: pa.Table
    tenants: pd.DataFrame
    dictionaries: dict[str, list[str]]
    data_as_of: int  # day number: one date for the snapshot, whatever the tenants' zones


def _run_starts(key: np.ndarray, order: np.ndarray, chunk: int = 1 << 22) -> np.ndarray:
    """Where each run of equal keys starts, in ``order`` (sorting ``key``), read a chunk at a time
    (``sorted_neighbours``)."""
    is_start = np.empty(len(order), dtype=bool)
    is_start[0] = True
    for first, at, same in sorted_neighbours(key, order, chunk):
        np.logical_not(same, out=is_start[first + 1:first + len(at)])
    return is_start


def _group_sum(key: np.ndarray, weights: dict[str, np.ndarray], sparse=None, least=None):
    """Sorted unique keys, with the sum of each (integer) weight per key (the minimum for those of ``least``).

    One argsort, then ``reduceat`` over the runs: cheaper than hashing on these
    sizes, and integer weights stay exact integers. ``sparse`` is
    ``(rows, values)``: values (k × len(rows)) that only some rows have, summed
    the same way, returned as (the keys' indices that have some, their sums).
    """
    least = least or {}
    if not len(key):
        sums = {name: w[:0] for name, w in {**weights, **least}.items()}
        return (key, sums) if sparse is None else (key, sums, (np.zeros(0, np.int32), sparse[1][:, :0]))
    order = np.argsort(key)
    is_start = _run_starts(key, order)
    starts = np.flatnonzero(is_start)
    uniques = key[order[starts]]
    sums = {name: np.add.reduceat(w[order], starts) for name, w in weights.items()}
    sums.update({name: np.minimum.reduceat(w[order], starts) for name, w in least.items()})
    if sparse is None:
        return uniques, sums
    rows, values = sparse
    # each sorted position's index into ``rows`` (-1: the row has no values); read in sorted order, the
    # positions that have some come grouped by key, so no second sort is needed
    value_of_row = np.full(len(key), -1, dtype=np.int32)
    value_of_row[rows] = np.arange(len(rows), dtype=np.int32)
    value_at = value_of_row[order]
    positions = np.flatnonzero(value_at >= 0)
    if not len(positions):
        return uniques, sums, (np.zeros(0, np.int32), values[:, :0])
    of_row = np.cumsum(is_start, dtype=np.int32)[positions] - 1
    firsts = np.flatnonzero(np.concatenate(([True], of_row[1:] != of_row[:-1])))
    summed = np.add.reduceat(values[:, value_at[positions]], firsts, axis=1)
    return uniques, sums, (of_row[firsts].astype(np.int32), summed)


def _ranges(sorted_tenant: np.ndarray, n_tenants: int) -> tuple[np.ndarray, np.ndarray]:
    starts = np.searchsorted(sorted_tenant, np.arange(n_tenants), side="left")
    ends = np.searchsorted(sorted_tenant, np.arange(n_tenants), side="right")
    return starts, ends


def _side_keys(rows_tenant: np.ndarray, rows_idx: np.ndarray, rows_values: pa.Array,
               extra_tenant: np.ndarray, extra_idx: np.ndarray, extra_values: pa.Array):
    """The events' (tenant, id index) keys followed by the assignments', indexing one unified dictionary."""
    if not len(extra_idx):
        return rows_tenant, rows_idx, rows_values
    values, (of_rows, of_extra) = _unify([rows_values, extra_values])
    return (np.concatenate([rows_tenant, extra_tenant]),
            np.concatenate([of_rows[rows_idx] if len(of_rows) else rows_idx, of_extra[extra_idx]]), values)


def _side_entities(side: str, tenant_names: list[str], table: pa.Table | None, seen: tuple, assigned: tuple):
    """One side's entities and each row's code, the events' rows (``seen``: tenant, id index, ids) then the
    assignments' (``assigned``)."""
    tenant, idx, values = _side_keys(*seen, *assigned)
    return entities(tenant, tenant_names, idx, values, table, KEYS[side],
                    [d.source for d in side_dimensions(side)] + list(ATTRIBUTES[side]))


def _first_instant(rows: Rows, event: int, user: np.ndarray, training: np.ndarray,
                   wanted_user: np.ndarray, wanted_training: np.ndarray) -> np.ndarray:
    """For each wanted (user, training) pair of global codes, its earliest ``event`` (``NO_INSTANT``: none)."""
    rows_of = np.flatnonzero(rows.event == event)
    n_trainings = int(max(training.max(initial=0), wanted_training.max(initial=0))) + 1
    keys, firsts = _group_sum(user[rows_of].astype(np.int64) * n_trainings + training[rows_of], {}, None,
                              {"first": rows.first_ts[rows_of]})
    wanted = wanted_user.astype(np.int64) * n_trainings + wanted_training
    at = np.minimum(np.searchsorted(keys, wanted), max(len(keys) - 1, 0))
    found = (keys[at] == wanted) if len(keys) else np.zeros(len(wanted), dtype=bool)
    return np.where(found, firsts["first"][at] if len(keys) else 0, NO_INSTANT).astype(np.int64)


def _statuses(due_at: np.ndarray, completed_at: np.ndarray, now: np.ndarray, soon: np.ndarray) -> np.ndarray:
    """Each assignment's ``ASSIGNMENT_STATUSES`` code at ``now`` (``soon``: the end of the due-soon window)."""
    done, has_due = completed_at != NO_INSTANT, due_at != NO_INSTANT
    return np.select([done & ~has_due, done & (completed_at <= due_at), done, due_at <= now,
                      has_due & (due_at <= soon)], [COMPLETED, ON_TIME, LATE, OVERDUE, DUE_SOON], OPEN).astype(np.int8)


def _assignments_frame(rows: Rows, tenant_zones: list[str], user: np.ndarray, training: np.ndarray,
                       active: np.ndarray, data_as_of: int,
                       assigned: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> pa.Table:
    """The assignments of the snapshot's tenants (``etl.snapshot_format``, the assignments frame), with a tenant
    column the caller turns into row ranges: due days on each tenant's calendar, completions and starts from
    the events (``user``, ``training``: each event row's global codes), and the status each has at the end
    of ``data_as_of`` in its tenant's zone (``active``: per global user code, an event in the last 14 days)."""
    a_tenant, a_user, a_training, assigned_at, due_at = assigned
    due_day = np.full(len(a_tenant), NO_DAY, dtype=np.int64)
    now, soon = np.zeros(len(a_tenant), np.int64), np.zeros(len(a_tenant), np.int64)
    zone_names, zone_of_tenant = zone_codes(tenant_zones)
    zone_of_row = zone_of_tenant[a_tenant]
    for code, zone in enumerate(zone_names):
        sel = np.flatnonzero(zone_of_row == code)
        has_due = sel[due_at[sel] != NO_INSTANT]
        due_day[has_due] = wall_clock(due_at[has_due], zone) // US_PER_DAY
        ends = day_starts(np.array([data_as_of + 1, data_as_of + 1 + DUE_SOON_DAYS]), zone) - 1
        now[sel], soon[sel] = ends
    order = np.lexsort((a_training, a_user, due_day, a_tenant))
    a_user, a_training, due_at = a_user[order], a_training[order], due_at[order]
    completed_at = _first_instant(rows, COMPLETION, user, training, a_user, a_training)
    started = _first_instant(rows, START, user, training, a_user, a_training) != NO_INSTANT
    status = _statuses(due_at, completed_at, now[order], soon[order])
    return pa.table({
        "tenant": a_tenant[order].astype(np.int32),
        "user": a_user.astype(np.int32),
        "training": a_training.astype(np.int32),
        "assigned_at": assigned_at[order],
        "due_at": due_at,
        "due_day": due_day[order].astype(np.int32),
        "completed_at": completed_at,
        "started": started,
        "status": status,
        "at_risk": (status == DUE_SOON) & (~started | ~active[a_user]),
    })


def _other_frames(rows: Rows, tenant, day, hour, user, training, users, trainings, tenant_zones, data_as_of,
                  assigned) -> tuple[pa.Table, pa.Table, dict, dict]:
    """The assignments and hourly frames, and the coded dimensions' codes and dictionaries: what
    ``build_frames`` derives beside the facts."""
    active = np.zeros(len(users) + 1, dtype=bool)
    active[user[(day > data_as_of - INACTIVE_DAYS) & (day <= data_as_of)]] = True
    assignments = _assignments_frame(rows, tenant_zones, user, training, active, data_as_of, assigned)
    codes, dictionaries = {}, {}
    for side, found in ((USER, users), (TRAINING, trainings)):
        for dim in side_dimensions(side):
            if dim.coded:
                codes[dim.name], dictionaries[dim.name] = coded_labels(found.attrs[dim.source], dim)
    by_user = {d.name: (codes[d.name], len(dictionaries[d.name])) for d in hourly_dimensions()}
    hourly = _aggregate_hourly(tenant, day, hour, rows.event, user, by_user, rows.n)
    return assignments, hourly, codes, dictionaries


def build_frames(rows: Rows, users_table: pa.Table | None, trainings_table: pa.Table | None,
                 tenants_file: Tenants, assignments: Assignments | None = None,
                 data_as_of: int | None = None) -> Frames:
    """Aggregate valid events (``Rows``: one per event, or partial groups, in local hours) into snapshot frames.

    The tenants frame records each tenant's display name and time zone (``tenants_file``), which its
    days and hours are in. ``assignments`` (``etl.assignments``) of tenants that have events become the
    assignments frame; their learners and trainings are entities like those of the events. ``data_as_of``
    (a day number; by default the last event's UTC day) is the snapshot's one date, the end of which on
    each tenant's calendar is the assignments' ``now``.
    """
    data_as_of = rows.last_utc_day if data_as_of is None else data_as_of
    present = np.flatnonzero(np.bincount(rows.tenant, minlength=len(rows.tenant_values)))
    values = rows.tenant_values.to_pylist()
    tenant_names = sorted(values[i] for i in present)
    rank_of = {name: k for k, name in enumerate(tenant_names)}  # not list.index: thousands of tenants
    rank = np.full(len(values), -1, dtype=np.int64)
    rank[present] = [rank_of[values[i]] for i in present]
    tenant = rank.astype(np.int32)[rows.tenant]
    n_tenants = len(tenant_names)
    assignments = assignments if assignments is not None else Assignments()
    a_rank = np.array([rank_of.get(t, -1) for t in assignments.tenant_values.to_pylist()] + [-1],
                      dtype=np.int64)[assignments.tenant]
    kept = np.flatnonzero(a_rank >= 0)
    a_tenant, n_rows = a_rank[kept], len(rows)

    with ThreadPoolExecutor(max_workers=1) as pool:  # the users' entities beside the trainings'
        user_side = pool.submit(_side_entities, USER, tenant_names, users_table, (tenant, rows.user, rows.user_values),
                                (a_tenant, assignments.user[kept], assignments.user_values))
        has_training = rows.training >= 0
        trainings, training_codes = _side_entities(
            TRAINING, tenant_names, trainings_table,
            (tenant[has_training], rows.training[has_training], rows.training_values),
            (a_tenant, assignments.training[kept], assignments.training_values))
        users, user_codes = user_side.result()
    user, a_user = user_codes[:n_rows], user_codes[n_rows:]
    n_trained = int(has_training.sum())
    training = np.full(len(rows), NO_TRAINING, dtype=np.int32)
    training[has_training] = training_codes[:n_trained]
    tenant_zones = [tenants_file.zone(t) for t in tenant_names]
    day, hour = np.divmod(rows.hour, 24)
    with ThreadPoolExecutor(max_workers=1) as pool:  # numpy lets go of the GIL: the facts' sort uses the other core
        facts_job = pool.submit(_aggregate_facts, tenant, day, user, training, rows.event, rows)
        assigned, hourly, codes, dictionaries = _other_frames(rows, tenant, day, hour, user, training, users,
                                                              trainings, tenant_zones, data_as_of,
                                                              (a_tenant, a_user, training_codes[n_trained:],
                                                               assignments.assigned_at[kept],
                                                               assignments.due_at[kept]))
        facts = facts_job.result()

    block = facts.column("tenant").to_numpy().astype(np.int64) * 4 + facts.column("event").to_numpy()
    blocks = np.searchsorted(block, np.arange(n_tenants * 4 + 1)).reshape(-1)
    h_start, h_end = _ranges(hourly.column("tenant").to_numpy(), n_tenants)
    facts, hourly = facts.drop_columns(["tenant"]), hourly.drop_columns(["tenant"])
    u_start, u_end = _ranges(users.tenant, n_tenants)
    t_start, t_end = _ranges(trainings.tenant, n_tenants)
    a_start, a_end = _ranges(assigned.column("tenant").to_numpy(), n_tenants)
    days = facts.column("day").to_numpy()
    spans = [(blocks[4 * t], blocks[4 * t + 4]) for t in range(n_tenants)]
    tenants = pd.DataFrame({
        "tenant_id": tenant_names,
        "name": [tenants_file.name(t) for t in tenant_names],
        "timezone": tenant_zones,
        **range_columns([blocks[e:4 * n_tenants + e:4] for e in range(5)],
                        {"hourly": (h_start, h_end), "users": (u_start, u_end), "trainings": (t_start, t_end),
                         "assignments": (a_start, a_end)}),
        "first_day": [int(days[a:b].min()) for a, b in spans],
        "last_day": [int(days[a:b].max()) for a, b in spans],
    })
    return Frames(
        facts=facts,
        hourly=hourly,
        users=side_frame(users, USER, codes),
        trainings=side_frame(trainings, TRAINING, codes),
        assignments=assigned.drop_columns(["tenant"]),
        tenants=tenants,
        dictionaries={d.name: dictionaries[d.name] for d in DIMENSIONS if d.coded},
        data_as_of=data_as_of,
    )


def narrowest(values: np.ndarray) -> np.ndarray:
    """``values`` as the smallest signed integer type that holds them all.

    Every web worker keeps the snapshot in memory, and most counts and codes are
    small: an int8 count takes a quarter of an int32 one. The type follows the
    data, so a large catalogue or a long session still fits. Readers never rely on
    the width: sums widen to int64 (``ndarray.sum``) or float64 (``np.bincount``).
    """
    low, high = (int(values.min()), int(values.max())) if len(values) else (0, 0)
    for kind in (np.int8, np.int16, np.int32):
        bounds = np.iinfo(kind)
        if bounds.min <= low and high <= bounds.max:
            return values.astype(kind)
    return values.astype(np.int64)


def _aggregate_facts(tenant, day, user, training, event, rows: Rows) -> pa.Table:
    """(tenant, event, day, user, training) → count, duration, score sum, scored count, completed."""
    day0 = int(day.min()) if len(day) else 0
    n_days = int(day.max()) - day0 + 1 if len(day) else 1
    n_users = int(user.max()) + 1 if len(user) else 1
    n_trainings = int(training.max()) + 2 if len(training) else 1
    layout = KeyLayout([int(tenant.max()) + 1 if len(tenant) else 1, 4, n_days, n_users, n_trainings])
    if not layout.fits:
        raise ValueError("too many (tenant, day, user, training) combinations for one 64-bit aggregation key")
    # Sorted by tenant, then event type, then day: one event type of one tenant is a slice.
    key = layout.pack([tenant, event, day - day0, user, training + 1])
    uniques, sums, (scored, score) = _group_sum(key, {"n": rows.n, "duration": rows.duration,
                                                      "score_n": rows.score_n}, (rows.scored, rows.score))
    del key
    score_sum = np.zeros(len(uniques))
    score_sum[scored] = score_total(score)
    tn, ev, dy, us, tr = layout.unpack(uniques, [np.int32, np.int8, np.int32, np.int32, np.int64])
    del uniques
    pair = us.astype(np.int64) * n_trainings + tr
    enrolment = ev == ENROLMENT
    completed = np.zeros(len(pair), dtype=bool)
    completed[enrolment] = pd.Series(pair[enrolment]).isin(pd.unique(pair[ev == COMPLETION])).to_numpy()
    del pair
    return pa.table({
        "tenant": tn,
        "day": dy + np.int32(day0),
        "user": us,
        "training": narrowest(tr - 1),
        "event": ev,
        "n": narrowest(sums["n"]),
        "duration": narrowest(sums["duration"]),
        "score_sum": score_sum,
        "score_n": narrowest(sums["score_n"]),
        "completed": completed,
    })


def _aggregate_hourly(tenant, day, hour, event, user, dims: dict[str, tuple[np.ndarray, int]], n) -> pa.Table:
    """Connections per (tenant, day, hour, then each of ``dims``: name → (code per user, number of codes))."""
    conn = event == CONNECTION
    day0 = int(day.min()) if len(day) else 0
    n_days = int(day.max()) - day0 + 1 if len(day) else 1
    layout = KeyLayout([int(tenant.max()) + 1 if len(tenant) else 1, n_days, 24, *(size for _, size in dims.values())])
    if not layout.fits:
        raise ValueError("too many (tenant, day, hour, dimension) combinations for one 64-bit aggregation key")
    learner = user[conn]
    key = layout.pack([tenant[conn], day[conn] - day0, hour[conn], *(code[learner] for code, _ in dims.values())])
    uniques, sums = _group_sum(key, {"n": n[conn]})
    tn, dy, hr, *coded = layout.unpack(uniques)
    by_dim = dict(zip(dims, coded))
    return pa.table({
        "tenant": tn.astype(np.int32), "day": (dy + day0).astype(np.int32), "hour": hr.astype(np.int8),
        **{name: narrowest(by_dim[name]) for name in dims}, "n": narrowest(sums["n"]),
    })
