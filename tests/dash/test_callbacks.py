"""Every dashboard callback without a browser: the pure functions they wrap, with real queries."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from dash import html

from app import answers, catalog, queries, views
from app.extensions import get_cache
from app.view_state import ViewState, parse
from callbacks import explore, overview, shell, sync
from callbacks.access import authorize
from layouts import figures, i18n, ids
from layouts.components import tenant_options
from tests.support.apps import make_app
from tests.support.credentials import OTHER_SECRET, OTHER_TENANT, TENANT, analyst_token, embed_token, expired_token
from tests.support.dash_requests import compact, prop_id, sync_call
from tests.support.figures import checked


def texts(component) -> str:
    """All the text of a component tree."""
    if component is None:
        return ""
    if isinstance(component, (str, int, float)):
        return str(component)
    if isinstance(component, (list, tuple)):
        return " ".join(texts(c) for c in component)
    return texts(getattr(component, "children", None))


def annotation(fig) -> str:
    return " ".join(a.text for a in checked(fig).layout.annotations)


def test_overview001_values_are_the_query_values(server_context, snapshot):
    start, end = queries.default_range(snapshot)
    out = overview.overview_outputs(embed_token(), "")
    expected = queries.kpis(snapshot, TENANT, start, end, {})
    assert out["values"] == {m: i18n.metric_value(m, expected[m], "en") for m in queries.METRICS}
    assert out["status"] is None
    figs = out["figures"]
    bars = checked(figs[ids.GRAPH_ACTIVITY]).data[0]
    series = queries.timeseries(snapshot, TENANT, start, end, {}, "connections", "day")
    assert list(bars.y) == list(series["value"]) and len(bars.x) == 30
    funnel = checked(figs[ids.GRAPH_FUNNEL]).data[0]
    assert list(funnel.x) == [expected[m] for m in ("enrolments", "starts", "completions")]
    top = queries.breakdown(snapshot, TENANT, start, end, {}, "completions", "training", 10)
    assert list(checked(figs[ids.GRAPH_TRAININGS]).data[0].y) == list(top["label"])[::-1]
    heat = checked(figs[ids.GRAPH_HEATMAP]).data[0].z
    assert sum(map(sum, heat)) == expected["connections"]


def test_overview002_change_vs_previous_period(server_context, snapshot):
    start, end = queries.default_range(snapshot)
    out = overview.overview_outputs(embed_token(), "")
    now = queries.kpis(snapshot, TENANT, start, end, {})
    before = queries.kpis(snapshot, TENANT, *queries.previous_range(start, end), {})
    change = out["changes"]["completions"]
    ratio = (now["completions"] - before["completions"]) / before["completions"]
    assert change.className == ("kpi-up" if ratio > 0 else "kpi-down")
    assert i18n.percent(abs(ratio), "en") in texts(change) and "vs previous 30 days" in texts(change)
    assert "pts" in texts(out["changes"]["completion_rate"])


def test_overview003_training_filter_makes_connections_na(server_context):
    out = overview.overview_outputs(embed_token(), "?category=Compliance")
    assert out["values"]["connections"] == "n/a"
    assert texts(out["changes"]["connections"]) == "not tracked per training"
    assert [t.name for t in checked(out["figures"][ids.GRAPH_ACTIVITY]).data] == ["Active learners"]
    assert "not tracked per training" in annotation(out["figures"][ids.GRAPH_HEATMAP])


def test_overview004_empty_states_say_why(server_context):
    nothing = overview.overview_outputs(embed_token(), "?from=2020-01-01&to=2020-01-31")
    for fig in nothing["figures"].values():
        assert annotation(fig) == "No activity between Jan 1, 2020 and Jan 31, 2020." and not fig["data"]
    unknown = overview.overview_outputs(embed_token(), "?group=Nope")
    assert "Unknown Group: Nope" in texts(unknown["status"])
    assert annotation(unknown["figures"][ids.GRAPH_FUNNEL]).startswith("Unknown Group: Nope")


def test_overview005_a_failing_chart_leaves_the_others(server_context, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(answers, "heatmap", broken)
    out = overview.overview_outputs(embed_token(), "?range=7d")
    assert annotation(out["figures"][ids.GRAPH_HEATMAP]) == i18n.t("en", "error.chart")
    assert "disk on fire" not in annotation(out["figures"][ids.GRAPH_HEATMAP])
    assert all(checked(out["figures"][g]).data for g in ids.OVERVIEW_GRAPHS if g != ids.GRAPH_HEATMAP)
    assert "disk on fire" in caplog.text


def test_overview005b_failing_kpis_leave_the_charts_that_do_not_need_them(server_context, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("kpis down")
    monkeypatch.setattr(answers, "kpis", broken)
    out = overview.overview_outputs(embed_token(), "")
    assert set(out["values"].values()) == {"—"}
    assert annotation(out["figures"][ids.GRAPH_FUNNEL]) == i18n.t("en", "error.chart")
    assert all(checked(out["figures"][g]).data for g in ids.OVERVIEW_GRAPHS if g != ids.GRAPH_FUNNEL)
    monkeypatch.setattr(answers, "breakdown", broken)
    table = explore.explore_outputs(embed_token(), "")
    assert table["rows"] == [] and annotation(table["figure"]) == i18n.t("en", "error.chart")


@pytest.mark.parametrize("token", [None, "", "garbage", embed_token(secret=OTHER_SECRET), expired_token()])
def test_overview006_bad_token_gets_a_message_and_no_data(server_context, token):
    out = overview.overview_outputs(token, "")
    assert set(out["values"].values()) == {"—"}
    assert "could not be verified" in texts(out["status"])
    assert all(not fig["data"] for fig in out["figures"].values())


def test_overview007_tenant_comes_from_the_token_not_the_url(server_context, snapshot):
    start, end = queries.default_range(snapshot)
    out = overview.overview_outputs(embed_token(), f"?tenant={OTHER_TENANT}")
    mine = queries.kpis(snapshot, TENANT, start, end, {})
    theirs = queries.kpis(snapshot, OTHER_TENANT, start, end, {})
    assert mine["connections"] != theirs["connections"]
    assert out["values"]["connections"] == i18n.metric_value("connections", mine["connections"], "en")


def test_overview008_locked_filter_always_applies(server_context, snapshot):
    start, end = queries.default_range(snapshot)
    out = overview.overview_outputs(embed_token(filters={"group": ["Sales"]}), "?group=HR&group=Sales")
    locked = queries.kpis(snapshot, TENANT, start, end, {"group": ["Sales"]})
    assert out["values"]["active_learners"] == i18n.metric_value("active_learners", locked["active_learners"], "en")


def test_overview009_compliance_row_only_for_a_tenant_with_assignments(server_context, snapshot):
    """globex assigns trainings: its row shows the compliance KPIs and overdue assignments by group and by
    training; hooli assigns none: the row is hidden and its cards say nothing."""
    start, end = queries.default_range(snapshot)
    out = overview.overview_outputs(embed_token(), "")
    expected = queries.kpis(snapshot, TENANT, start, end, {})
    assert out["compliance"] is True
    for metric in ("on_time_rate", "overdue", "due_soon", "at_risk_learners"):
        assert out["values"][metric] == i18n.metric_value(metric, expected[metric], "en")
    for graph, by in ((ids.GRAPH_OVERDUE_GROUPS, "group"), (ids.GRAPH_OVERDUE_TRAININGS, "training")):
        rows = queries.breakdown(snapshot, TENANT, start, end, {}, "overdue", by, 10)
        shown = [label for label, value in zip(rows["label"], rows["value"]) if value]
        assert shown and list(checked(out["figures"][graph]).data[0].y) == shown[::-1], graph
    other = overview.overview_outputs(embed_token(tenant=OTHER_TENANT), "")
    assert queries.kpis(snapshot, OTHER_TENANT, start, end, {})["overdue"] is None
    assert other["compliance"] is False


@pytest.mark.parametrize("metric", ["overdue", "on_time_rate", "at_risk_learners"])
def test_explore009_offers_the_assignment_metrics(server_context, snapshot, metric):
    start, end = queries.default_range(snapshot)
    out = explore.explore_outputs(embed_token(), f"?metric={metric}&by=group")
    rows = queries.breakdown(snapshot, TENANT, start, end, {}, metric, "group", 1000)
    assert len(rows) and [r["label"] for r in out["rows"]] == list(rows["label"])
    assert out["title"] == f"{i18n.metric_label('en', metric)} by group"
    line = explore.explore_outputs(embed_token(), f"?metric={metric}&chart=line")  # 30 days: one point a day
    series = queries.timeseries(snapshot, TENANT, start, end, {}, metric, "day")
    assert list(checked(line["figure"]).data[0].y) == list(series["value"]) and len(series) == 30


def test_explore010_the_metric_picker_offers_the_tenants_metrics(server_context, client, dash_app, snapshot):
    """Issue 17: the picker offers the assignment metrics only to a tenant with assignments; a crafted link asking
    one of them of a tenant without shows the default metric (never a 500), and a tenant pick does the same."""
    token, compliance = analyst_token(), set(catalog.COMPLIANCE_METRICS)

    def picker(search):
        page, _ = shell.render("/explore", f"?token={token}{search}")
        (found,) = [c for c in page._traverse() if getattr(c, "id", None) == ids.choice_id("explore", "metric")]
        return {o["value"] for o in found.options}, found.value

    offered, value = picker(f"&tenant={TENANT}&metric=overdue")
    assert compliance <= offered and value == "overdue"
    offered, value = picker(f"&tenant={OTHER_TENANT}&metric=overdue")
    assert offered == set(queries.METRICS) - compliance and value == "completions"
    start, end = queries.default_range(snapshot)
    crafted = f"?token={token}&tenant={OTHER_TENANT}&metric=overdue&by=group"
    out = explore.explore_outputs(token, crafted)
    rows = queries.breakdown(snapshot, OTHER_TENANT, start, end, {}, "completions", "group", 1000)
    assert out["title"] == "Completions by group" and [r["label"] for r in out["rows"]] == list(rows["label"])
    assert "-completions-group-" in explore.csv_download(token, crafted, None)["filename"]
    metric = ids.choice_id("explore", "metric")
    for tenant, shown in ((OTHER_TENANT, "completions"), (TENANT, "overdue")):  # the tenant picker
        status, body = sync_call(client, dash_app, token, choices=(("metric", "overdue"),), tenant=tenant,
                                 search=f"?token={token}&tenant={TENANT}&metric=overdue",
                                 changed=[prop_id(ids.tenant_id("explore"), "value")])
        answer = body["response"]
        options = {o["value"] for o in answer[compact(metric)]["options"]}
        assert status == 200 and answer[compact(metric)]["value"] == shown, tenant
        assert bool(compliance & options) is (tenant == TENANT)
        if tenant == OTHER_TENANT:  # the URL follows (for the same tenant, it has not changed)
            assert parse(answer[ids.URL]["search"]).metric == "completions"


def test_explore001_rows_are_the_breakdown(server_context, snapshot):
    start, end = queries.default_range(snapshot)
    out = explore.explore_outputs(embed_token(), "?metric=completion_rate&by=group")
    rows = queries.breakdown(snapshot, TENANT, start, end, {}, "completion_rate", "group", 1000)
    assert [r["label"] for r in out["rows"]] == list(rows["label"])
    assert [r["value"] for r in out["rows"]] == [None if v is None else round(v * 100, 1) for v in rows["value"]]
    assert [c["headerName"] for c in out["columns"]] == ["Group", "Completion rate (%)"]
    assert [tuple(p) for p in checked(out["figure"]).data[0].customdata] == [
        ("completion_rate", "group", r["key"]) for r in out["rows"] if r["value"] is not None]
    assert out["title"] == "Completion rate by group"


def test_explore002_line_and_pie(server_context, snapshot):
    line = explore.explore_outputs(embed_token(), "?chart=line&metric=starts&range=90d")
    assert [c["field"] for c in line["columns"]] == ["period", "value"]
    assert line["rows"][0]["period"] == "2026-08-03" and len(line["rows"]) == 13  # weekly over 90 days
    assert checked(line["figure"]).data[0].type == "scatter"
    pie = explore.explore_outputs(embed_token(), "?chart=pie&by=country&metric=enrolments")
    assert checked(pie["figure"]).data[0].type == "pie" and len(checked(pie["figure"]).data[0].values) <= 10
    rate = explore.explore_outputs(embed_token(), "?chart=pie&metric=avg_score")
    assert "needs a count" in annotation(rate["figure"])


def test_explore003_csv_neutralizes_formulas_and_follows_the_grid_order():
    columns = [{"field": "label", "headerName": "Training"}, {"field": "key", "headerName": "Key"},
               {"field": "value", "headerName": "Completions"}]
    rows = [{"label": "=HYPERLINK(\"x\")", "key": "t1", "value": 5}, {"label": "+1", "key": "t2", "value": 3},
            {"label": "@SUM", "key": "t3", "value": None}, {"label": "-x", "key": "t4", "value": 1},
            {"label": "Plain", "key": "t5", "value": 0}]
    text = explore.csv_text(columns, rows, shown=[{"key": k} for k in ("t5", "t4", "t3", "t2", "t1", "t9")])
    assert text.splitlines() == [
        "Training,Key,Completions", "Plain,t5,0", "'-x,t4,1", "'@SUM,t3,", "'+1,t2,3",
        "\"'=HYPERLINK(\"\"x\"\")\",t1,5"]
    assert explore.csv_text(columns, rows, None).splitlines()[1].startswith("\"'=HYPERLINK")


def test_explore004_csv_download_is_recomputed_for_the_scope(server_context, snapshot):
    start, end = queries.default_range(snapshot)
    sent = explore.csv_download(embed_token(), f"?by=country&tenant={OTHER_TENANT}", shown=None)
    assert sent["filename"] == f"dataviz-{TENANT}-completions-country-{start}-{end}.csv"
    rows = queries.breakdown(snapshot, TENANT, start, end, {}, "completions", "country", 1000)
    assert sent["content"].splitlines()[1:] == [f"{r.label},{r.value}" for r in rows.itertuples()]
    with pytest.raises(Exception):
        explore.csv_download(embed_token(secret=OTHER_SECRET), "", None)


def test_route001_pages_need_a_verified_token(server_context):
    page, theme = shell.render("/embed/overview", f"?token={embed_token(theme='dark', locale='fr')}")
    assert theme == "dv-root theme-dark" and "Vue d’ensemble" in texts(page)
    page, theme = shell.render("/explore", f"?token={analyst_token()}&tenant={OTHER_TENANT}")
    assert theme == "dv-root theme-light"
    page, _ = shell.render("/embed/overview", f"?token={embed_token(secret=OTHER_SECRET)}")
    assert "could not be verified" in texts(page) and "kpi" not in str(page)
    page, _ = shell.render("/embed/nothing", f"?token={embed_token()}")
    assert texts(page) == "This page does not exist."
    page, _ = shell.render("/", "")
    assert "Live snapshot" in texts(page)


def test_route001b_tenant_without_data_says_so_in_its_language(server_context):
    page, _ = shell.render("/embed/overview", f"?token={embed_token('new-customer', locale='fr')}")
    assert texts(page) == "Il n’y a pas encore de données pour cette organisation."
    out = overview.overview_outputs(embed_token("new-customer"), "")
    assert texts(out["status"]) == "There is no data for this organisation yet."


def test_route002_analyst_pick_is_checked_against_the_snapshot(server_context):
    assert authorize(analyst_token(), OTHER_TENANT).tenant == OTHER_TENANT
    # An unknown pick lands where no pick does: the tenant with the most activity (issue 12).
    assert authorize(analyst_token(), "no-such-tenant").tenant == authorize(analyst_token()).tenant
    assert authorize(embed_token(), OTHER_TENANT).tenant == TENANT
    assert authorize(embed_token(), OTHER_TENANT).tenants() == [TENANT]


def test_route003_the_analyst_picker_lists_a_few_tenants_and_always_its_own(server_context, snapshot, monkeypatch):
    """``TenantView.tenant_choices`` as the picker shows them: every tenant when there are few; else the first
    ``PICKER_OPTIONS`` by name that match what was typed (name or id, any case), and the view's own tenant
    whatever was typed."""
    names = {t: snapshot.tenants[t].name for t in snapshot.tenants}

    def picker(view, search=None):
        return tenant_options(view.tenant_choices(search))

    by_name = sorted(names, key=lambda t: (names[t].casefold(), t))
    analyst = authorize(analyst_token(), OTHER_TENANT)
    options = picker(analyst)
    assert [o["value"] for o in options] == by_name and [o["label"] for o in options] == [names[t] for t in by_name]
    assert all(o["search"] == f"{names[o['value']]} {o['value']}" for o in options)  # the browser searches ids too
    monkeypatch.setattr(views, "PICKER_OPTIONS", 2)
    shown = [o["value"] for o in picker(analyst)]
    assert shown == ([OTHER_TENANT] if OTHER_TENANT not in by_name[:2] else []) + by_name[:2]
    assert [o["value"] for o in picker(analyst, TENANT.upper())] == [OTHER_TENANT, TENANT]
    assert [o["value"] for o in picker(analyst, names[TENANT][1:].lower())] == [OTHER_TENANT, TENANT]
    assert [o["value"] for o in picker(analyst, "no such tenant")] == [OTHER_TENANT]
    assert [o["value"] for o in picker(authorize(embed_token()), "")] == [TENANT]  # a tenant's token: its own


def test_sync001_controls_to_state(server_context):
    access = authorize(embed_token(filters={"group": ["Sales"]}))
    now = ViewState(by="country", filters={"group": ("Sales",)})
    click = {"points": [{"customdata": ["completions", "country", "FR"], "label": "FR"}]}
    state = sync.state_from_controls(now, access, ids.GRAPH_EXPLORE, {"click": click})
    assert state.filters == {"country": ("FR",), "group": ("Sales",)}
    state = sync.state_from_controls(state, access, ids.chip_remove_id("country", "FR"), {})
    assert state.filters == {"group": ("Sales",)}
    # A locked dimension cannot be changed, by a dropdown, a click or a chip.
    locked = sync.state_from_controls(now, access, ids.filter_id("explore", "group"),
                                      {"filters": {"group": ["HR"]}})
    assert locked.filters == now.filters
    by_group = ViewState(by="group")
    assert sync.state_from_controls(by_group, access, ids.GRAPH_EXPLORE, {"click": {"points": [
        {"customdata": ["completions", "group", "HR"]}]}}).filters == {}
    assert sync.state_from_controls(now, access, ids.chip_remove_id("group", "Sales"), {}).filters == now.filters


def test_sync002_range_and_choices(server_context):
    access = authorize(embed_token())
    now = ViewState()
    dates = sync.state_from_controls(now, access, ids.range_dates_id("overview"),
                                     {"start": "2026-09-01", "end": "2026-09-10T00:00:00"})
    assert (dates.preset, dates.start, dates.end) == ("custom", dt.date(2026, 9, 1), dt.date(2026, 9, 10))
    preset = sync.state_from_controls(dates, access, ids.range_preset_id("overview"), {"preset": "7d"})
    assert (preset.preset, preset.start, preset.end) == ("7d", None, None)
    custom = sync.state_from_controls(preset, access, ids.range_preset_id("overview"), {"preset": "custom"})
    assert (custom.start, custom.end) == (dt.date(2026, 10, 25), dt.date(2026, 10, 31))
    chosen = sync.state_from_controls(now, access, ids.choice_id("explore", "chart"),
                                      {"choices": {"chart": "pie", "metric": "starts"}})
    assert (chosen.chart, chosen.metric) == ("pie", "starts")


def test_sync003_analyst_tenant_switch_clears_filters(server_context):
    access = authorize(analyst_token(), OTHER_TENANT)
    now = ViewState(tenant=TENANT, filters={"group": ("Sales",)})
    state = sync.state_from_controls(now, access, ids.tenant_id("explore"), {"tenant": OTHER_TENANT})
    assert state.filters == {}


def test_sync006_a_new_list_opens_on_its_first_page_with_nobody_opened(server_context):
    """A filter, range or tenant change makes another list: the panel's page and opened learner do not carry
    over (page 7 of the old list could be past the new one's end). A chart choice keeps them."""
    access = authorize(analyst_token(), OTHER_TENANT)
    now = ViewState(tenant=TENANT, cohort="active", page=7, learner="u1", filters={"group": ("Sales",)})
    changes = [
        (ids.filter_id("explore", "country"), {"filters": {"country": ["FR"]}}),
        (ids.chip_remove_id("group", "Sales"), {}),
        (ids.range_preset_id("overview"), {"preset": "7d"}),
        (ids.range_dates_id("overview"), {"start": "2026-09-01", "end": "2026-09-10"}),
        (ids.tenant_id("explore"), {"tenant": OTHER_TENANT}),
    ]
    for trigger, controls in changes:
        state = sync.state_from_controls(now, access, trigger, controls)
        assert (state.page, state.learner, state.cohort) == (1, None, "active"), trigger
    kept = sync.state_from_controls(now, access, ids.choice_id("explore", "chart"), {"choices": {"chart": "pie"}})
    assert (kept.page, kept.learner) == (7, "u1")
    unchanged = sync.state_from_controls(now, access, ids.filter_id("explore", "group"),
                                         {"filters": {"group": ["Sales"]}})
    assert (unchanged.page, unchanged.learner) == (7, "u1")


def test_sync004_clicked_point():
    assert figures.clicked({"points": [{"customdata": ["starts", "group", "k1"]}]}) == ("starts", "group", "k1")
    assert figures.clicked({"points": [{"customdata": ["starts", None, None]}]}) == ("starts", None, None)
    assert figures.clicked({"points": []}) is None
    assert figures.clicked(None) is None
    assert figures.clicked({"points": [{"customdata": 3}]}) is None
    assert figures.clicked({"points": [{"customdata": ["k1"]}]}) is None
    assert figures.clicked({"points": [{"customdata": ["starts", "group", {"$ne": 1}]}]}) is None


def test_sync005_outputs_keep_the_token_and_skip_unchanged_urls(server_context):
    access = authorize(embed_token())
    out = {"filters": [{"id": ids.filter_id("overview", d)} for d in ("group", "country")], "preset": [{}],
           "start": [{}], "end": [{}], "choices": [{"id": ids.choice_id("overview", "gran")}], "tenant": [{}],
           "chips": [], "click": [], "choice_options": [{"id": ids.choice_id("overview", "gran")}],
           "tenant_options": [{}]}
    state = ViewState(filters={"group": ("Sales",)}, granularity="week")
    result = sync.outputs_for(state, access, out, "?token=t", "t", from_url=False)
    assert result["search"] == "?token=t&group=Sales&gran=week"
    assert result["filters"] == [["Sales"], []] and result["choices"] == ["week"]
    assert result["tenant"] == [TENANT] and result["start"] == ["2026-10-02"]
    assert sync.outputs_for(state, access, out, result["search"], "t", from_url=False)["search"] is sync.no_update
    assert sync.outputs_for(state, access, out, "?token=t", "t", from_url=True)["search"] is sync.no_update
    # the picker's options come with a tenant the URL names (back, forward), not with each control's change
    assert result["tenant_options"] == [sync.no_update]
    assert [o["value"] for o in sync.outputs_for(state, access, out, "", "t", from_url=True)["tenant_options"][0]] \
        == [TENANT]


def test_memo001_queries_are_cached_by_snapshot_tenant_and_filters(server_context, snapshot):
    access = authorize(embed_token())
    start, end = queries.default_range(snapshot)
    cache = get_cache(server_context.server)
    view = replace(access, start=start, end=end)
    first = answers.breakdown(replace(view, filters={"group": ("Sales",)}), "starts", "training")
    hits = cache.hits
    again = answers.breakdown(replace(view, filters={"group": ["Sales"]}), "starts", "training")
    assert again == first and cache.hits == hits + 1
    other = answers.breakdown(replace(view, tenant=OTHER_TENANT, filters={"group": ("Sales",)}), "starts", "training")
    assert cache.hits == hits + 1 and other != first
    assert first == [{"key": r.key, "label": r.label, "value": r.value} for r in queries.breakdown(
        snapshot, TENANT, start, end, {"group": ("Sales",)}, "starts", "training").itertuples()]


def test_memo002_app_cache_off_holds_for_the_dashboards(generated_snapshot_dir, tmp_path):
    """DATAVIZ_APP_CACHE=0 turns off the dashboards' memoised answers too, not only the API's."""
    dash_app = make_app(generated_snapshot_dir, tmp_path / "cache", app_cache=False)
    files = sorted((tmp_path / "cache").iterdir())  # cachelib's own entry count, nothing else
    with dash_app.server.test_request_context("/_dash-update-component", method="POST"):
        first = overview.overview_outputs(embed_token(), "?group=Sales")
        again = overview.overview_outputs(embed_token(), "?group=Sales")
        explore.explore_outputs(embed_token(), "?metric=starts&by=country")
    cache = get_cache(dash_app.server)
    assert first["values"] == again["values"] and first["values"]["starts"] != "—"
    assert (cache.hits, cache.misses) == (0, 0)
    assert sorted((tmp_path / "cache").iterdir()) == files


def test_i18n001_labels_exist_in_both_locales():
    assert set(i18n.LABELS["en"]) == set(i18n.LABELS["fr"])
    assert i18n.number(12345.67, "fr", 1) == "12\u202f345,7"
    assert i18n.percent(0.348, "en") == "34.8%"
    assert i18n.metric_value("connections", None, "fr") == "n/d"
    assert isinstance(overview.kpi_change("starts", 5, 0, 30, "en"), html.Span)
    assert parse("?token=x").filters == {}


def _component(node, component_id):
    """The component of a rendered tree with this id, or None."""
    if isinstance(node, (list, tuple)):
        return next((c for c in (_component(n, component_id) for n in node) if c is not None), None)
    if getattr(node, "id", None) == component_id:
        return node
    children = getattr(node, "children", None)
    return None if children is None or isinstance(children, str) else _component(children, component_id)


def test_zone001_pages_name_the_tenant_and_its_time_zone(server_context, oracle):
    """Both pages say whose data they show and in which zone its days and hours are, also after an analyst
    picks another tenant; the analyst's picker shows display names."""
    for outputs in (overview.overview_outputs, explore.explore_outputs):
        line = outputs(embed_token(), "")["zone"]
        assert oracle.tenant_name(TENANT) in line and oracle.timezone(TENANT) in line and oracle.timezone(TENANT) != "UTC"
        line = outputs(analyst_token(), f"?tenant={OTHER_TENANT}")["zone"]
        assert oracle.tenant_name(OTHER_TENANT) in line and oracle.timezone(OTHER_TENANT) in line
    assert "fuseau" in overview.overview_outputs(embed_token(locale="fr"), "")["zone"]
    page, _ = shell.render("/explore", f"?token={analyst_token()}&tenant={OTHER_TENANT}")
    assert oracle.timezone(OTHER_TENANT) in texts(_component(page, ids.EXPLORE_ZONE))
    picker = _component(page, ids.tenant_id(ids.EXPLORE))
    assert sorted((o["value"], o["label"]) for o in picker.options) == \
        sorted((t, oracle.tenant_name(t)) for t in oracle.tenants())
    assert oracle.tenant_name(TENANT) != TENANT
