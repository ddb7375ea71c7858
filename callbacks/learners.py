"""The learner panel of the overview: a KPI card opens who is behind its number, a name opens their trainings.

Thin, as the data callbacks are: the token is verified again, the view
resolved from the URL (locked filters at their lock, ``TenantView.for_state``),
then the pure functions the API calls answer (``app.answers.learner_page``
and ``learner`` over ``app.learners``; downloads are ``learners.learner_chunks``
written by ``app.downloads``). A token that may not see learners
(``Scope.sees_learners``) gets no panel in its page, and any of these callbacks
crafted by hand is refused with a 403.

The drill-down is URL state (``cohort``, ``learner``): a click here writes the
query string (a second writer of it, beside ``callbacks.sync``, which only
reads these two and keeps them), so back and forward reopen the list or the
learner. The page of the list is not: it starts at the first page whenever the
URL changes.
"""
from __future__ import annotations

from dataclasses import replace

from dash import ALL, Input, Output, State, ctx, dcc, no_update
from dash.exceptions import PreventUpdate
from flask import abort

from app import answers, downloads, learners
from app.auth import AuthError
from app.dates import RangeError
from app.learner_assignments import ALL_DUE_DATES, NoAssignments, has_assignments
from app.view_state import MAX_VALUE_LENGTH, METRIC_COHORTS, ViewState, encode, parse
from app.views import TenantView
from callbacks.access import Unavailable, authorize
from callbacks.common import refusal
from layouts import i18n, ids
from layouts import learners as panel

PAGE = ids.OVERVIEW
PAGE_SIZE = 25
GRID_LIMIT = 500  # explore's grid: the most recently active learners of the selection
FORMATS = {ids.LEARNERS_CSV: "csv", ids.LEARNERS_XLSX: "xlsx"}


def learner_access(token, state: ViewState) -> TenantView:
    """The verified access of ``token`` (AuthError, Unavailable as the data callbacks get them); a 403 (the whole
    callback refused) for a token that may not see learners."""
    access = authorize(token, state.tenant)
    if not access.scope.sees_learners:
        abort(403)
    return access


def _positions(stack) -> list[list] | None:
    """The pages' positions sent back by the browser, checked: ``[empty, value, code]`` each (None: not that)."""
    if not isinstance(stack, list):
        return None
    for item in stack:
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], bool)
                and isinstance(item[1], (int, float)) and not isinstance(item[1], bool)
                and isinstance(item[2], int) and not isinstance(item[2], bool) and item[2] >= 0):
            return None
    return stack


CLOSED = {"hidden": True, "heading": no_update, "summary": "", "body": None, "back_hidden": True,
          "prev_disabled": True, "next_disabled": True, "pages": None}


def panel_outputs(token, search, pages=None, move: str | None = None) -> dict:
    """What the panel shows for this URL: closed, a page of the cohort's list, or one learner's trainings.

    ``pages`` is the pager's store (``{"search", "after", "next"}``); ``move`` is ``"next"`` or ``"prev"``
    when a pager button was pressed (otherwise the list starts at its first page).
    """
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
    return panel_view(view, state, search, pages, move)


def panel_view(view: TenantView, state: ViewState, search, pages=None, move: str | None = None) -> dict:
    """The panel for a resolved view whose token may see learners (``panel_outputs``, and the first layout)."""
    if not state.cohort:
        return CLOSED
    loc = view.locale
    heading = i18n.t(loc, f"learners.cohort.{state.cohort}")
    if state.learner:
        try:
            found = answers.learner(view, state.learner)
        except learners.UnknownLearner:
            body = panel.message(i18n.t(loc, "learners.unknown"))
        else:
            body = panel.trainings(found, loc)
        return {**CLOSED, "hidden": False, "heading": heading, "body": body, "back_hidden": False,
                "summary": i18n.t(loc, "learners.trainings.summary")}
    if state.cohort in learners.ASSIGNMENT_COHORTS and not has_assignments(view.snapshot, view.tenant):
        return {**CLOSED, "hidden": False, "heading": heading,  # a link crafted for a tenant without a compliance row
                "body": panel.message(i18n.t(loc, "learners.no_assignments"))}
    after: list = []
    if isinstance(pages, dict) and pages.get("search") == search and _positions(pages.get("after")) is not None:
        after = pages["after"]
        if move == "next" and _positions([pages.get("next")]):
            after = after + [pages["next"]]
        elif move == "prev":
            after = after[:-1]
    start = None if not after else learners.Position(*after[-1])
    page = answers.learner_page(view, state.cohort, learners.DEFAULT_SORT, learners.default_order(
        learners.DEFAULT_SORT), PAGE_SIZE, start)
    summary = i18n.t(loc, "learners.summary", count=i18n.number(page["total"], loc), page=len(after) + 1,
                     period=period(view, state.cohort))
    return {"hidden": False, "heading": heading, "summary": summary,
            "body": panel.learner_list(page["learners"], i18n.t(loc, "learners.table", title=heading), loc),
            "back_hidden": True,
            "prev_disabled": not after, "next_disabled": page["next"] is None,
            "pages": {"search": search, "after": after, "next": page["next"]}}


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
        return {"rows": [], "summary": "", "heading": no_update}  # the page's status line says why
    return explore_view(view, state)


def explore_view(view: TenantView, state: ViewState) -> dict:
    """Explore's learner grid for a resolved view whose token may see learners (and the first layout's)."""
    loc = view.locale
    state = view.offered(state)  # a tenant without assignments: the default metric's learners
    cohort = METRIC_COHORTS.get(state.metric, learners.DEFAULT_COHORT)
    page = answers.learner_page(view, cohort, learners.DEFAULT_SORT, learners.default_order(learners.DEFAULT_SORT),
                                GRID_LIMIT, None)
    named = i18n.metric_label(loc, state.metric) if METRIC_COHORTS.get(state.metric) == cohort else \
        i18n.t(loc, f"learners.cohort.{cohort}")
    values = {"cohort": named, "count": i18n.number(page["total"], loc), "period": period(view, cohort),
              "shown": i18n.number(len(page["learners"]), loc)}
    key = "learners.explore.capped" if page["total"] > len(page["learners"]) else "learners.explore.summary"
    return {"rows": panel.grid_rows(page["learners"], loc), "summary": i18n.t(loc, key, **values),
            "heading": i18n.t(loc, f"learners.cohort.{cohort}")}


def first(path: str, view: TenantView, state: ViewState, search) -> dict | None:
    """What a page arrives with (``callbacks.shell.render``), so these callbacks need not run on load: the
    panel or explore's grid for a token that may see learners; None for any other."""
    if not view.scope.sees_learners:
        return None
    return panel_view(view, state, search) if path == "/embed/overview" else explore_view(view, state)


def drilled(state: ViewState, trigger) -> ViewState | None:
    """The state a click in the panel asks for (None: not a click this callback knows)."""
    kind = trigger.get("type") if isinstance(trigger, dict) else trigger
    if kind == ids.KPI_OPEN and trigger.get("metric") in METRIC_COHORTS:
        return replace(state, cohort=METRIC_COHORTS[trigger["metric"]], learner=None)
    if kind == ids.LEARNER_OPEN and state.cohort:
        user = trigger.get("user")
        if isinstance(user, str) and 0 < len(user) <= MAX_VALUE_LENGTH:
            return replace(state, learner=user)
    if kind == ids.LEARNERS_BACK:
        return replace(state, learner=None)
    if kind == ids.LEARNERS_CLOSE:
        return replace(state, cohort=None, learner=None)
    return None


def download(token, search, file_format: str) -> dict:
    """The cohort's whole list as ``dcc.Download`` data: the API's chunks and writers, the file built once."""
    state = parse(search)
    if not state.cohort or file_format not in downloads.MEDIA_TYPES:
        raise PreventUpdate
    try:
        view = learner_access(token, state).for_state(state)
        chunks = learners.learner_chunks(view.snapshot, view.tenant, view.start, view.end, view.filters,
                                         state.cohort, learners.DEFAULT_SORT, None)
    except (AuthError, Unavailable, RangeError, NoAssignments):
        raise PreventUpdate from None  # the panel says why
    write = downloads.csv_stream if file_format == "csv" else downloads.xlsx_stream

    def into(buffer) -> None:  # each piece written as it is made: the rows are never all in memory as rows
        for piece in write(learners.COLUMNS, chunks):
            buffer.write(piece)

    name = f"learners-{view.tenant}-{state.cohort}-{view.start}-{view.end}.{file_format}"
    return dcc.send_bytes(into, name, type=downloads.MEDIA_TYPES[file_format])


def register(app) -> None:
    @app.callback(
        Output(ids.URL, "search", allow_duplicate=True),
        Input({"type": ids.KPI_OPEN, "metric": ALL}, "n_clicks"),
        Input({"type": ids.LEARNER_OPEN, "user": ALL}, "n_clicks"),
        Input(ids.LEARNERS_CLOSE, "n_clicks"),
        Input(ids.LEARNERS_BACK, "n_clicks"),
        State(ids.URL, "search"),
        State(ids.token_id(PAGE), "data"),
        prevent_initial_call=True,
    )
    def drill(_kpis, _names, _close, _back, search, token):
        """A KPI card, a learner's name, Back or Close: the URL that shows it (pushed to the history)."""
        if len(ctx.triggered) != 1 or not ctx.triggered[0]["value"]:
            raise PreventUpdate  # buttons just drawn, not pressed
        state = parse(search)
        try:
            view = learner_access(token, state)
        except (AuthError, Unavailable):
            raise PreventUpdate from None
        new = drilled(state, ctx.triggered_id)
        if new is None:
            raise PreventUpdate
        return encode(replace(new, tenant=view.tenant if view.scope.all_tenants else None), token)

    @app.callback(
        Output(ids.LEARNERS_PANEL, "hidden"),
        Output(ids.LEARNERS_HEADING, "children"),
        Output(ids.LEARNERS_SUMMARY, "children"),
        Output(ids.LEARNERS_BODY, "children"),
        Output(ids.LEARNERS_BACK, "hidden"),
        Output(ids.LEARNERS_PREV, "disabled"),
        Output(ids.LEARNERS_NEXT, "disabled"),
        Output(ids.LEARNERS_PAGES, "data"),
        Input(ids.URL, "search"),
        Input(ids.LEARNERS_PREV, "n_clicks"),
        Input(ids.LEARNERS_NEXT, "n_clicks"),
        State(ids.token_id(PAGE), "data"),
        State(ids.LEARNERS_PAGES, "data"),
        prevent_initial_call=True,
    )
    def learner_panel(search, _prev, _next, token, pages):
        """The panel for the URL, after a change: the page arrives with its first answer (``first``)."""
        move = {ids.LEARNERS_NEXT: "next", ids.LEARNERS_PREV: "prev"}.get(ctx.triggered_id)
        out = panel_outputs(token, search, pages, move)
        return (out["hidden"], out["heading"], out["summary"], out["body"], out["back_hidden"],
                out["prev_disabled"], out["next_disabled"], out["pages"])

    @app.callback(
        Output(ids.GRID_LEARNERS, "rowData"),
        Output(ids.EXPLORE_LEARNERS_SUMMARY, "children"),
        Output(ids.EXPLORE_LEARNERS_HEADING, "children"),
        Input(ids.URL, "search"),
        State(ids.token_id(ids.EXPLORE), "data"),
        prevent_initial_call=True,
    )
    def explore_learners(search, token):
        """Explore's learners for the URL, after a change: the page arrives with its first answer (``first``)."""
        out = explore_outputs(token, search)
        return out["rows"], out["summary"], out["heading"]

    @app.callback(
        Output(ids.LEARNERS_DOWNLOAD, "data"),
        Input(ids.LEARNERS_CSV, "n_clicks"),
        Input(ids.LEARNERS_XLSX, "n_clicks"),
        State(ids.URL, "search"),
        State(ids.token_id(PAGE), "data"),
        prevent_initial_call=True,
    )
    def learner_file(_csv, _xlsx, search, token):
        if not ctx.triggered or not ctx.triggered[0]["value"]:
            raise PreventUpdate
        return download(token, search, FORMATS.get(ctx.triggered_id, ""))
