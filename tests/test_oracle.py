"""Proves the oracle (tests/support/oracle.py) against answers computed by hand on a tiny export.

The export and the events it holds, by user, are described in tests/support/tricky_export.py.
"""

from __future__ import annotations

import pytest

from tests.support.oracle import ASSIGNMENT_METRICS, Oracle
from tests.support.tricky_export import ACTIVITY, RANGE, TRAININGS, USERS, D, write_export


@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    return Oracle(write_export(tmp_path_factory.mktemp("export"), ACTIVITY, USERS, TRAININGS))


def kpis(oracle, filters=None, tenant="acme", start=RANGE[0], end=RANGE[1]):
    return oracle.kpis(tenant, start, end, filters or {})


def metrics(connections, active, enrolments, starts, completions, rate, score, hours):
    return {"connections": connections, "active_learners": active, "enrolments": enrolments,
            "starts": starts, "completions": completions, "completion_rate": rate,
            "avg_score": score, "learning_hours": hours,
            **{m: None for m in ASSIGNMENT_METRICS}}  # the export has no assignments.csv


def assert_metrics(actual, expected):
    assert actual.keys() == expected.keys()
    for name, value in expected.items():
        if isinstance(value, float):
            assert isinstance(actual[name], float), name
            assert actual[name] == pytest.approx(value), name
        else:
            assert actual[name] == value, name
            assert type(actual[name]) is type(value), name


# ---------------------------------------------------------------- loading


def test_report_counts_rejects_and_duplicates(oracle):
    assert oracle.report == {
        "rows_read": 35, "accepted": 27, "rejected": 7, "duplicates": 1,
        "rejected_by_reason": {
            "duration_s: negative": 1,
            "event_type: unknown": 1,
            "occurred_at: unparsable": 1,
            "score: out of 0..100": 2,  # b4 and the first e23
            "tenant_id: malformed": 1,
            "training_id: missing": 1,
        },
    }


def test_tenants_and_data_range(oracle):
    assert oracle.tenants() == ["acme", "globex"]
    assert oracle.data_range("acme") == (D(2026, 10, 20), D(2026, 11, 20))
    assert oracle.data_range("globex") == (D(2026, 11, 5), D(2026, 11, 6))
    with pytest.raises(KeyError):
        oracle.data_range("ac me")


# ---------------------------------------------------------------- kpis


def test_kpis_no_filter(oracle):
    # connections e03 e06 e14 e15 e21 e23; active u1..u6; enrolment pairs (u1,T2) (u2,T2)
    # (u3,T1) (u4,T3) (u6,T9), completed: (u2,T2) (u4,T3) and (u3,T1) on 11-20 -> 3/5;
    # scores 90 (e05, not its duplicate's 20), 90, 60 (both rows without event_id);
    # durations 600+1200+1800+120+3600+30+900+60+240+60 = 8610 s.
    assert_metrics(kpis(oracle), metrics(6, 6, 5, 4, 3, 0.6, 80.0, 8610 / 3600))


def test_kpis_whole_history(oracle):
    # adds e01 (u1,T1 enrolment, completed 11-05), e02, e19, e20 connections, e11 completion (60)
    assert_metrics(kpis(oracle, start=D(2026, 10, 1), end=D(2026, 11, 30)),
                   metrics(9, 6, 6, 4, 4, 4 / 6, 75.0, 8970 / 3600))


def test_kpis_empty_range(oracle):
    assert_metrics(kpis(oracle, start=D(2026, 12, 1), end=D(2026, 12, 31)),
                   metrics(0, 0, 0, 0, 0, None, None, 0.0))


def test_kpis_range_edges_are_utc_days(oracle):
    # e06 is 23:30 on 11-06 at -02:00, i.e. 11-07 UTC; e07 is 00:30 on 11-10 at +01:00, i.e. 11-09 UTC.
    assert kpis(oracle, start=D(2026, 11, 6), end=D(2026, 11, 6))["connections"] == 0
    assert kpis(oracle, start=D(2026, 11, 7), end=D(2026, 11, 7))["connections"] == 1
    assert kpis(oracle, start=D(2026, 11, 9), end=D(2026, 11, 9))["enrolments"] == 3
    assert kpis(oracle, start=D(2026, 11, 10), end=D(2026, 11, 10))["enrolments"] == 0


def test_kpis_user_side_filter(oracle):
    # u1 and u2 only
    assert_metrics(kpis(oracle, {"group": ["Sales"]}), metrics(2, 2, 2, 2, 2, 0.5, 80.0, 7320 / 3600))


def test_kpis_unknown_group_covers_empty_and_missing_users(oracle):
    # u4 has an empty group, u6 is not in users.csv
    assert_metrics(kpis(oracle, {"group": ["Unknown"]}), metrics(0, 2, 2, 1, 1, 0.5, None, 1140 / 3600))


def test_kpis_or_within_and_across_filters(oracle):
    # (Ops or Unknown) and FR -> u3, u5; u3's completion of T1 is after the range but counts for the rate
    assert_metrics(kpis(oracle, {"group": ["Ops", "Unknown"], "country": ["FR"]}),
                   metrics(4, 2, 1, 1, 0, 1.0, None, 150 / 3600))


def test_kpis_empty_filter_list_is_no_filter(oracle):
    assert kpis(oracle, {"group": [], "category": []}) == kpis(oracle)


def test_kpis_training_side_filter(oracle):
    # T1 and T3; connections are null and not counted in active learners (u5 is not active)
    assert_metrics(kpis(oracle, {"category": ["Compliance"]}),
                   metrics(None, 3, 2, 2, 2, 1.0, 90.0, 3930 / 3600))


def test_kpis_missing_training(oracle):
    expected = metrics(None, 1, 1, 1, 0, 0.0, None, 240 / 3600)
    assert_metrics(kpis(oracle, {"training": ["T9"]}), expected)
    assert_metrics(kpis(oracle, {"category": ["Unknown"]}), expected)
    assert_metrics(kpis(oracle, {"format": ["Unknown"]}), expected)


def test_kpis_user_and_training_filters(oracle):
    assert_metrics(kpis(oracle, {"group": ["Sales"], "format": ["virtual-class"]}),
                   metrics(None, 1, 2, 1, 1, 0.5, 75.0, 1.0))


def test_kpis_other_tenant(oracle):
    assert_metrics(kpis(oracle, tenant="globex"), metrics(1, 1, 1, 0, 1, 1.0, 100.0, 600 / 3600))
    # users are per tenant: globex's u1 is in Eng, not in acme's Sales
    assert_metrics(kpis(oracle, {"group": ["Sales"]}, tenant="globex"), metrics(0, 0, 0, 0, 0, None, None, 0.0))
    assert kpis(oracle, {"category": ["Onboarding"]}, tenant="globex")["completions"] == 1
    assert kpis(oracle, {"category": ["Compliance"]}, tenant="globex")["completions"] == 0


# ---------------------------------------------------------------- timeseries


def series(oracle, metric, granularity, filters=None, start=RANGE[0], end=RANGE[1]):
    return oracle.timeseries("acme", start, end, filters or {}, metric, granularity)


WEEKS = [D(2026, 11, 2), D(2026, 11, 9), D(2026, 11, 16)]


def test_week_series_is_clipped_and_labelled_by_monday(oracle):
    # e20 (Tue 11-03) and e19 (Wed 11-18) are in the first and last weeks but outside the range.
    assert series(oracle, "connections", "week") == list(zip(WEEKS, [3, 2, 1]))


def test_week_series_counts_distinct_within_each_week(oracle):
    # u1 u2 u5 / u2 u3 u4 / u3 u5 u6: 9 in all, while the range has 6 active learners
    assert series(oracle, "active_learners", "week") == list(zip(WEEKS, [3, 3, 3]))
    assert series(oracle, "enrolments", "week") == list(zip(WEEKS, [0, 4, 1]))
    assert series(oracle, "completion_rate", "week") == list(zip(WEEKS, [None, 0.75, 0.0]))
    assert series(oracle, "avg_score", "week") == list(zip(WEEKS, [90.0, 75.0, None]))
    hours = series(oracle, "learning_hours", "week")
    assert [p for p, _ in hours] == WEEKS
    assert [v for _, v in hours] == pytest.approx([3780 / 3600, 4590 / 3600, 240 / 3600])


def test_week_series_with_training_side_filter(oracle):
    assert series(oracle, "connections", "week", {"training": ["T1"]}) == list(zip(WEEKS, [None] * 3))
    # u1 / u4 (u3 only enrolled) / u3
    assert series(oracle, "active_learners", "week", {"category": ["Compliance"]}) == list(zip(WEEKS, [1, 1, 1]))


def test_month_series(oracle):
    months = [D(2026, 10, 1), D(2026, 11, 1)]
    start, end = D(2026, 10, 28), D(2026, 11, 17)
    # October is clipped to 10-28..10-31: e02 only (e01 on 10-20 is out); November adds e20 (11-03)
    assert series(oracle, "connections", "month", start=start, end=end) == list(zip(months, [1, 7]))
    assert series(oracle, "enrolments", "month", start=start, end=end) == list(zip(months, [0, 5]))
    assert series(oracle, "active_learners", "month", start=start, end=end) == list(zip(months, [1, 6]))
    hours = series(oracle, "learning_hours", "month", start=start, end=end)
    assert [v for _, v in hours] == pytest.approx([300 / 3600, 8610 / 3600])


def test_day_series(oracle):
    days = [D(2026, 11, 6), D(2026, 11, 7), D(2026, 11, 8), D(2026, 11, 9)]
    start, end = days[0], days[-1]
    assert series(oracle, "connections", "day", start=start, end=end) == list(zip(days, [0, 1, 0, 0]))
    assert series(oracle, "enrolments", "day", start=start, end=end) == list(zip(days, [0, 0, 0, 3]))
    assert series(oracle, "avg_score", "day", start=start, end=end) == list(zip(days, [None] * 4))


def period_end(label, granularity):
    """Last day of the period starting on ``label``."""
    if granularity == "day":
        return label
    if granularity == "week":
        return D.fromordinal(label.toordinal() + 6)
    first_of_next = D(label.year + 1, 1, 1) if label.month == 12 else D(label.year, label.month + 1, 1)
    return D.fromordinal(first_of_next.toordinal() - 1)


METRICS = ["connections", "active_learners", "enrolments", "starts", "completions",
           "completion_rate", "avg_score", "learning_hours"]


@pytest.mark.parametrize("granularity", ["day", "week", "month"])
@pytest.mark.parametrize("filters", [{}, {"group": ["Sales"]}, {"category": ["Compliance"]}])
def test_series_points_equal_kpis_over_the_clipped_period(oracle, granularity, filters):
    start, end = D(2026, 10, 28), D(2026, 11, 17)
    points = {metric: dict(series(oracle, metric, granularity, filters, start, end)) for metric in METRICS}
    for label in points["connections"]:
        clipped = kpis(oracle, filters, start=max(label, start), end=min(period_end(label, granularity), end))
        assert {metric: points[metric][label] for metric in METRICS} == \
            {metric: clipped[metric] for metric in METRICS}, label


# ---------------------------------------------------------------- breakdown


def breakdown(oracle, metric, by, filters=None, limit=10):
    return oracle.breakdown("acme", RANGE[0], RANGE[1], filters or {}, metric, by, limit)


def test_breakdown_by_group_keeps_keys_with_events_but_zero_value(oracle):
    # Unknown (u4, u6) has events but no connection; Marketing (u7) has no event at all
    assert breakdown(oracle, "connections", "group") == [
        ("Ops", "Ops", 4), ("Sales", "Sales", 2), ("Unknown", "Unknown", 0)]


def test_breakdown_ties_are_sorted_by_key(oracle):
    assert breakdown(oracle, "active_learners", "group") == [
        ("Ops", "Ops", 2), ("Sales", "Sales", 2), ("Unknown", "Unknown", 2)]
    assert breakdown(oracle, "enrolments", "country") == [
        ("DE", "DE", 2), ("FR", "FR", 2), ("Unknown", "Unknown", 1)]
    assert breakdown(oracle, "enrolments", "country", limit=2) == [("DE", "DE", 2), ("FR", "FR", 2)]


def test_breakdown_by_training_uses_titles(oracle):
    assert breakdown(oracle, "completions", "training") == [
        ("T1", "GDPR essentials", 1), ("T2", "Negotiation, advanced", 1), ("T3", "T3", 1), ("T9", "T9", 0)]
    assert breakdown(oracle, "completions", "training", limit=1) == [("T1", "GDPR essentials", 1)]


def test_breakdown_none_last(oracle):
    assert breakdown(oracle, "avg_score", "training") == [
        ("T1", "GDPR essentials", 90.0), ("T2", "Negotiation, advanced", 75.0), ("T3", "T3", None), ("T9", "T9", None)]
    assert breakdown(oracle, "completion_rate", "training") == [
        ("T1", "GDPR essentials", 1.0), ("T3", "T3", 1.0), ("T2", "Negotiation, advanced", 0.5), ("T9", "T9", 0.0)]


def test_breakdown_by_training_side_dimension_leaves_connections_out(oracle):
    assert breakdown(oracle, "connections", "category") == [
        ("Compliance", "Compliance", None), ("Sales", "Sales", None), ("Unknown", "Unknown", None)]
    # u1 u3 / u6 / u4 / u2: key order is by code point ('U' < 'e' < 'v')
    assert breakdown(oracle, "active_learners", "format") == [
        ("e-learning", "e-learning", 2), ("Unknown", "Unknown", 1), ("video", "video", 1),
        ("virtual-class", "virtual-class", 1)]


def test_breakdown_with_training_side_filter(oracle):
    assert breakdown(oracle, "connections", "group", {"category": ["Compliance"]}) == [
        ("Ops", "Ops", None), ("Sales", "Sales", None), ("Unknown", "Unknown", None)]


def test_breakdown_learning_hours(oracle):
    rows = breakdown(oracle, "learning_hours", "group")
    assert [(k, l) for k, l, _ in rows] == [("Sales", "Sales"), ("Unknown", "Unknown"), ("Ops", "Ops")]
    assert [v for _, _, v in rows] == pytest.approx([7320 / 3600, 1140 / 3600, 150 / 3600])


@pytest.mark.parametrize("by", ["group", "country", "training", "category", "format"])
def test_breakdown_rows_equal_kpis_with_that_filter(oracle, by):
    rows = {metric: {key: value for key, _, value in breakdown(oracle, metric, by, limit=1000)}
            for metric in METRICS}
    for key in rows["enrolments"]:
        totals = kpis(oracle, {by: [key]})
        assert {metric: rows[metric][key] for metric in METRICS} == {m: totals[m] for m in METRICS}, key


# ---------------------------------------------------------------- heatmap


def test_heatmap(oracle):
    cells = oracle.heatmap("acme", RANGE[0], RANGE[1], {})
    assert [(wd, h) for wd, h, _ in cells] == [(wd, h) for wd in range(7) for h in range(24)]
    nonzero = {(wd, h): v for wd, h, v in cells if v}
    # Wed 08h: e03 + e23; Wed 12h: e14; Sat 01h: e06 (Fri 23:30 at -02:00); Mon 12h: e15; Thu 15h: e21
    assert nonzero == {(2, 8): 2, (2, 12): 1, (5, 1): 1, (0, 12): 1, (3, 15): 1}
    assert all(v == 0 for wd, h, v in cells if (wd, h) not in nonzero)


def test_heatmap_filters(oracle):
    cells = oracle.heatmap("acme", RANGE[0], RANGE[1], {"group": ["Sales"]})
    assert {(wd, h): v for wd, h, v in cells if v} == {(2, 8): 1, (5, 1): 1}
    cells = oracle.heatmap("acme", RANGE[0], RANGE[1], {"training": ["T1"]})
    assert len(cells) == 168 and all(v is None for _, _, v in cells)


# ---------------------------------------------------------------- filter values


def test_filter_values(oracle):
    assert oracle.filter_values("acme") == {
        "group": [("Marketing", "Marketing"), ("Ops", "Ops"), ("Sales", "Sales"), ("Unknown", "Unknown")],
        "country": [("DE", "DE"), ("ES", "ES"), ("FR", "FR"), ("Unknown", "Unknown")],
        "training": [("T1", "GDPR essentials"), ("T2", "Negotiation, advanced"), ("T3", "T3"),
                     ("T4", "Leadership"), ("T9", "T9")],
        "category": [("Compliance", "Compliance"), ("Management", "Management"), ("Sales", "Sales"),
                     ("Unknown", "Unknown")],
        "format": [("Unknown", "Unknown"), ("e-learning", "e-learning"), ("video", "video"),
                   ("virtual-class", "virtual-class")],
    }
    assert oracle.filter_values("globex") == {
        "group": [("Eng", "Eng")], "country": [("US", "US")], "training": [("T1", "Globex onboarding")],
        "category": [("Onboarding", "Onboarding")], "format": [("video", "video")]}


# ---------------------------------------------------------------- other exports


def test_timestamp_formats(tmp_path):
    activity = (
        "occurred_at,tenant_id,user_id,event_type\n"
        "2026-11-05T08:15:03.250+05:30,t,u,connection\n"  # Thu 02:45 UTC
        "2026-11-05 23:00:00-0100,t,u,connection\n"  # Fri 11-06 00:00 UTC
        "2026-11-05T10:00Z,t,u,connection\n"  # Thu 10:00 UTC
        "2026-02-30T10:00:00Z,t,u,connection\n"  # no such day
        "2026-11-05T24:00:00Z,t,u,connection\n"
        "2026-11-05,t,u,connection\n"
        "05/11/2026 10:00,t,u,connection\n"
    )
    oracle = Oracle(write_export(tmp_path, activity))
    assert oracle.report["rejected_by_reason"] == {"occurred_at: unparsable": 4}
    cells = oracle.heatmap("t", D(2026, 11, 1), D(2026, 11, 30), {})
    assert {(wd, h): v for wd, h, v in cells if v} == {(3, 2): 1, (4, 0): 1, (3, 10): 1}
    assert oracle.data_range("t") == (D(2026, 11, 5), D(2026, 11, 6))


def test_gzip_without_dimensions_or_optional_columns(tmp_path):
    activity = (
        "user_id,event_type,training_id,occurred_at,tenant_id\n"
        "u,enrolment,T,2026-11-05T08:00:00Z,t\n"
        "u,Completion,T,2026-11-05T09:00:00Z,t\n"
        "u,Completion,T,2026-11-05T09:00:00Z,t\n"  # no event_id column: not a duplicate
        "v,connection,,2026-11-05T09:00:00Z,t\n"
    )
    oracle = Oracle(write_export(tmp_path, activity, gz=True))
    assert oracle.report["duplicates"] == 0
    assert_metrics(oracle.kpis("t", D(2026, 11, 5), D(2026, 11, 5), {}), metrics(1, 2, 1, 0, 1, 1.0, None, 0.0))
    assert oracle.filter_values("t") == {
        "group": [("Unknown", "Unknown")], "country": [("Unknown", "Unknown")], "training": [("T", "T")],
        "category": [("Unknown", "Unknown")], "format": [("Unknown", "Unknown")]}
    assert oracle.breakdown("t", D(2026, 11, 5), D(2026, 11, 5), {"group": ["Unknown"]}, "completions",
                            "training", 10) == [("T", "T", 1)]


def test_event_ids_are_deduplicated_across_tenants(tmp_path):
    activity = (
        "event_id,occurred_at,tenant_id,user_id,event_type,training_id\n"
        "x1,2026-11-05T08:00:00Z,a,u,connection,\n"
        "x1,2026-11-05T08:00:00Z,b,u,connection,\n"
    )
    oracle = Oracle(write_export(tmp_path, activity))
    assert oracle.tenants() == ["a"]


def test_connection_with_training_id(tmp_path):
    activity = (
        "occurred_at,tenant_id,user_id,event_type,training_id\n"
        "2026-11-05T08:00:00Z,t,u,connection,T\n"
        "2026-11-05T08:00:00Z,t,u,start,T\n"
    )
    strict = Oracle(write_export(tmp_path, activity))
    assert strict.report["rejected_by_reason"] == {"training_id: set on a connection": 1}
    lenient = Oracle(write_export(tmp_path, activity), reject_connection_with_training=False)
    # kept as a plain connection, whose training is ignored
    assert lenient.kpis("t", D(2026, 11, 5), D(2026, 11, 5), {"training": ["T"]})["active_learners"] == 1
    assert lenient.kpis("t", D(2026, 11, 5), D(2026, 11, 5), {})["connections"] == 1
    assert lenient.breakdown("t", D(2026, 11, 5), D(2026, 11, 5), {}, "starts", "training", 10) == [("T", "T", 1)]
