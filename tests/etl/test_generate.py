"""Tests of the synthetic LMS export (etl/generate.py) against the data contract.

Small exports only; the 10M-event performance run is measured by hand.
"""

import datetime as dt
import os
import re

import pandas as pd
import pytest

from etl import generate
from etl.generate import generate_export
from etl.refresh import run_refresh

END = dt.date(2026, 11, 26)
DAYS = 730
EVENTS = 20_000
TENANTS = 8
FILES = ["activity.csv.gz", "users.csv.gz", "trainings.csv.gz", "tenants.csv.gz", "assignments.csv.gz", "_SUCCESS"]


def _read(folder, name):
    return pd.read_csv(os.path.join(folder, name), dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    summary = generate_export(str(out), EVENTS, TENANTS, seed=42, end_date=END, days=DAYS)
    folder = summary["path"]
    activity = _read(folder, "activity.csv.gz")
    activity["ts"] = pd.to_datetime(activity["occurred_at"], utc=True, format="ISO8601")
    return {"summary": summary, "folder": folder, "activity": activity,
            "users": _read(folder, "users.csv.gz"),
            "trainings": _read(folder, "trainings.csv.gz"), "tenants": _read(folder, "tenants.csv.gz"),
            "assignments": _read(folder, "assignments.csv.gz")}


@pytest.fixture(scope="module")
def unique_events(export):
    return export["activity"].drop_duplicates("event_id")


def _all_bytes(folder):
    return {name: open(os.path.join(folder, name), "rb").read() for name in FILES}


def test_layout_and_summary(export, tmp_path):
    summary = export["summary"]
    assert summary["export_date"] == "2026-11-27"
    assert summary["path"] == os.path.join(os.path.dirname(summary["path"]), "2026-11-27")
    assert sorted(os.listdir(summary["path"])) == sorted(FILES)
    assert os.path.getsize(os.path.join(summary["path"], "_SUCCESS")) == 0
    assert summary["events"] == EVENTS
    assert summary["tenants"] == TENANTS
    assert summary["users"] == len(export["users"])
    assert summary["trainings"] == len(export["trainings"])


def test_success_is_written_last(tmp_path, monkeypatch):
    opened = []
    real_open = open

    def recording_open(path, *args, **kwargs):
        opened.append(os.path.basename(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(generate, "open", recording_open, raising=False)
    generate_export(str(tmp_path), 500, 3, seed=1, end_date=END)
    assert opened[-1] == "_SUCCESS"
    assert set(opened) == set(FILES)


def test_rewrite_removes_stale_success_first(tmp_path, monkeypatch):
    folder = tmp_path / "2026-11-27"
    folder.mkdir()
    (folder / "_SUCCESS").write_bytes(b"")
    seen = []
    real = generate._write_activity

    def spy(path, *args):
        seen.append(os.path.exists(folder / "_SUCCESS"))
        return real(path, *args)

    monkeypatch.setattr(generate, "_write_activity", spy)
    generate_export(str(tmp_path), 500, 3, seed=1, end_date=END)
    assert seen == [False]
    assert (folder / "_SUCCESS").exists()


def test_same_arguments_give_identical_bytes(export, tmp_path):
    again = generate_export(str(tmp_path / "a"), EVENTS, TENANTS, seed=42, end_date=END)
    assert _all_bytes(again["path"]) == _all_bytes(export["folder"])
    other = generate_export(str(tmp_path / "b"), EVENTS, TENANTS, seed=43, end_date=END)
    other_bytes = _all_bytes(other["path"])
    assert other_bytes["activity.csv.gz"] != _all_bytes(export["folder"])["activity.csv.gz"]
    assert other_bytes["users.csv.gz"] != _all_bytes(export["folder"])["users.csv.gz"]


@pytest.mark.parametrize("events", [1, 57, 9_999, 10_000])
def test_exact_row_count(tmp_path, events):
    summary = generate_export(str(tmp_path), events, 5, seed=3, end_date=END, days=30)
    assert len(_read(summary["path"], "activity.csv.gz")) == events
    assert summary["events"] == events


def test_chunks_keep_count_funnel_and_determinism(tmp_path, monkeypatch):
    monkeypatch.setattr(generate, "CHUNK_ROWS", 3_000)
    first = generate_export(str(tmp_path / "a"), EVENTS, TENANTS, seed=5, end_date=END)
    second = generate_export(str(tmp_path / "b"), EVENTS, TENANTS, seed=5, end_date=END)
    assert _all_bytes(first["path"]) == _all_bytes(second["path"])
    activity = _read(first["path"], "activity.csv.gz")
    assert len(activity) == EVENTS
    assert activity.duplicated().sum() == first["duplicates"] == 2
    activity["ts"] = pd.to_datetime(activity["occurred_at"], utc=True, format="ISO8601")
    _check_funnel(activity.drop_duplicates("event_id"))


def test_columns_and_values_follow_the_contract(export):
    a = export["activity"]
    assert list(a.columns[:8]) == ["event_id", "occurred_at", "tenant_id", "user_id",
                                   "event_type", "training_id", "score", "duration_s"]
    assert a["event_id"].str.fullmatch(r"e\d{9}").all()
    assert a["occurred_at"].str.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)").all()
    assert a["tenant_id"].str.fullmatch(r"[A-Za-z0-9_.-]{1,64}").all()
    assert (a["user_id"] != "").all()
    assert set(a["event_type"]) == {"connection", "enrolment", "start", "completion"}
    connection = a["event_type"] == "connection"
    assert ((a["training_id"] == "") == connection).all()

    has_score = a["score"] != ""
    assert (a.loc[has_score, "event_type"] == "completion").all()
    assert a.loc[has_score, "score"].str.fullmatch(r"\d{1,3}\.\d").all()
    scores = a.loc[has_score, "score"].astype(float)
    assert scores.between(0, 100).all()
    completions = a["event_type"] == "completion"
    assert 0.8 < has_score[completions].mean() < 0.97
    assert 70 < scores.mean() < 80 and 9 < scores.std() < 15

    has_duration = a["duration_s"] != ""
    assert a.loc[has_duration, "duration_s"].str.fullmatch(r"\d+").all()
    assert (a.loc[~has_duration, "event_type"] == "enrolment").all()
    assert (a.loc[has_duration & (a["event_type"] == "enrolment"), "duration_s"] == "0").all()


def test_timestamps_in_range_and_some_with_offset(export):
    a = export["activity"]
    first = pd.Timestamp(END - dt.timedelta(days=DAYS - 1), tz="UTC")
    assert a["ts"].min() >= first
    assert a["ts"].max() < pd.Timestamp(END + dt.timedelta(days=1), tz="UTC")
    with_offset = ~a["occurred_at"].str.endswith("Z")
    assert 0.01 < with_offset.mean() < 0.03
    # an offset timestamp shows the local time of the same instant
    local = pd.to_datetime(a.loc[with_offset, "occurred_at"].str[:19])
    shown_offset = a.loc[with_offset, "occurred_at"].str[19:]
    hours = shown_offset.str[:3].astype(int)
    assert ((local - a.loc[with_offset, "ts"].dt.tz_localize(None))
            == pd.to_timedelta(hours, unit="h")).all()


def _check_funnel(events):
    learning = events[events["event_type"] != "connection"]
    per_pair = learning.groupby(["tenant_id", "user_id", "training_id", "event_type"]).size()
    assert per_pair.max() == 1, "one funnel per (user, training)"
    times = learning.pivot_table(index=["tenant_id", "user_id", "training_id"],
                                 columns="event_type", values="ts", aggfunc="min")
    assert times["enrolment"].notna().all(), "every start or completion was enrolled"
    assert (times["start"].notna() | times["completion"].isna()).all()
    assert not (times["start"] < times["enrolment"]).any()
    assert not (times["completion"] < times["start"]).any()
    return times


def test_learning_funnel(unique_events):
    times = _check_funnel(unique_events)
    starts = times["start"].notna().sum()
    assert 0.6 < starts / len(times) < 0.8
    assert 0.5 < times["completion"].notna().sum() / starts < 0.72


def test_event_mix_and_connection_only_users(unique_events):
    share = unique_events["event_type"].value_counts(normalize=True)
    assert 0.5 < share["connection"] < 0.65
    assert share["enrolment"] > share["start"] > share["completion"]
    only = unique_events.groupby(["tenant_id", "user_id"])["event_type"].agg(
        lambda s: (s == "connection").all())
    assert 0.01 < only.mean() < 0.12


def test_tenant_sizes_are_skewed(export):
    sizes = export["activity"]["tenant_id"].value_counts()
    assert len(sizes) == TENANTS
    assert 0.2 <= sizes.iloc[0] / EVENTS <= 0.35
    assert sizes.iloc[-1] < 200
    assert sizes.iloc[0] / sizes.iloc[-1] > 20


def test_duplicates_repeat_whole_rows(export):
    a = export["activity"].drop(columns="ts")
    repeated_id = a["event_id"].duplicated()
    assert repeated_id.sum() == export["summary"]["duplicates"] == 2
    assert (a.duplicated() == repeated_id).all()


def test_time_patterns(unique_events):
    ts = unique_events["ts"]
    per_weekday = ts.dt.day_of_week.value_counts()
    assert per_weekday[[5, 6]].mean() < 0.3 * per_weekday[[0, 1, 2, 3]].mean()
    per_month = ts.dt.month.value_counts()
    assert per_month[8] < 0.7 * per_month[[9, 10]].mean()
    per_hour = ts.dt.hour.value_counts().reindex(range(24), fill_value=0)
    assert per_hour.min() < 0.15 * per_hour.max()


def test_users_dimension(export, unique_events):
    users = export["users"]
    assert list(users.columns) == ["tenant_id", "user_id", "group", "country", "name"]
    assert not users.duplicated(["tenant_id", "user_id"]).any()
    assert users["country"].str.fullmatch(r"[A-Z]{2}|").all()
    assert (users["group"] == "").any() and (users["country"] == "").any()
    assert users["group"].nunique() >= 6 and users["country"].nunique() >= 6
    active = unique_events[["tenant_id", "user_id"]].drop_duplicates()
    listed = active.merge(users, how="left", indicator=True)["_merge"] == "both"
    assert 0.9 < listed.mean() < 1.0
    # user ids repeat across tenants: they are unique within a tenant only
    assert users["user_id"].duplicated().any()
    # learners have a first and a last name; some have none (lists show the user_id), some share one
    names = users["name"].fillna("")
    assert names.str.fullmatch(r"[^ ]+ [^ ]+|").all()
    assert (names == "").any() and names[names != ""].duplicated().any()
    assert names.str.len().max() <= 200


def test_trainings_dimension(export, unique_events):
    trainings = export["trainings"]
    assert list(trainings.columns) == ["tenant_id", "training_id", "title", "category",
                                       "format"]
    assert not trainings.duplicated(["tenant_id", "training_id"]).any()
    assert set(trainings["category"]) <= {"Compliance", "Sales", "Management", "Onboarding",
                                          "Technical", "Soft skills", "Safety"}
    assert set(trainings["format"]) <= {"e-learning", "virtual-class", "video", "classroom"}
    assert trainings["title"].str.contains(",").any()  # survived RFC 4180 quoting
    per_tenant = trainings.groupby("tenant_id").size()
    assert per_tenant.between(8, 80).all()  # 10 to 80, less the unlisted ones
    used = unique_events.loc[unique_events["training_id"] != "",
                             ["tenant_id", "training_id"]].drop_duplicates()
    missing = used.merge(trainings, how="left", indicator=True)["_merge"] == "left_only"
    assert 1 <= missing.sum() <= 3


def test_end_date_defaults_to_yesterday_utc(tmp_path):
    before = dt.datetime.now(dt.timezone.utc).date()
    summary = generate_export(str(tmp_path), 100, 2, seed=1)
    after = dt.datetime.now(dt.timezone.utc).date()
    assert summary["export_date"] in {before.isoformat(), after.isoformat()}
    a = _read(summary["path"], "activity.csv.gz")
    last = pd.to_datetime(a["occurred_at"], utc=True, format="ISO8601").max()
    assert last < pd.Timestamp(summary["export_date"], tz="UTC")


@pytest.mark.parametrize("kwargs", [{"events": 0}, {"tenants": 0}, {"days": 0}])
def test_rejects_empty_arguments(tmp_path, kwargs):
    args = {"events": 10, "tenants": 2, "seed": 1, "end_date": END, **kwargs}
    with pytest.raises(ValueError):
        generate_export(str(tmp_path), **args)


def test_tenant_names_stay_valid_and_unique_beyond_the_list(tmp_path):
    summary = generate_export(str(tmp_path), 20_000, 60, seed=2, end_date=END, days=60)
    users = _read(summary["path"], "users.csv.gz")
    names = users["tenant_id"].unique()
    assert len(names) == 60
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", n) for n in names)


def test_tenants_have_names_and_a_spread_of_time_zones(export, tmp_path):
    """Every tenant once, named, in a zone the time zone database knows; ten tenants, ten zones (30- and
    45-minute offsets, daylight saving on both hemispheres, across the date line, UTC)."""
    from etl.zones import is_zone

    tenants = export["tenants"]
    assert sorted(tenants["tenant_id"]) == sorted(export["activity"]["tenant_id"].unique())
    assert tenants["name"].str.len().min() > 0 and all(is_zone(z) for z in tenants["timezone"])
    assert tenants["timezone"].nunique() == export["summary"]["zones"] == min(TENANTS, 10)
    utc = generate_export(str(tmp_path), 500, 3, seed=1, end_date=END, zones=False)
    assert "tenants.csv.gz" not in os.listdir(utc["path"]) and utc["zones"] == 1


def test_assignments_for_most_tenants_due_on_both_sides_of_the_end(export):
    """Most tenants, not all, assign trainings of their own to their own learners; deadlines fall before and
    after the export's last day, as days or as times, a few rows have none, a few keys repeat."""
    a, events = export["assignments"], export["activity"]
    assert export["summary"]["assignments"] == len(a)
    tenants = set(a["tenant_id"])
    assert 1 <= len(tenants) < len(set(events["tenant_id"]))
    known_users = set(zip(events["tenant_id"], events["user_id"]))
    assert set(zip(a["tenant_id"], a["user_id"])) <= known_users
    trainings = set(zip(export["trainings"]["tenant_id"], export["trainings"]["training_id"]))
    trainings |= set(zip(events["tenant_id"], events["training_id"]))
    assert set(zip(a["tenant_id"], a["training_id"])) <= trainings
    due = a["due_at"][a["due_at"] != ""]
    dates = due[due.str.len() == 10]
    assert (dates < END.isoformat()).any() and (dates > END.isoformat()).any()
    assert due.str.endswith("Z").any() and (a["due_at"] == "").any()
    assert a.duplicated(["tenant_id", "user_id", "training_id"]).any()


@pytest.mark.parametrize("rows", [0, 1_000, 12_000])  # none, fewer than the enrolled pairs, more than all of them
def test_generate001_assignment_rows_exact_and_accepted_by_the_refresh(tmp_path, rows):
    """``assignment_rows`` (``--assignment-rows``) writes exactly that many rows, and the refresh accepts them
    (only the few bad dates the generator draws on purpose are rejected)."""
    summary = generate_export(str(tmp_path / "src"), EVENTS, TENANTS, seed=3, end_date=END, days=DAYS,
                              assignment_rows=rows)
    a = _read(summary["path"], "assignments.csv.gz")
    assert summary["assignments"] == len(a) == rows
    assert set(a["tenant_id"]) <= set(_read(summary["path"], "activity.csv.gz")["tenant_id"])
    result = run_refresh(str(tmp_path / "src"), tmp_path / "snap", max_reject_ratio=0.01)
    assert result.outcome == "published", result.message
    report = result.report["assignments_file"]
    assert report["rows_read"] == rows
    assert report["rows_rejected"] == (a["due_at"] == "soon").sum() <= max(1, rows // 100)
    assert report["rows_accepted"] + report["rows_rejected"] + report["duplicates"] == rows


def test_generate002_assignment_rows_same_bytes_and_refused_without_assignments(tmp_path):
    """The same arguments give the same bytes; a row count with ``assignments=False`` or below 0 is an error."""
    first = generate_export(str(tmp_path / "a"), 5_000, 4, seed=5, end_date=END, assignment_rows=2_000)
    again = generate_export(str(tmp_path / "b"), 5_000, 4, seed=5, end_date=END, assignment_rows=2_000)
    read = lambda s: open(os.path.join(s["path"], "assignments.csv.gz"), "rb").read()
    assert read(first) == read(again)
    for kwargs in ({"assignments": False, "assignment_rows": 10}, {"assignment_rows": -1}):
        with pytest.raises(ValueError, match="assignment_rows"):
            generate_export(str(tmp_path / "c"), 500, 2, seed=1, end_date=END, **kwargs)
