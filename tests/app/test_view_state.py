"""The URL state: parsing is forgiving, encoding round-trips, presets resolve against data_as_of."""
from __future__ import annotations

import datetime as dt

import pytest

from app.view_state import MAX_PAGE, ViewState, drill_of, encode, granularity, parse, resolve_range, token_of
from app.views import EmptyDrill, TenantView, period

AS_OF = dt.date(2026, 10, 31)


def test_state001_round_trip_keeps_token_and_every_choice():
    state = ViewState(preset="custom", start=dt.date(2026, 3, 1), end=dt.date(2026, 4, 15),
                      filters={"group": ("Sales", "HR"), "training": ("t0001",)}, granularity="week",
                      metric="active_learners", by="country", chart="pie", tenant="globex")
    search = encode(state, "tok.en.x")
    assert search.startswith("?token=tok.en.x&")
    assert parse(search) == state
    assert token_of(search) == "tok.en.x"


def test_state002_defaults_are_left_out_of_the_url():
    assert encode(ViewState(), "t") == "?token=t"
    assert encode(ViewState(), None) == ""
    assert parse("") == ViewState()


def test_state003_malformed_values_fall_back_to_defaults():
    state = parse("?range=forever&from=2026-13-01&to=2026-02-01&gran=hour&metric=x&by=planet&chart=3d"
                  "&group=&country=" + "x" * 201)
    assert state == ViewState()


def test_state004_reversed_custom_range_is_swapped_and_custom_needs_dates():
    assert resolve_range(parse("?from=2026-10-10&to=2026-10-01"), AS_OF) == (dt.date(2026, 10, 1),
                                                                            dt.date(2026, 10, 10))
    assert parse("?range=custom").preset == "30d"


def test_state005_presets_are_relative_to_data_as_of():
    def span(preset):
        return resolve_range(ViewState(preset=preset), AS_OF)
    assert span("7d") == (dt.date(2026, 10, 25), AS_OF)
    assert span("30d") == (dt.date(2026, 10, 2), AS_OF)
    assert span("90d") == (dt.date(2026, 8, 3), AS_OF)
    assert span("12m") == (dt.date(2025, 11, 1), AS_OF)
    assert span("ytd") == (dt.date(2026, 1, 1), AS_OF)
    assert resolve_range(ViewState(preset="12m"), dt.date(2028, 2, 29)) == (dt.date(2027, 3, 1),
                                                                            dt.date(2028, 2, 29))


def test_state006_auto_granularity_follows_the_range():
    auto = ViewState()
    assert granularity(auto, dt.date(2026, 10, 1), dt.date(2026, 10, 31)) == "day"
    assert granularity(auto, dt.date(2026, 5, 1), dt.date(2026, 10, 31)) == "week"
    assert granularity(auto, dt.date(2025, 11, 1), dt.date(2026, 10, 31)) == "month"
    assert granularity(ViewState(granularity="month"), dt.date(2026, 10, 1), dt.date(2026, 10, 7)) == "month"


def test_state007_filter_values_are_deduplicated_and_capped():
    state = parse("?group=A&group=A&group=B&" + "&".join(f"country=c{i}" for i in range(80)))
    assert state.filters["group"] == ("A", "B")
    assert len(state.filters["country"]) == 50
    assert state.with_filter("group", []).filters == {"country": state.filters["country"]}


def test_state008_the_drill_down_round_trips_with_its_page_and_learner():
    for drill in (("group", "Sales"), ("training", "t0001"), ("week", "2026-11-02"), ("day", "2026-10-31"),
                  ("month", "2026-10-01")):
        state = ViewState(preset="90d", filters={"group": ("Sales",)}, cohort="completed", drill=drill, page=3,
                          learner="u0042")
        search = encode(state, "t")
        assert f"cohort_{drill[0]}={drill[1]}" in search and "page=3" in search
        assert parse(search) == state
    assert encode(ViewState(cohort="active", page=1), "t") == "?token=t&cohort=active"  # page 1 is the default


def test_state009_a_malformed_drill_or_page_is_ignored_or_clamped_never_an_error():
    assert parse("?cohort=active&page=0").page == 1
    assert parse("?cohort=active&page=-3").page == 1
    assert parse("?cohort=active&page=201").page == MAX_PAGE == 200
    assert parse("?cohort=active&page=2.5").page == 1 and parse("?cohort=active&page=x").page == 1
    assert parse("?cohort=active&cohort_week=2026-13-40").drill is None
    assert parse("?cohort=active&cohort_planet=Mars").drill is None
    assert parse("?cohort=active&cohort_group=" + "x" * 201).drill is None
    assert parse("?cohort=active&cohort_group=Sales&cohort_week=2026-11-02").drill == ("group", "Sales")
    closed = parse("?cohort_group=Sales&page=4")  # without a cohort: nothing of the panel
    assert (closed.cohort, closed.drill, closed.page) == (None, None, 1)
    assert parse("?learner=u1").learner == "u1"  # explore's grid opens a learner without a cohort
    assert drill_of("week", "2026-11-02") == ("week", "2026-11-02") and drill_of("week", 3) is None
    assert drill_of("group", "") is None and drill_of("score", "1") is None


def test_state010_a_drilled_view_is_never_wider_than_its_view():
    """``TenantView.drilled``: a period clamped to the range, a value within the applied (user or locked) filter."""
    view = TenantView(None, None, "acme", dt.date(2026, 10, 1), dt.date(2026, 10, 31),
                      {"group": ("HR", "Sales")})  # scope and snapshot play no part in narrowing
    week = view.drilled("week", "2026-09-30")  # a Wednesday: its ISO week starts on 28 September
    assert (week.start, week.end) == (dt.date(2026, 10, 1), dt.date(2026, 10, 4))
    month = view.drilled("month", "2026-10-01")
    assert (month.start, month.end) == (view.start, view.end)
    assert view.drilled("day", "2026-10-05").start == view.drilled("day", "2026-10-05").end == dt.date(2026, 10, 5)
    assert view.drilled("group", "Sales").filters == {"group": ("Sales",)}
    assert view.drilled("country", "FR").filters == {"group": ("HR", "Sales"), "country": ("FR",)}
    with pytest.raises(EmptyDrill):
        view.drilled("group", "Finance")  # outside the filter (a lock, or the user's): never shown
    with pytest.raises(EmptyDrill):
        view.drilled("month", "2026-11-15")
    assert period(dt.date(2028, 2, 10), "month") == (dt.date(2028, 2, 1), dt.date(2028, 2, 29))
