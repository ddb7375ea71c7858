"""The learner panel of the overview: a KPI card opens who is behind its number, a name opens their trainings.

Thin, as the data callbacks are: the token is verified again, the view
resolved from the URL (locked filters at their lock, ``TenantView.for_state``),
then the pure functions the API calls answer (``app.answers.learner_page``
and ``learner`` over ``app.learners``; downloads are ``learners.learner_chunks``
written by ``app.downloads``). A token that may not see learners
(``Scope.sees_learners``) gets no panel in its page, and any of these callbacks
crafted by hand is refused with a 403.

A chart's point opens a list too (``layouts.overview.CHART_COHORTS``: the cohort of the point's metric), narrowed
to the point by ``TenantView.drilled`` (its period, or its dimension value within the filters and locks): a
click on the point, or on its value in the chart's table for a keyboard.

The drill-down is URL state (``cohort``, ``cohort_<kind>``, ``page``, ``learner``): a click here writes the
query string (a second writer of it, beside ``callbacks.sync``, which only
reads these and keeps them), so back and forward reopen the list, its page or the
learner, and a link opens the page with them.
"""
from __future__ import annotations

import math
from dataclasses import replace

from dash import ALL, Input, Output, State, ctx, dcc, no_update
from dash.exceptions import PreventUpdate
from flask import abort

from app import answers, downloads, learners
from app.catalog import GRANULARITIES
from app.auth import AuthError
from app.dates import RangeError
from app.learner_assignments import ALL_DUE_DATES, NoAssignments, has_assignments
from app.view_state import MAX_PAGE, MAX_VALUE_LENGTH, METRIC_COHORTS, ViewState, drill_of, encode, parse
from app.views import EmptyDrill, TenantView
from callbacks.access import Unavailable, authorize
from callbacks.common import refusal
from layouts import figures, i18n, ids
from layouts import learners as panel
from layouts.overview import CHART_COHORTS

PAGE = ids.OVERVIEW
PAGE_SIZE = 25
GRID_LIMIT = 500  # explore's grid: the most recently active learners of the selection
FORMATS = {ids.LEARNERS_CSV: "csv", ids.LEARNERS_XLSX: "xlsx", ids.EXPLORE_LEARNERS_CSV: "csv",
           ids.EXPLORE_LEARNERS_XLSX: "xlsx"}


def learner_access(token, state: ViewState) -> TenantView:
    """The verified access of ``token`` (AuthError, Unavailable as the data callbacks get them); a 403 (the whole
    callback refused) for a token that may not see learners."""
    access = authorize(token, state.tenant)
    if not access.scope.sees_learners:
        abort(403)
    return access


CLOSED = {"hidden": True, "heading": no_update, "summary": "", "body": None, "back_hidden": True,
          "prev_disabled": True, "next_disabled": True}


def panel_outputs(token, search) -> dict:
    """What the panel shows for this URL: closed, a page of the cohort's list, or one learner's trainings."""
    state = parse(search)
    if not state.cohort:
        return CLOSED
    try:
        access = learner_access(token, state)
    except (AuthError, Unavailable) as exc:
        return {**CLOSED, "hidden": False, "heading": i18n.t("en", "learners.title"), "body": refusal(exc)[1]}
    loc = access.locale
    try:
        view = access.for_state(state)
    except RangeError as exc:
        return {**CLOSED, "hidden": False, "heading": i18n.t(loc, "learners.title"), "body": refusal(exc, loc)[1]}
    return panel_view(view, state)


def heading(view: TenantView, state: ViewState) -> str:
    """The list's name, and what was clicked when a chart opened it ("… — Sales", "… — week of 2 Nov 2026")."""
    loc = view.locale
    named = i18n.t(loc, f"learners.cohort.{state.cohort}")
    if not state.drill:
        return named
    kind, value = state.drill
    if kind in GRANULARITIES:
        point = i18n.period(value, kind, loc)
    else:  # a dimension's value, by its label (a training's title)
        known = answers.offered_filter_values(view).get(kind, [])
        point = i18n.data_label(next((o["label"] for o in known if o["key"] == value), value), loc)
    return i18n.t(loc, "learners.drill", cohort=named, point=point)


def _after(view: TenantView, cohort: str, skipped: int) -> learners.Position | None:
    """The position after the first ``skipped`` learners of the list (a page of the URL), through the API's
    pages of at most ``learners.MAX_LIMIT``."""
    position = None
    while skipped > 0:
        step = min(skipped, learners.MAX_LIMIT)
        found = answers.learner_page(view, cohort, learners.DEFAULT_SORT, learners.default_order(
            learners.DEFAULT_SORT), step, position)["next"]
        if found is None:  # the list ends first: the caller clamps the page, so only a list that shrank
            break
        position, skipped = learners.Position(*found), skipped - step
    return position


def panel_view(view: TenantView, state: ViewState) -> dict:
    """The panel for a resolved view whose token may see learners (``panel_outputs``, and the first layout)."""
    if not state.cohort:
        return CLOSED
    loc = view.locale
    heading_text = heading(view, state)
    if state.drill:
        try:
            view = view.drilled(*state.drill)
        except EmptyDrill:
            return {**CLOSED, "hidden": False, "heading": heading_text,
                    "body": panel.message(i18n.t(loc, "learners.drill.outside"))}
    if state.learner:
        return {**CLOSED, "hidden": False, "heading": heading_text, "body": learner_body(view, state.learner),
                "back_hidden": False, "summary": i18n.t(loc, "learners.trainings.summary")}
    if state.cohort in learners.ASSIGNMENT_COHORTS and not has_assignments(view.snapshot, view.tenant):
        return {**CLOSED, "hidden": False, "heading": heading_text,  # crafted for a tenant without a compliance row
                "body": panel.message(i18n.t(loc, "learners.no_assignments"))}
    order = learners.default_order(learners.DEFAULT_SORT)
    page = answers.learner_page(view, state.cohort, learners.DEFAULT_SORT, order, PAGE_SIZE, None)
    number = min(state.page, max(1, math.ceil(page["total"] / PAGE_SIZE)))  # past the last page: the last
    if number > 1:
        page = answers.learner_page(view, state.cohort, learners.DEFAULT_SORT, order, PAGE_SIZE,
                                    _after(view, state.cohort, (number - 1) * PAGE_SIZE))
    summary = i18n.t(loc, "learners.summary", count=i18n.number(page["total"], loc), page=number,
                     period=period(view, state.cohort))
    return {"hidden": False, "heading": heading_text, "summary": summary,
            "body": panel.learner_list(page["learners"], i18n.t(loc, "learners.table", title=heading_text), loc),
            "back_hidden": True,
            "prev_disabled": number == 1, "next_disabled": page["next"] is None or number >= MAX_PAGE}


def period(view: TenantView, cohort: str) -> str:
    """A list's dates in its summary: the range; for a cohort of assignments, also when their status is taken
    (the end of ``data_as_of``) and which due dates count (all of them, or only ``due``'s: those in the range)."""
    loc = view.locale
    key = "learners.period.due" if cohort == "due" else \
        "learners.period.as_of" if cohort in ALL_DUE_DATES else "learners.period"
    return i18n.t(loc, key, start=i18n.date(view.start, loc, "medium"), end=i18n.date(view.end, loc, "medium"),
                  as_of=i18n.date(view.snapshot.data_as_of, loc, "medium"))


def explore_outputs(token, search) -> dict:
    """Explore's learner grid: the learners behind the chosen metric (its KPI card's cohort) for the selection,
    the ``GRID_LIMIT`` most recently active of them (the overview's panel pages through all, and exports them)."""
    state = parse(search)
    try:
        view = learner_access(token, state).for_state(state)
    except (AuthError, Unavailable, RangeError):
        return {"rows": [], "summary": "", "heading": no_update, "learner": None}  # the status line says why
    return explore_view(view, state)


def explore_cohort(view: TenantView, state: ViewState) -> str:
    """The list explore's grid shows: the cohort of its metric (its KPI card's)."""
    return METRIC_COHORTS.get(view.offered(state).metric, learners.DEFAULT_COHORT)


def learner_body(view: TenantView, user_id: str):
    """One learner's trainings as the panel and explore show them (or that they are not in the view)."""
    try:
        found = answers.learner(view, user_id)
    except learners.UnknownLearner:
        return panel.message(i18n.t(view.locale, "learners.unknown"))
    return panel.trainings(found, view.locale)


def explore_view(view: TenantView, state: ViewState) -> dict:
    """Explore's learner grid for a resolved view whose token may see learners (and the first layout's), and the
    trainings of the learner a row opened."""
    loc = view.locale
    state = view.offered(state)  # a tenant without assignments: the default metric's learners
    cohort = explore_cohort(view, state)
    page = answers.learner_page(view, cohort, learners.DEFAULT_SORT, learners.default_order(learners.DEFAULT_SORT),
                                GRID_LIMIT, None)
    named = i18n.metric_label(loc, state.metric) if METRIC_COHORTS.get(state.metric) == cohort else \
        i18n.t(loc, f"learners.cohort.{cohort}")
    values = {"cohort": named, "count": i18n.number(page["total"], loc), "period": period(view, cohort),
              "shown": i18n.number(len(page["learners"]), loc)}
    key = "learners.explore.capped" if page["total"] > len(page["learners"]) else "learners.explore.summary"
    return {"rows": panel.grid_rows(page["learners"], loc), "summary": i18n.t(loc, key, **values),
            "heading": i18n.t(loc, f"learners.cohort.{cohort}"),
            "learner": learner_body(view, state.learner) if state.learner else None}


def first(path: str, view: TenantView, state: ViewState) -> dict | None:
    """What a page arrives with (``callbacks.shell.render``), so these callbacks need not run on load: the
    panel or explore's grid for a token that may see learners; None for any other."""
    if not view.scope.sees_learners:
        return None
    return panel_view(view, state) if path == "/embed/overview" else explore_view(view, state)


def chart_drilled(state: ViewState, graph, metric, kind, value) -> ViewState | None:
    """The list a chart's point opens (``layouts.figures.point``): its metric's cohort for that chart, narrowed to
    its period or value (None: not a point of a chart that opens one, or malformed: never the whole list)."""
    opens = CHART_COHORTS.get(graph) if isinstance(graph, str) else None
    cohort = opens.get(metric) if opens and isinstance(metric, str) else None
    drill = drill_of(kind, value) if kind else None
    if cohort is None or (kind and drill is None):
        return None
    return replace(state, cohort=cohort, drill=drill, page=1, learner=None)


def drilled(state: ViewState, trigger, value=None) -> ViewState | None:
    """The state a click asks for (``value``: the triggering property's, a chart's ``clickData``); None: not a
    click this callback knows."""
    kind = trigger.get("type") if isinstance(trigger, dict) else trigger
    if isinstance(kind, str) and kind in CHART_COHORTS:
        point = figures.clicked(value)
        return chart_drilled(state, kind, *point) if point else None
    if kind == ids.CHART_OPEN:
        return chart_drilled(state, trigger.get("graph"), trigger.get("metric"), trigger.get("kind"),
                             trigger.get("value"))
    if kind == ids.KPI_OPEN and trigger.get("metric") in METRIC_COHORTS:
        return replace(state, cohort=METRIC_COHORTS[trigger["metric"]], drill=None, page=1, learner=None)
    if kind == ids.LEARNER_OPEN and state.cohort:
        user = trigger.get("user")
        if isinstance(user, str) and 0 < len(user) <= MAX_VALUE_LENGTH:
            return replace(state, learner=user)
    if kind == ids.LEARNERS_BACK:
        return replace(state, learner=None)
    if kind == ids.LEARNERS_CLOSE:
        return replace(state, cohort=None, drill=None, page=1, learner=None)
    if kind in (ids.LEARNERS_PREV, ids.LEARNERS_NEXT) and state.cohort:
        step = 1 if kind == ids.LEARNERS_NEXT else -1
        return replace(state, page=min(max(state.page + step, 1), MAX_PAGE))
    return None


def download(token, search, file_format: str, page: str = PAGE) -> dict:
    """The list's whole as ``dcc.Download`` data: the API's chunks and writers, the file built once. The list is
    the overview panel's (its cohort, narrowed to a chart's point) or explore's grid's (``page``: its metric's)."""
    state = parse(search)
    if (page == PAGE and not state.cohort) or file_format not in downloads.MEDIA_TYPES:
        raise PreventUpdate
    try:
        view = learner_access(token, state).for_state(state)
        if page == PAGE:
            cohort, view = state.cohort, view.drilled(*state.drill) if state.drill else view
        else:
            cohort = explore_cohort(view, state)
        chunks = learners.learner_chunks(view.snapshot, view.tenant, view.start, view.end, view.filters,
                                         cohort, learners.DEFAULT_SORT, None)
    except (AuthError, Unavailable, RangeError, NoAssignments, EmptyDrill):
        raise PreventUpdate from None  # the panel says why
    write = downloads.csv_stream if file_format == "csv" else downloads.xlsx_stream

    def into(buffer) -> None:  # each piece written as it is made: the rows are never all in memory as rows
        for piece in write(learners.COLUMNS, chunks):
            buffer.write(piece)

    name = f"learners-{view.tenant}-{cohort}-{view.start}-{view.end}.{file_format}"
    return dcc.send_bytes(into, name, type=downloads.MEDIA_TYPES[file_format])


def explore_opened(state: ViewState, trigger, cell) -> ViewState | None:
    """The state a row of explore's grid (its ``cellClicked``: the row's id is the learner's) or the trainings'
    Close asks for (None: not a row)."""
    if trigger == ids.EXPLORE_LEARNER_CLOSE:
        return replace(state, learner=None)
    user = cell.get("rowId") if isinstance(cell, dict) else None
    return replace(state, learner=user) if isinstance(user, str) and 0 < len(user) <= MAX_VALUE_LENGTH else None


def pushed(search, token, step) -> str:
    """The URL a click asks for (``step``: the new state of the URL's, None for nothing), for a token that may
    see learners; an analyst's tenant kept."""
    if len(ctx.triggered) != 1 or not ctx.triggered[0]["value"]:
        raise PreventUpdate  # buttons just drawn, not pressed
    state = parse(search)
    try:
        view = learner_access(token, state)
    except (AuthError, Unavailable):
        raise PreventUpdate from None
    new = step(state)
    if new is None:
        raise PreventUpdate
    return encode(replace(new, tenant=view.tenant if view.scope.all_tenants else None), token)


def pressed_file(token, search, page: str) -> dict:
    """The file of the export button pressed (``download``)."""
    if not ctx.triggered or not ctx.triggered[0]["value"]:
        raise PreventUpdate
    return download(token, search, FORMATS.get(ctx.triggered_id, ""), page)


def register(app) -> None:
    @app.callback(
        Output(ids.URL, "search", allow_duplicate=True),
        Input({"type": ids.KPI_OPEN, "metric": ALL}, "n_clicks"),
        Input({"type": ids.LEARNER_OPEN, "user": ALL}, "n_clicks"),
        Input(ids.LEARNERS_CLOSE, "n_clicks"),
        Input(ids.LEARNERS_BACK, "n_clicks"),
        Input(ids.LEARNERS_PREV, "n_clicks"),
        Input(ids.LEARNERS_NEXT, "n_clicks"),
        State(ids.URL, "search"),
        State(ids.token_id(PAGE), "data"),
        prevent_initial_call=True,
    )
    def drill(_kpis, _names, _close, _back, _prev, _next, search, token):
        """A KPI card, a learner's name, Back, Close, a page: the URL that shows it (pushed to the history)."""
        return pushed(search, token, lambda state: drilled(state, ctx.triggered_id))

    @app.callback(  # apart from ``drill``: the charts are on every overview, the panel only for a token that may
        # see learners, and Dash refuses a callback some of whose inputs are in the layout and some not
        Output(ids.URL, "search", allow_duplicate=True),
        Input({"type": ids.CHART_OPEN, "graph": ALL, "metric": ALL, "kind": ALL, "value": ALL}, "n_clicks"),
        *[Input(graph, "clickData") for graph in CHART_COHORTS],
        State(ids.URL, "search"),
        State(ids.token_id(PAGE), "data"),
        prevent_initial_call=True,
    )
    def chart_drill(_values, *clicks_search_token):
        """A chart's point or its table value: the URL of its learners (pushed to the history)."""
        *_, search, token = clicks_search_token
        return pushed(search, token, lambda state: drilled(state, ctx.triggered_id, ctx.triggered[0]["value"]))

    @app.callback(
        Output(ids.LEARNERS_PANEL, "hidden"),
        Output(ids.LEARNERS_HEADING, "children"),
        Output(ids.LEARNERS_SUMMARY, "children"),
        Output(ids.LEARNERS_BODY, "children"),
        Output(ids.LEARNERS_BACK, "hidden"),
        Output(ids.LEARNERS_PREV, "disabled"),
        Output(ids.LEARNERS_NEXT, "disabled"),
        Input(ids.URL, "search"),
        State(ids.token_id(PAGE), "data"),
        prevent_initial_call=True,
    )
    def learner_panel(search, token):
        """The panel for the URL, after a change: the page arrives with its first answer (``first``)."""
        out = panel_outputs(token, search)
        return (out["hidden"], out["heading"], out["summary"], out["body"], out["back_hidden"],
                out["prev_disabled"], out["next_disabled"])

    # The grid, once mounted (assets/deferred-grids.js), shows the rows the explore callback keeps in the store.
    app.clientside_callback("function (rows) { return rows || []; }", Output(ids.GRID_LEARNERS, "rowData"),
                            Input(ids.LEARNER_ROWS, "data"), prevent_initial_call=True)

    @app.callback(
        Output(ids.LEARNER_ROWS, "data"),
        Output(ids.EXPLORE_LEARNERS_SUMMARY, "children"),
        Output(ids.EXPLORE_LEARNERS_HEADING, "children"),
        Output(ids.EXPLORE_LEARNER, "hidden"),
        Output(ids.EXPLORE_LEARNER_BODY, "children"),
        Input(ids.URL, "search"),
        State(ids.token_id(ids.EXPLORE), "data"),
        prevent_initial_call=True,
    )
    def explore_learners(search, token):
        """Explore's learners for the URL, after a change: the page arrives with its first answer (``first``)."""
        out = explore_outputs(token, search)
        return out["rows"], out["summary"], out["heading"], out["learner"] is None, out["learner"]

    @app.callback(
        Output(ids.URL, "search", allow_duplicate=True),
        Input(ids.GRID_LEARNERS, "cellClicked"),
        Input(ids.EXPLORE_LEARNER_CLOSE, "n_clicks"),
        State(ids.URL, "search"),
        State(ids.token_id(ids.EXPLORE), "data"),
        prevent_initial_call=True,
    )
    def explore_learner(cell, _close, search, token):
        """A row of explore's grid (a click, or Enter: assets/learner-panel.js) opens that learner's trainings,
        Close closes them: the URL that shows it (pushed to the history)."""
        return pushed(search, token, lambda state: explore_opened(state, ctx.triggered_id, cell))

    @app.callback(
        Output(ids.EXPLORE_LEARNERS_DOWNLOAD, "data"),
        Input(ids.EXPLORE_LEARNERS_CSV, "n_clicks"),
        Input(ids.EXPLORE_LEARNERS_XLSX, "n_clicks"),
        State(ids.URL, "search"),
        State(ids.token_id(ids.EXPLORE), "data"),
        prevent_initial_call=True,
    )
    def explore_file(_csv, _xlsx, search, token):
        return pressed_file(token, search, ids.EXPLORE)

    @app.callback(
        Output(ids.LEARNERS_DOWNLOAD, "data"),
        Input(ids.LEARNERS_CSV, "n_clicks"),
        Input(ids.LEARNERS_XLSX, "n_clicks"),
        State(ids.URL, "search"),
        State(ids.token_id(PAGE), "data"),
        prevent_initial_call=True,
    )
    def learner_file(_csv, _xlsx, search, token):
        return pressed_file(token, search, PAGE)
