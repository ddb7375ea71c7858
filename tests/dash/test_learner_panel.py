"""Issue 15 on the overview: a KPI card opens the learners behind its number, a name opens their trainings.

Through the Flask test client, as the renderer posts the callbacks: the panel
lists exactly what ``app.learners.learner_page`` gives for the card's cohort,
range and filters (locked ones at their lock), its pager walks the pages, its
files hold what the API's writers write, and a token without ``"learners":
true`` has no panel and is refused (403) when it crafts the callbacks.
"""
from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json

import openpyxl
import pytest

from app import downloads, learners, queries
from app.store import SnapshotStore
from app.view_state import COHORTS, METRIC_COHORTS, parse, resolve_range
from callbacks import shell
from callbacks.overview import overview_outputs
from layouts import ids
from layouts.overview import CHART_COHORTS
from tests.support.credentials import OTHER_TENANT, TENANT, analyst_token, embed_token
from tests.support.dash_requests import callback_key, post_callback, prop_id

URL_SEARCH = {"id": ids.URL, "property": "search"}
PANEL_OUTPUTS = [{"id": ids.LEARNERS_PANEL, "property": "hidden"}, {"id": ids.LEARNERS_HEADING, "property": "children"},
                 {"id": ids.LEARNERS_SUMMARY, "property": "children"}, {"id": ids.LEARNERS_BODY, "property": "children"},
                 {"id": ids.LEARNERS_BACK, "property": "hidden"}, {"id": ids.LEARNERS_PREV, "property": "disabled"},
                 {"id": ids.LEARNERS_NEXT, "property": "disabled"}]


@pytest.fixture
def snapshot(generated_snapshot_dir):
    return SnapshotStore(generated_snapshot_dir).current()


def panel_call(client, dash_app, token, search):
    inputs = [{**URL_SEARCH, "value": search}]
    state = [{"id": ids.token_id("overview"), "property": "data", "value": token}]
    status, body = post_callback(client, dash_app, f"{ids.LEARNERS_PANEL}.hidden", PANEL_OUTPUTS, inputs, state)
    return status, (body or {}).get("response")


def drill_call(client, dash_app, token, search, trigger, click=None):
    """The drill callback as the renderer posts it: ``trigger`` pressed (a button's id), or a chart's graph id
    with its ``click`` (clickData)."""
    def pressed(component_id):
        return {"id": component_id, "property": "n_clicks", "value": int(trigger == component_id)}

    def of_type(kind):
        return [pressed(trigger)] if isinstance(trigger, dict) and trigger.get("type") == kind else []

    charts = [{"id": g, "property": "clickData", "value": click if trigger == g else None} for g in CHART_COHORTS]
    if click is not None or (isinstance(trigger, dict) and trigger.get("type") == ids.CHART_OPEN):
        inputs, reading = [of_type(ids.CHART_OPEN), *charts], ids.GRAPH_ACTIVITY  # the charts' own callback
    else:
        inputs = [[pressed(ids.kpi_open_id(m)) for m in METRIC_COHORTS], of_type(ids.LEARNER_OPEN),
                  pressed(ids.LEARNERS_CLOSE), pressed(ids.LEARNERS_BACK), pressed(ids.LEARNERS_PREV),
                  pressed(ids.LEARNERS_NEXT)]
        reading = ids.LEARNERS_CLOSE
    state = [{**URL_SEARCH, "value": search}, {"id": ids.token_id("overview"), "property": "data", "value": token}]
    key = callback_key(dash_app, "location-url.search@", reading)  # the renderer names a second
    output = {"id": ids.URL, "property": key.split(".", 1)[1]}  # writer's output so: "search@<hash>"
    status, body = post_callback(client, dash_app, key, output, inputs, state,
                                 [prop_id(trigger, "clickData" if click is not None else "n_clicks")])
    return status, (body or {}).get("response", {}).get(ids.URL, {}).get("search")


def file_call(client, dash_app, token, search, button):
    inputs = [{"id": ids.LEARNERS_CSV, "property": "n_clicks", "value": int(button == ids.LEARNERS_CSV)},
              {"id": ids.LEARNERS_XLSX, "property": "n_clicks", "value": int(button == ids.LEARNERS_XLSX)}]
    state = [{**URL_SEARCH, "value": search}, {"id": ids.token_id("overview"), "property": "data", "value": token}]
    status, body = post_callback(client, dash_app, f"{ids.LEARNERS_DOWNLOAD}.data",
                                 {"id": ids.LEARNERS_DOWNLOAD, "property": "data"}, inputs, state,
                                 [prop_id(button, "n_clicks")])
    return status, (body or {}).get("response", {}).get(ids.LEARNERS_DOWNLOAD, {}).get("data")


def listed(response) -> list[str]:
    """The user ids of the learners the panel's table names (their buttons' ids)."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            props = node.get("props", node)
            if isinstance(props.get("id"), dict) and props["id"].get("type") == ids.LEARNER_OPEN:
                found.append(props["id"]["user"])
            for value in props.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(response[ids.LEARNERS_BODY]["children"])
    return found


def expected(snapshot, search, filters, cohort, after=None, limit=25):
    start, end = resolve_range(parse(search), snapshot.data_as_of)
    return learners.learner_page(snapshot, TENANT, start, end, filters, cohort, learners.DEFAULT_SORT, None, limit,
                                 after)


def test_panel001_each_kpi_card_opens_its_cohort_and_the_panel_lists_learner_page(client, dash_app, snapshot):
    token = embed_token(learners=True)
    search = f"?token={token}&range=90d"
    for metric, cohort in METRIC_COHORTS.items():
        status, url = drill_call(client, dash_app, token, search, ids.kpi_open_id(metric))
        assert status == 200 and parse(url).cohort == cohort and "range=90d" in url, metric
    assert set(METRIC_COHORTS.values()) == set(COHORTS)
    assert set(COHORTS) == set(learners.COHORTS)
    for cohort in COHORTS:
        status, response = panel_call(client, dash_app, token, f"{search}&cohort={cohort}")
        page = expected(snapshot, "?range=90d", {}, cohort)
        assert status == 200 and response[ids.LEARNERS_PANEL]["hidden"] is False
        assert page.total > 0 and listed(response) == list(page.rows["user_id"]), cohort
        assert f"{page.total:,}" in response[ids.LEARNERS_SUMMARY]["children"]


def test_panel002_the_pager_walks_the_pages_learner_page_gives(client, dash_app, snapshot):
    """The page is URL state (``page``): Next and Previous write it, a link opens it, past the end is the last."""
    token = analyst_token()
    search = f"?token={token}&tenant={TENANT}&range=90d&cohort=enrolled"
    _, first = panel_call(client, dash_app, token, search)
    assert first[ids.LEARNERS_PREV]["disabled"] is True and first[ids.LEARNERS_NEXT]["disabled"] is False
    status, url = drill_call(client, dash_app, token, search, ids.LEARNERS_NEXT)
    assert status == 200 and url == f"{search}&page=2"
    _, second = panel_call(client, dash_app, token, url)
    page1 = expected(snapshot, search, {}, "enrolled")
    page2 = expected(snapshot, search, {}, "enrolled", page1.next)
    assert listed(second) == list(page2.rows["user_id"]) and not set(listed(first)) & set(listed(second))
    assert second[ids.LEARNERS_PREV]["disabled"] is False and "page 2" in second[ids.LEARNERS_SUMMARY]["children"]
    status, url = drill_call(client, dash_app, token, url, ids.LEARNERS_PREV)
    assert url == search
    whole = expected(snapshot, search, {}, "enrolled", limit=1000)
    last = -(-whole.total // 25)
    for asked in (last, last + 1, 200, 9999):  # past the end (or the bound): the last page, never a 500
        status, response = panel_call(client, dash_app, token, f"{search}&page={asked}")
        assert status == 200 and listed(response) == list(whole.rows["user_id"])[(last - 1) * 25:last * 25], asked
        assert response[ids.LEARNERS_NEXT]["disabled"] is True
    status, response = panel_call(client, dash_app, token, f"{search}&page=-1")
    assert status == 200 and listed(response) == listed(first)


def test_panel003_a_learner_opens_their_trainings_and_back_closes_them(client, dash_app, snapshot):
    token = embed_token(learners=True)
    search = f"?token={token}&cohort=completed"
    _, response = panel_call(client, dash_app, token, search)
    user = listed(response)[0]
    status, url = drill_call(client, dash_app, token, search, ids.learner_open_id(user))
    assert status == 200 and parse(url).learner == user and parse(url).cohort == "completed"
    _, opened = panel_call(client, dash_app, token, url)
    found = learners.learner_trainings(snapshot, TENANT, user, {})
    text = json.dumps(opened[ids.LEARNERS_BODY]["children"], ensure_ascii=False)
    assert found["trainings"] and all(t["title"] in text for t in found["trainings"])
    assert opened[ids.LEARNERS_BACK]["hidden"] is False
    _, unknown = panel_call(client, dash_app, token, f"{search}&learner=nobody-such")
    assert "not in the current view" in json.dumps(unknown[ids.LEARNERS_BODY]["children"])
    status, url = drill_call(client, dash_app, token, url, ids.LEARNERS_BACK)
    assert status == 200 and parse(url).learner is None and parse(url).cohort == "completed"
    status, url = drill_call(client, dash_app, token, url, ids.LEARNERS_CLOSE)
    assert status == 200 and parse(url).cohort is None and url == f"?token={token}"
    _, closed = panel_call(client, dash_app, token, url)
    assert closed[ids.LEARNERS_PANEL]["hidden"] is True


def test_panel004_without_the_learners_claim_no_panel_and_crafted_calls_are_refused(client, dash_app,
                                                                                    server_context):
    token = embed_token()
    page, _ = shell.render("/embed/overview", f"?token={token}")
    text = json.dumps(page.to_plotly_json(), default=lambda o: o.to_plotly_json())
    assert ids.LEARNERS_PANEL not in text and ids.KPI_OPEN not in text
    allowed, _ = shell.render("/embed/overview", f"?token={embed_token(learners=True)}")
    text = json.dumps(allowed.to_plotly_json(), default=lambda o: o.to_plotly_json())
    assert ids.LEARNERS_PANEL in text and ids.KPI_OPEN in text
    search = f"?token={token}&cohort=active"
    assert panel_call(client, dash_app, token, search)[0] == 403
    assert drill_call(client, dash_app, token, search, ids.kpi_open_id("connections"))[0] == 403
    assert file_call(client, dash_app, token, search, ids.LEARNERS_CSV)[0] == 403


def test_panel005_locked_filters_apply_to_the_list_the_trainings_and_the_files(client, dash_app, snapshot):
    everyone = expected(snapshot, "?range=90d", {}, "active", limit=1000).rows
    groups = sorted(set(everyone["group"]))
    locked, other = groups[0], groups[1]
    token = embed_token(learners=True, filters={"group": [locked]})
    search = f"?token={token}&range=90d&cohort=active&group={other}"  # a stale link asks for another group
    _, response = panel_call(client, dash_app, token, search)
    page = expected(snapshot, "?range=90d", {"group": (locked,)}, "active")
    assert listed(response) == list(page.rows["user_id"]) and set(page.rows["group"]) == {locked}
    outsider = everyone[everyone["group"] == other]["user_id"].iloc[0]
    _, opened = panel_call(client, dash_app, token, f"{search}&learner={outsider}")
    assert "not in the current view" in json.dumps(opened[ids.LEARNERS_BODY]["children"])
    _, data = file_call(client, dash_app, token, search, ids.LEARNERS_CSV)
    rows = list(csv.DictReader(io.StringIO(base64.b64decode(data["content"]).decode())))
    assert rows and {r["group"] for r in rows} == {locked} and len(rows) == page.total


def test_panel006_files_hold_what_the_apis_writers_write(client, dash_app, snapshot):
    token = embed_token(learners=True)
    search = f"?token={token}&range=90d&cohort=not_completed"
    start, end = resolve_range(parse(search), snapshot.data_as_of)
    chunks = learners.learner_chunks(snapshot, TENANT, start, end, {}, "not_completed")
    status, data = file_call(client, dash_app, token, search, ids.LEARNERS_CSV)
    assert status == 200 and data["base64"] is True
    assert data["filename"] == f"learners-{TENANT}-not_completed-{start}-{end}.csv"
    assert base64.b64decode(data["content"]) == b"".join(downloads.csv_stream(learners.COLUMNS, chunks))
    status, data = file_call(client, dash_app, token, search, ids.LEARNERS_XLSX)
    sheet = openpyxl.load_workbook(io.BytesIO(base64.b64decode(data["content"])), read_only=True).active
    table = list(sheet.values)
    page = expected(snapshot, search, {}, "not_completed", limit=1000)
    assert table[0] == learners.COLUMNS and len(table) - 1 == page.total
    assert [r[0] for r in table[1:len(page.rows) + 1]] == list(page.rows["user_id"])
    assert file_call(client, dash_app, token, f"?token={token}", ids.LEARNERS_CSV)[0] == 204  # no list open


def grid_call(client, dash_app, token, search):
    outputs = [{"id": ids.LEARNER_ROWS, "property": "data"},
               {"id": ids.EXPLORE_LEARNERS_SUMMARY, "property": "children"},
               {"id": ids.EXPLORE_LEARNERS_HEADING, "property": "children"},
               {"id": ids.EXPLORE_LEARNER, "property": "hidden"},
               {"id": ids.EXPLORE_LEARNER_BODY, "property": "children"}]
    status, body = post_callback(client, dash_app, f"{ids.LEARNER_ROWS}.data", outputs, [{**URL_SEARCH,
                                 "value": search}], [{"id": ids.token_id("explore"), "property": "data",
                                                      "value": token}])
    return status, (body or {}).get("response")


def test_panel007_explore_lists_the_learners_behind_its_metric_for_the_selection(client, dash_app, snapshot,
                                                                                 server_context):
    token = analyst_token()
    for metric in ("completion_rate", "active_learners"):
        search = f"?token={token}&tenant={TENANT}&range=90d&metric={metric}&group=Sales"
        status, response = grid_call(client, dash_app, token, search)
        page = expected(snapshot, search, {"group": ("Sales",)}, METRIC_COHORTS[metric], limit=500)
        rows = response[ids.LEARNER_ROWS]["data"]
        assert status == 200 and [r["user_id"] for r in rows] == list(page.rows["user_id"]) and rows
        assert {r["group"] for r in rows} == {"Sales"}
        assert f"{page.total:,} learners" in response[ids.EXPLORE_LEARNERS_SUMMARY]["children"]
    page, _ = shell.render("/explore", f"?token={embed_token()}")
    assert ids.GRID_LEARNERS not in json.dumps(page.to_plotly_json(), default=lambda o: o.to_plotly_json())
    assert grid_call(client, dash_app, embed_token(), f"?token={embed_token()}")[0] == 403


def test_panel008_a_link_that_opens_the_panel_arrives_with_it(server_context, snapshot):
    """No callback on load: the first layout holds the panel's list (and explore's grid) for the URL."""
    token = embed_token(learners=True)
    page, _ = shell.render("/embed/overview", f"?token={token}&range=90d&cohort=started")
    text = json.dumps(page.to_plotly_json(), default=lambda o: o.to_plotly_json())
    rows = expected(snapshot, "?range=90d", {}, "started").rows
    assert all(json.dumps(u) in text for u in rows["user_id"])
    page, _ = shell.render("/explore", f"?token={token}&range=90d&metric=starts")
    text = json.dumps(page.to_plotly_json(), default=lambda o: o.to_plotly_json())
    assert all(json.dumps(u) in text for u in rows["user_id"])


COMPLIANCE_DRILLS = {"on_time_rate": "due", "overdue": "overdue", "due_soon": "due_soon", "at_risk_learners": "at_risk"}


def test_panel009_the_compliance_cards_open_their_learners(client, dash_app, snapshot, server_context):
    """Issue 17: for a token that may see learners, the compliance row's cards are buttons that open their cohort
    (the at-risk list as long as the KPI says), whose files are the API's; without the claim they stay cards."""
    token = embed_token(learners=True)
    search = f"?token={token}&range=90d&group=Sales"
    start, end = resolve_range(parse(search), snapshot.data_as_of)
    kpis = queries.kpis(snapshot, TENANT, start, end, {"group": ("Sales",)})
    for metric, cohort in COMPLIANCE_DRILLS.items():
        assert METRIC_COHORTS[metric] == cohort
        status, url = drill_call(client, dash_app, token, search, ids.kpi_open_id(metric))
        assert status == 200 and parse(url).cohort == cohort and "group=Sales" in url, metric
        status, response = panel_call(client, dash_app, token, url)
        page = expected(snapshot, search, {"group": ("Sales",)}, cohort)
        assert status == 200 and page.total > 0 and listed(response) == list(page.rows["user_id"]), metric
        assert f"{page.total:,} learners" in response[ids.LEARNERS_SUMMARY]["children"]
        if cohort == "at_risk":
            assert page.total == kpis["at_risk_learners"]
        _, data = file_call(client, dash_app, token, url, ids.LEARNERS_CSV)
        chunks = learners.learner_chunks(snapshot, TENANT, start, end, {"group": ("Sales",)}, cohort)
        assert base64.b64decode(data["content"]) == b"".join(downloads.csv_stream(learners.COLUMNS, chunks))
    for claim, opens in ((True, True), (False, False)):
        page, _ = shell.render("/embed/overview", f"?token={embed_token(learners=claim)}")
        text = json.dumps(page.to_plotly_json(), default=lambda o: o.to_plotly_json())
        assert all((json.dumps(ids.kpi_open_id(m))[1:-1] in text) is opens for m in COMPLIANCE_DRILLS), claim


def test_panel010_compliance_lists_of_a_tenant_without_assignments(client, dash_app, snapshot, server_context):
    """hooli assigns nothing (no compliance row): a crafted link says there is no such list, its files are not
    sent, and explore under a compliance metric shows the default metric, completions, and lists its learners."""
    token = analyst_token()
    for cohort in COMPLIANCE_DRILLS.values():
        search = f"?token={token}&tenant={OTHER_TENANT}&cohort={cohort}"
        status, response = panel_call(client, dash_app, token, search)
        assert status == 200 and response[ids.LEARNERS_PANEL]["hidden"] is False
        assert "assigns no trainings" in json.dumps(response[ids.LEARNERS_BODY]["children"])
        assert file_call(client, dash_app, token, search, ids.LEARNERS_CSV)[0] == 204
    search = f"?token={token}&tenant={OTHER_TENANT}&range=90d&metric=overdue"
    status, response = grid_call(client, dash_app, token, search)
    page = learners.learner_page(snapshot, OTHER_TENANT, *resolve_range(parse(search), snapshot.data_as_of), {},
                                 METRIC_COHORTS["completions"], limit=500)
    assert status == 200 and [r["user_id"] for r in response[ids.LEARNER_ROWS]["data"]] == \
        list(page.rows["user_id"])
    assert response[ids.EXPLORE_LEARNERS_SUMMARY]["children"].startswith("Completions: ")
    search = f"?token={token}&tenant={TENANT}&range=90d&metric=overdue"  # globex: its overdue learners
    status, response = grid_call(client, dash_app, token, search)
    page = expected(snapshot, search, {}, "overdue", limit=500)
    assert [r["user_id"] for r in response[ids.LEARNER_ROWS]["data"]] == list(page.rows["user_id"])
    assert response[ids.EXPLORE_LEARNERS_SUMMARY]["children"].startswith("Overdue: ")


def points_of(token, search) -> dict[str, list[list]]:
    """Each drillable overview chart's points (``customdata``: metric, kind, value), as the page draws them."""
    figs = overview_outputs(token, search)["figures"]
    return {g: [list(p) for trace in figs[g]["data"] for p in (trace.get("customdata") or ())] for g in CHART_COHORTS}


def narrowed(snapshot, search, filters, kind, value):
    """Range and filters a chart point narrows the view to, computed here from docs/metrics.md on its own."""
    start, end = resolve_range(parse(search), snapshot.data_as_of)
    day = dt.date.fromisoformat(value) if kind in ("day", "week", "month") else None
    if kind == "day":
        start = end = day
    elif kind == "week":
        start, end = max(start, day - dt.timedelta(days=day.weekday())), \
            min(end, day - dt.timedelta(days=day.weekday()) + dt.timedelta(days=6))
    elif kind == "month":
        following = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
        start, end = max(start, day.replace(day=1)), min(end, following - dt.timedelta(days=1))
    elif kind:
        filters = {**filters, kind: (value,)}
    return start, end, filters


def test_panel011_a_click_on_each_chart_opens_its_cohort_narrowed_to_the_point(client, dash_app, snapshot,
                                                                              server_context):
    """A bar of a day, week or month, a funnel step, a training or a group: the list is ``learner_page`` of the
    chart's cohort over the clicked period, or with the clicked value as a filter."""
    token = embed_token(learners=True)
    seen = set()
    for search, grain in ((f"?token={token}", "day"), (f"?token={token}&range=90d", "week"),
                          (f"?token={token}&range=12m", "month")):
        for graph, points in points_of(token, search).items():
            if grain != "day" and graph != ids.GRAPH_ACTIVITY:
                continue  # the other charts do not change with the granularity
            assert points, graph
            for metric, kind, value in (points[0], points[-1]) if graph != ids.GRAPH_FUNNEL else points:
                click = {"points": [{"curveNumber": 0, "pointNumber": 0, "customdata": [metric, kind, value]}]}
                status, url = drill_call(client, dash_app, token, search, graph, click)
                cohort = CHART_COHORTS[graph][metric]
                assert status == 200 and parse(url).cohort == cohort, (graph, metric)
                assert parse(url).drill == ((kind, value) if kind else None)
                assert (kind is None or f"cohort_{kind}=" in url) and (kind != "day" or grain == "day")
                _, response = panel_call(client, dash_app, token, url)
                start, end, filters = narrowed(snapshot, search, {}, kind, value)
                page = learners.learner_page(snapshot, TENANT, start, end, filters, cohort, learners.DEFAULT_SORT,
                                             None, 25)
                assert listed(response) == list(page.rows["user_id"]), (graph, metric, kind, value)
                assert f"{page.total:,} learners" in response[ids.LEARNERS_SUMMARY]["children"]
                seen.add((graph, kind))
    assert {kind for _, kind in seen} >= {"day", "week", "month", "training", "group", None}
    assert {graph for graph, _ in seen} == set(CHART_COHORTS)


def all_props(node):
    """The props of every component in ``node`` (components, their JSON, lists of them), depth first."""
    if hasattr(node, "to_plotly_json"):
        node = node.to_plotly_json()
    if isinstance(node, dict):
        props = node.get("props", node)
        yield props
        for value in props.values():
            yield from all_props(value)
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from all_props(item)


def chart_buttons(token, search) -> list[dict]:
    """The ids of the buttons in the overview's chart tables (what a keyboard reaches)."""
    tables = overview_outputs(token, search)["tables"]
    return [props["id"] for props in all_props(list(tables.values()))
            if isinstance(props.get("id"), dict) and props["id"].get("type") == ids.CHART_OPEN]


def test_panel012_a_chart_tables_values_open_the_same_lists_titled_with_what_was_clicked(client, dash_app, snapshot,
                                                                                          server_context):
    token = embed_token(learners=True)
    search = f"?token={token}&range=90d"
    buttons = chart_buttons(token, search)
    assert {b["graph"] for b in buttons} == set(CHART_COHORTS)
    points = points_of(token, search)
    assert sorted((b["graph"], b["metric"], b["kind"], b["value"]) for b in buttons) == sorted(
        (g, m, k or "", v or "") for g, found in points.items() for m, k, v in found)
    for graph in CHART_COHORTS:
        button = next(b for b in buttons if b["graph"] == graph)
        metric, kind, value = button["metric"], button["kind"] or None, button["value"] or None
        click = {"points": [{"customdata": [metric, kind, value]}]}
        assert drill_call(client, dash_app, token, search, button) == \
            drill_call(client, dash_app, token, search, graph, click), graph
    sales = {"points": [{"customdata": ["completion_rate", "group", "Sales"]}]}
    _, url = drill_call(client, dash_app, token, search, ids.GRAPH_GROUPS, sales)
    _, response = panel_call(client, dash_app, token, url)
    assert response[ids.LEARNERS_HEADING]["children"] == "Learners who have not completed — Sales"
    week = next(p for p in points[ids.GRAPH_ACTIVITY] if p[0] == "connections")
    _, url = drill_call(client, dash_app, token, search, ids.GRAPH_ACTIVITY, {"points": [{"customdata": week}]})
    _, response = panel_call(client, dash_app, token, url)
    day = dt.date.fromisoformat(week[2])
    assert response[ids.LEARNERS_HEADING]["children"] == \
        f"Learners who connected — week of {day:%b} {day.day}, {day.year}"
    training = next(p for p in points[ids.GRAPH_TRAININGS])
    title = queries.filter_values(snapshot, TENANT)["training"]
    _, url = drill_call(client, dash_app, token, search, ids.GRAPH_TRAININGS, {"points": [{"customdata": training}]})
    _, response = panel_call(client, dash_app, token, url)
    named = next(o["label"] for o in title if o["key"] == training[2])
    assert response[ids.LEARNERS_HEADING]["children"] == f"Learners who completed a training — {named}"
    french = embed_token(learners=True, locale="fr")
    _, response = panel_call(client, dash_app, french, url.replace(token, french))
    assert response[ids.LEARNERS_HEADING]["children"] == f"Apprenants qui ont terminé une formation — {named}"
    month = f"?token={french}&range=12m&cohort=active&cohort_month=2026-03-01"
    _, response = panel_call(client, dash_app, french, month)
    assert response[ids.LEARNERS_HEADING]["children"] == "Apprenants actifs — mars 2026"


def test_panel013_a_click_never_widens_the_filters_or_the_locks(client, dash_app, snapshot, server_context):
    """Locked to one group: a crafted click on another group's bar (or a period outside the range) shows no
    learner, its file is not sent; a click within the lock lists the lock's learners only."""
    everyone = expected(snapshot, "?range=90d", {}, "not_completed", limit=1000).rows
    groups = sorted(set(everyone["group"]))
    locked, other = groups[0], groups[1]
    token = embed_token(learners=True, filters={"group": [locked]})
    search = f"?token={token}&range=90d"
    outside = {"points": [{"customdata": ["completion_rate", "group", other]}]}
    status, url = drill_call(client, dash_app, token, search, ids.GRAPH_GROUPS, outside)
    assert status == 200 and parse(url).drill == ("group", other)
    _, response = panel_call(client, dash_app, token, url)
    assert listed(response) == [] and "outside the current range or filters" in json.dumps(
        response[ids.LEARNERS_BODY]["children"])
    assert file_call(client, dash_app, token, url, ids.LEARNERS_CSV)[0] == 204
    inside = {"points": [{"customdata": ["completion_rate", "group", locked]}]}
    _, url = drill_call(client, dash_app, token, search, ids.GRAPH_GROUPS, inside)
    _, response = panel_call(client, dash_app, token, url)
    page = expected(snapshot, search, {"group": (locked,)}, "not_completed")
    assert listed(response) == list(page.rows["user_id"]) and set(page.rows["group"]) == {locked}
    _, data = file_call(client, dash_app, token, url, ids.LEARNERS_CSV)
    rows = list(csv.DictReader(io.StringIO(base64.b64decode(data["content"]).decode())))
    assert len(rows) == page.total and {r["group"] for r in rows} == {locked}
    # another dimension narrows within the lock: still the locked group only
    country = sorted(set(everyone["country"]))[0]
    _, response = panel_call(client, dash_app, token, f"{search}&cohort=active&cohort_country={country}")
    page = expected(snapshot, search, {"group": (locked,), "country": (country,)}, "active")
    assert listed(response) == list(page.rows["user_id"])
    # a user's own filter is not widened either, nor is the range
    analyst = analyst_token()
    mine = f"?token={analyst}&tenant={TENANT}&range=90d&group={locked}"
    _, url = drill_call(client, dash_app, analyst, mine, ids.GRAPH_GROUPS, outside)
    assert listed(panel_call(client, dash_app, analyst, url)[1]) == []
    start, _ = resolve_range(parse(search), snapshot.data_as_of)
    before = (start - dt.timedelta(days=40)).isoformat()
    _, response = panel_call(client, dash_app, token, f"{search}&cohort=active&cohort_week={before}")
    assert listed(response) == [] and "outside" in json.dumps(response[ids.LEARNERS_BODY]["children"])
    # a malformed point, or a chart that opens nothing: no new URL (never the whole list instead)
    for graph, data in ((ids.GRAPH_ACTIVITY, ["connections", "week", "not-a-day"]),
                        (ids.GRAPH_GROUPS, ["completions", "group", locked]),
                        (ids.GRAPH_GROUPS, ["completion_rate", "planet", "Mars"]),
                        (ids.GRAPH_FUNNEL, ["x", None, None])):
        status, url = drill_call(client, dash_app, token, search, graph, {"points": [{"customdata": data}]})
        assert status == 204 and url is None, data
    crafted = ids.chart_open_id(ids.GRAPH_HEATMAP, "connections", None, None)
    assert drill_call(client, dash_app, token, search, crafted)[0] == 204


def test_panel014_without_the_learners_claim_charts_open_nothing(client, dash_app, server_context):
    token = embed_token()
    search = f"?token={token}&range=90d"
    assert chart_buttons(token, search) == []
    assert chart_buttons(embed_token(learners=True), search)
    click = {"points": [{"customdata": ["completion_rate", "group", "Sales"]}]}
    assert drill_call(client, dash_app, token, search, ids.GRAPH_GROUPS, click)[0] == 403
    assert drill_call(client, dash_app, token, search,
                      ids.chart_open_id(ids.GRAPH_FUNNEL, "starts", None, None))[0] == 403
    assert panel_call(client, dash_app, token, f"{search}&cohort=started&cohort_group=Sales")[0] == 403
    # the pointer shows a hand over exactly the charts that open lists (assets/dataviz.css, .opens-learners)
    assert pointing_boxes(token) == set()
    assert pointing_boxes(embed_token(learners=True)) == set(CHART_COHORTS)


def pointing_boxes(token) -> set[str]:
    """The graphs whose box is marked as opening learner lists in the overview's first layout."""
    page, _ = shell.render("/embed/overview", f"?token={token}&range=90d")
    return {graph["id"] for box in all_props(page) if "opens-learners" in str(box.get("className", "")).split()
            for graph in all_props(box["children"]) if graph.get("id") in ids.OVERVIEW_GRAPHS}


def test_panel015_the_drill_down_round_trips_through_the_url(client, dash_app, snapshot, server_context):
    """A link with the cohort, the clicked point, the page and a learner opens the page with the panel filled in;
    a KPI card drops the point and the page; Close drops them all."""
    token = embed_token(learners=True)
    search = f"?token={token}&range=90d&cohort=enrolled&cohort_group=Sales&page=2"
    filters = {"group": ("Sales",)}
    page1 = expected(snapshot, search, filters, "enrolled")
    page2 = expected(snapshot, search, filters, "enrolled", page1.next)
    assert page2.total > 25
    page, _ = shell.render("/embed/overview", search)
    text = json.dumps(page.to_plotly_json(), default=lambda o: o.to_plotly_json(), ensure_ascii=False)
    assert all(json.dumps(u) in text for u in page2.rows["user_id"])
    assert not any(json.dumps(u) in text for u in page1.rows["user_id"])
    assert "Learners who enrolled — Sales" in text
    status, url = drill_call(client, dash_app, token, search, ids.learner_open_id(page2.rows["user_id"].iloc[0]))
    assert url == f"{search}&learner={page2.rows['user_id'].iloc[0]}"
    status, back = drill_call(client, dash_app, token, url, ids.LEARNERS_BACK)
    assert back == search
    status, url = drill_call(client, dash_app, token, search, ids.kpi_open_id("starts"))
    assert url == f"?token={token}&range=90d&cohort=started"
    status, url = drill_call(client, dash_app, token, search, ids.LEARNERS_CLOSE)
    assert url == f"?token={token}&range=90d"


def explore_learner_call(client, dash_app, token, search, cell=None):
    """Explore's row click (``cell``: AG Grid's cellClicked) or, without one, its Close."""
    inputs = [{"id": ids.GRID_LEARNERS, "property": "cellClicked", "value": cell},
              {"id": ids.EXPLORE_LEARNER_CLOSE, "property": "n_clicks", "value": 0 if cell else 1}]
    state = [{**URL_SEARCH, "value": search}, {"id": ids.token_id("explore"), "property": "data", "value": token}]
    key = callback_key(dash_app, "location-url.search@", ids.GRID_LEARNERS)
    status, body = post_callback(client, dash_app, key, {"id": ids.URL, "property": key.split(".", 1)[1]}, inputs,
                                 state, [prop_id(ids.GRID_LEARNERS if cell else ids.EXPLORE_LEARNER_CLOSE,
                                                 "cellClicked" if cell else "n_clicks")])
    return status, (body or {}).get("response", {}).get(ids.URL, {}).get("search")


def explore_file_call(client, dash_app, token, search, button):
    inputs = [{"id": b, "property": "n_clicks", "value": int(button == b)}
              for b in (ids.EXPLORE_LEARNERS_CSV, ids.EXPLORE_LEARNERS_XLSX)]
    state = [{**URL_SEARCH, "value": search}, {"id": ids.token_id("explore"), "property": "data", "value": token}]
    status, body = post_callback(client, dash_app, f"{ids.EXPLORE_LEARNERS_DOWNLOAD}.data",
                                 {"id": ids.EXPLORE_LEARNERS_DOWNLOAD, "property": "data"}, inputs, state,
                                 [prop_id(button, "n_clicks")])
    return status, (body or {}).get("response", {}).get(ids.EXPLORE_LEARNERS_DOWNLOAD, {}).get("data")


def test_panel016_a_row_of_explores_grid_opens_that_learners_trainings(client, dash_app, snapshot, server_context):
    """As the panel's name does: the URL gets ``learner``, the trainings are ``learner_trainings`` (filters applied),
    Close takes it off; a learner outside a lock is not shown; without the claim, a crafted row click is a 403."""
    token = embed_token(learners=True)
    search = f"?token={token}&range=90d&metric=starts"
    _, response = grid_call(client, dash_app, token, search)
    assert response[ids.EXPLORE_LEARNER]["hidden"] is True
    user = response[ids.LEARNER_ROWS]["data"][0]["user_id"]
    cell = {"rowId": user, "rowIndex": 0, "colId": "name", "value": "x", "timestamp": 1}
    status, url = explore_learner_call(client, dash_app, token, search, cell)
    assert status == 200 and url == f"{search}&learner={user}"
    _, opened = grid_call(client, dash_app, token, url)
    found = learners.learner_trainings(snapshot, TENANT, user, {})
    text = json.dumps(opened[ids.EXPLORE_LEARNER_BODY]["children"], ensure_ascii=False)
    assert opened[ids.EXPLORE_LEARNER]["hidden"] is False and found["trainings"]
    assert all(t["title"] in text for t in found["trainings"])
    page, _ = shell.render("/explore", url)  # a link arrives with them
    assert all(t["title"] in json.dumps(page.to_plotly_json(), default=lambda o: o.to_plotly_json(),
                                        ensure_ascii=False) for t in found["trainings"])
    status, url = explore_learner_call(client, dash_app, token, url)
    assert status == 200 and url == search
    for crafted in ({"rowId": None}, {"rowId": "x" * 201}, "u1"):
        assert explore_learner_call(client, dash_app, token, search, crafted)[0] == 204
    everyone = expected(snapshot, "?range=90d", {}, "started", limit=1000).rows
    locked, other = sorted(set(everyone["group"]))[:2]
    outsider = everyone[everyone["group"] == other]["user_id"].iloc[0]
    token = embed_token(learners=True, filters={"group": [locked]})
    _, opened = grid_call(client, dash_app, token, f"?token={token}&learner={outsider}")
    assert "not in the current view" in json.dumps(opened[ids.EXPLORE_LEARNER_BODY]["children"])
    plain = embed_token()
    assert explore_learner_call(client, dash_app, plain, f"?token={plain}", cell)[0] == 403


def test_panel017_explores_exports_hold_the_grids_whole_list(client, dash_app, snapshot, server_context):
    """The grid shows the 500 most recently active; its files hold the whole list (the metric's cohort over the
    selection), written by the API's writers; without the claim, a 403."""
    token = analyst_token()
    search = f"?token={token}&tenant={TENANT}&range=90d&metric=completion_rate&group=Sales"
    start, end = resolve_range(parse(search), snapshot.data_as_of)
    chunks = learners.learner_chunks(snapshot, TENANT, start, end, {"group": ("Sales",)}, "not_completed")
    status, data = explore_file_call(client, dash_app, token, search, ids.EXPLORE_LEARNERS_CSV)
    assert status == 200 and data["filename"] == f"learners-{TENANT}-not_completed-{start}-{end}.csv"
    assert base64.b64decode(data["content"]) == b"".join(downloads.csv_stream(learners.COLUMNS, chunks))
    _, data = explore_file_call(client, dash_app, token, search, ids.EXPLORE_LEARNERS_XLSX)
    table = list(openpyxl.load_workbook(io.BytesIO(base64.b64decode(data["content"])), read_only=True).active.values)
    page = expected(snapshot, search, {"group": ("Sales",)}, "not_completed", limit=1000)
    assert table[0] == learners.COLUMNS and len(table) - 1 == page.total > 0
    plain = embed_token()
    assert explore_file_call(client, dash_app, plain, f"?token={plain}", ids.EXPLORE_LEARNERS_CSV)[0] == 403


def test_panel018_a_drilled_lists_file_is_the_oracles_list_for_the_narrowed_view(client, dash_app, snapshot, oracle,
                                                                                 server_context):
    """The whole list a chart's point opens (its CSV, every page) is the independent DuckDB oracle's for the range
    and filters the point narrows to (a week, a month, a group, a training), a lock included."""
    token = embed_token(learners=True)
    locked_token = embed_token(learners=True, filters={"group": ["Sales"]})
    checked = 0
    for who, locks, search in ((token, {}, f"?token={token}&range=90d"),
                               (token, {}, f"?token={token}&range=12m"),
                               (locked_token, {"group": ("Sales",)}, f"?token={locked_token}&range=90d")):
        for graph, points in points_of(who, search).items():
            for metric, kind, value in points[:2] + points[-1:]:
                if kind == "group" and locks and value not in locks["group"]:
                    continue  # outside the lock: nobody (test_panel013)
                click = {"points": [{"customdata": [metric, kind, value]}]}
                _, url = drill_call(client, dash_app, who, search, graph, click)
                _, data = file_call(client, dash_app, who, url, ids.LEARNERS_CSV)
                rows = list(csv.DictReader(io.StringIO(base64.b64decode(data["content"]).decode())))
                start, end, filters = narrowed(snapshot, search, locks, kind, value)
                theirs = oracle.learners(TENANT, start, end, {d: list(v) for d, v in filters.items()},
                                         cohort=CHART_COHORTS[graph][metric])
                assert [r["user_id"] for r in rows] == [r["user_id"] for r in theirs], (graph, kind, value)
                checked += bool(theirs)
    assert checked >= 20


def test_panel021_the_summary_says_when_a_cohort_of_assignments_is_taken(client, dash_app, snapshot):
    """Issue 17: overdue, at-risk and due-soon learners are those at the end of data_as_of, whatever their due
    date, and ``due`` those due in the range: the panel's and explore's summaries say so, in English and French;
    the other cohorts keep the range alone."""
    from layouts import i18n

    as_of = snapshot.data_as_of
    for locale, texts in (("en", ("at the end of {as_of}, all due dates · activity {start} – {end}",
                                  "due {start} – {end} · status at the end of {as_of}")),
                          ("fr", ("à la fin du {as_of}, toutes échéances · activité {start} – {end}",
                                  "échéance {start} – {end} · statut à la fin du {as_of}"))):
        token = embed_token(learners=True, locale=locale)
        search = f"?token={token}&range=90d"
        start, end = resolve_range(parse(search), as_of)
        dates = {name: i18n.date(day, locale, "medium") for name, day in
                 (("start", start), ("end", end), ("as_of", as_of))}
        range_only = "{start} – {end}".format(**dates)
        for cohort in COHORTS:
            status, response = panel_call(client, dash_app, token, f"{search}&cohort={cohort}")
            summary = response[ids.LEARNERS_SUMMARY]["children"]
            wanted = texts[0] if cohort in ("overdue", "at_risk", "due_soon") else \
                texts[1] if cohort == "due" else None
            assert status == 200, cohort
            if wanted is None:
                assert summary.endswith(f" · {range_only}") and dates["as_of"] not in summary.replace(
                    range_only, ""), (cohort, summary)
            else:
                assert summary.endswith(" · " + wanted.format(**dates)), (cohort, summary)
        analyst = analyst_token(locale=locale)
        _, response = grid_call(client, dash_app, analyst,
                                f"?token={analyst}&tenant={TENANT}&range=90d&metric=due_soon")
        assert texts[0].format(**dates) in response[ids.EXPLORE_LEARNERS_SUMMARY]["children"]
