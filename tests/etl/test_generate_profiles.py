"""The generator's data profiles (``python -m etl generate --profile``): the "many-learners" shape.

The default profile's bytes are guarded by tests/etl/test_generate.py (same
arguments, same bytes); here: the second shape is what issue 14 describes
(many learners with a handful of events each, a long tail of tenants, unique
event ids and user ids, large catalogues), deterministic per seed, and refreshed like any export.
"""
from __future__ import annotations

import datetime as dt
import os

import pandas as pd
import pytest

from etl import __main__ as cli
from etl.generate import generate_export
from etl.refresh import run_refresh
from etl.synthetic import PROFILES

END = dt.date(2026, 10, 31)
EVENTS = 60_000


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    out = tmp_path_factory.mktemp("many-learners")
    summary = generate_export(str(out), EVENTS, seed=4, end_date=END, profile="many-learners")
    activity = pd.read_csv(os.path.join(summary["path"], "activity.csv.gz"), dtype=str, keep_default_na=False)
    trainings = pd.read_csv(os.path.join(summary["path"], "trainings.csv.gz"), dtype=str, keep_default_na=False)
    return {"root": out, "summary": summary, "activity": activity, "trainings": trainings}


def test_cli_offers_every_profile():
    assert set(cli.PROFILE_NAMES) == set(PROFILES)
    args = cli.parser().parse_args(["generate", "--profile", "many-learners"])
    assert (args.profile, args.tenants) == ("many-learners", None)


def test_unknown_profile_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown profile"):
        generate_export(str(tmp_path), 100, seed=1, end_date=END, profile="tiny")


def test_many_learners_shape(export):
    summary, activity = export["summary"], export["activity"]
    assert (summary["profile"], summary["tenants"], summary["duplicates"]) == ("many-learners", 200, 0)
    assert len(activity) == EVENTS and activity["event_id"].is_unique
    per_learner = activity.groupby(["tenant_id", "user_id"]).size()
    assert per_learner.median() <= 6 and per_learner.mean() < 10  # a handful each
    learners = activity.groupby("tenant_id")["user_id"].nunique().sort_values(ascending=False)
    assert len(learners) == 200
    assert 0.06 < learners.iloc[0] / len(per_learner) < 0.14  # the biggest: ~200,000 of 2M at 10M events
    assert learners.iloc[-50:].max() < learners.iloc[0] / 50  # a long tail
    catalogue = export["trainings"].groupby("tenant_id").size()
    assert 250 <= catalogue.max() <= 300 and catalogue.min() >= 5
    assert export["trainings"].groupby("tenant_id")["title"].nunique().equals(catalogue)  # titles unique per tenant
    assert set(activity["event_type"]) == {"connection", "enrolment", "start", "completion"}
    assert activity.groupby("user_id")["tenant_id"].nunique().max() == 1  # user ids unique across tenants


def test_many_learners_same_seed_same_bytes(export, tmp_path):
    again = generate_export(str(tmp_path), EVENTS, seed=4, end_date=END, profile="many-learners")
    for name in ("activity.csv.gz", "users.csv.gz", "trainings.csv.gz"):
        with open(os.path.join(export["summary"]["path"], name), "rb") as a, \
                open(os.path.join(again["path"], name), "rb") as b:
            assert a.read() == b.read(), name


def test_many_learners_export_refreshes(export, tmp_path):
    result = run_refresh(str(export["root"]), tmp_path / "snapshots")
    assert result.outcome == "published", result.message
    assert result.report["rows_accepted"] == EVENTS and result.report["duplicates_dropped"] == 0
