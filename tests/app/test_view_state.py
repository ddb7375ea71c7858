"""The URL state: parsing is forgiving, encoding round-trips, presets resolve against data_as_of."""
from __future__ import annotations

import datetime as dt

from app.view_state import ViewState, encode, granularity, parse, resolve_range, token_of

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
