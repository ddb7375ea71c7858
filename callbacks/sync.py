"""The URL is the state: one callback keeps the query string and the controls in step.

A control change (filter, range, choice, tenant, a click on a bar, a chip's ×)
becomes a new query string, pushed to the history by ``dcc.Location``; a
back/forward (the query string changing on its own) sets the controls back.
Both directions live in one callback, for both pages through ALL wildcards,
because Dash allows a cycle only inside a single callback, and so the URL has
one writer. The data callbacks read the URL only, so a link reopens the same
view by construction.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

from dash import ALL, MATCH, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from app import answers
from app.auth import AuthError
from app.dates import RangeError, parse_day
from app.view_state import (CHARTS, DEFAULT_PRESET, DIMENSIONS, GRANULARITY_CHOICES, METRICS, ViewState, encode,
                            parse, resolve_range)
from app.views import TenantView
from callbacks.access import Unavailable, authorize
from layouts import figures, ids
from layouts.components import chips, dropdown_options, tenant_options
from layouts.explore import metric_options

CHOICE_FIELDS = {"gran": "granularity", "metric": "metric", "by": "by", "chart": "chart"}
CHOICES = {"granularity": GRANULARITY_CHOICES, "metric": METRICS, "by": DIMENSIONS, "chart": CHARTS}  # the URL's


def _date(value) -> dt.date | None:
    """A date picker's value (``YYYY-MM-DD``, or with a time): the URL's parser; its bounds are the range's."""
    try:
        return parse_day(value[:10]) if isinstance(value, str) else None
    except ValueError:
        return None


def state_from_controls(current: ViewState, access: TenantView, trigger, controls: dict) -> ViewState:
    """The state the controls now describe, given which one changed (``trigger``, an id)."""
    trigger_type = trigger.get("type") if isinstance(trigger, dict) else trigger
    state = current
    preset = controls.get("preset") or current.preset
    if trigger_type == ids.RANGE_DATES:
        start, end = _date(controls.get("start")), _date(controls.get("end"))
        if start and end:
            state = replace(state, preset="custom", start=min(start, end), end=max(start, end))
    elif trigger_type == ids.RANGE_PRESET:
        if preset == "custom":
            start, end = resolve_range(state, access.snapshot.data_as_of)
            state = replace(state, preset="custom", start=start, end=end)
        else:
            state = replace(state, preset=preset, start=None, end=None)
    if trigger_type == ids.FILTER:
        for dim, values in controls.get("filters", {}).items():
            if dim not in access.scope.filters:
                state = state.with_filter(dim, values)
    if trigger_type == ids.CHOICE:
        state = replace(state, **{CHOICE_FIELDS[n]: v for n, v in controls.get("choices", {}).items()
                                  if n in CHOICE_FIELDS and v in CHOICES[CHOICE_FIELDS[n]]})
    if trigger_type == ids.TENANT and access.scope.all_tenants and controls.get("tenant") != current.tenant:
        state = replace(state, filters={})  # another tenant's values mean nothing
    if trigger_type == ids.GRAPH_CLICK:
        at = figures.clicked(controls.get("click"))
        key = at[2] if at and at[1] == state.by else None  # a bar or slice of the chosen breakdown
        if key is not None and state.by not in access.scope.filters:
            values = state.filters.get(state.by, ())
            state = state.with_filter(state.by, values + (key,) if key not in values else values)
    if trigger_type == ids.CHIP_REMOVE and trigger.get("dim") not in access.scope.filters:
        dim, value = trigger.get("dim"), trigger.get("value")
        state = state.with_filter(dim, [v for v in state.filters.get(dim, ()) if v != value])
    other_tenant = trigger_type == ids.TENANT and controls.get("tenant") != current.tenant
    if other_tenant or _rows_of(state) != _rows_of(current):
        state = replace(state, page=1, learner=None)  # another list: its first page, nobody opened
    return state


def _rows_of(state: ViewState) -> tuple:
    """What picks the learners a list holds: its range and filters (the choices only change the chart)."""
    return state.preset, state.start, state.end, state.filters


def outputs_for(state: ViewState, access: TenantView, out: dict, search: str | None, token: str,
                from_url: bool) -> dict:
    """Every control set from ``state``; the query string only when it changed and the user changed it."""
    options = answers.offered_filter_values(access)
    try:
        view = access.for_state(state)
    except RangeError:  # the controls and the URL keep what was asked; the data callbacks say why
        view = replace(access.for_state(replace(state, preset=DEFAULT_PRESET, start=None, end=None)),
                       start=state.start, end=state.end)
    start, end, applied = view.start, view.end, view.filters  # the locked values included
    values = [list(applied.get(item["id"]["dim"], ())) for item in out["filters"]]
    opts = [dropdown_options(item["id"]["dim"], options, value, access.locale)
            for item, value in zip(out["filters"], values)]
    new_search = encode(state, token)
    return {
        "search": no_update if from_url or new_search == (search or "") else new_search,
        "filters": values,
        "options": opts,
        "preset": [state.preset for _ in out["preset"]],
        "start": [start.isoformat() for _ in out["start"]],
        "end": [end.isoformat() for _ in out["end"]],
        # the wildcard matches any name: one the page never draws (a crafted request) is left alone
        "choices": [getattr(state, CHOICE_FIELDS[item["id"]["name"]]) if item["id"]["name"] in CHOICE_FIELDS
                    else no_update for item in out["choices"]],
        "choice_options": [metric_options(access.locale, access.metrics) if item["id"]["name"] == "metric"
                           else no_update for item in out["choice_options"]],  # the tenant's metrics
        "tenant": [access.tenant for _ in out["tenant"]],
        # a tenant the URL names may be none of the picker's few options: they come with it (``tenant_search``)
        "tenant_options": [tenant_options(access.tenant_choices()) if from_url else no_update
                           for _ in out["tenant_options"]],
        "chips": [chips(applied, dict(access.scope.filters), options, access.locale) for _ in out["chips"]],
        "click": [None for _ in out["click"]],
    }


def _pattern(kind: str, **keys) -> dict:
    return {"type": kind, "page": ALL, **keys}


def _controls() -> dict[str, tuple[dict | str, str]]:
    """The properties the callback both reads and writes: (component id, property) by name."""
    return {
        "search": (ids.URL, "search"),
        "filters": (_pattern(ids.FILTER, dim=ALL), "value"),
        "preset": (_pattern(ids.RANGE_PRESET), "value"),
        "start": (_pattern(ids.RANGE_DATES), "start_date"),
        "end": (_pattern(ids.RANGE_DATES), "end_date"),
        "choices": (_pattern(ids.CHOICE, name=ALL), "value"),
        "tenant": (_pattern(ids.TENANT), "value"),
        "click": (_pattern(ids.GRAPH_CLICK), "clickData"),
    }


def register(app) -> None:
    controls = _controls()

    @app.callback(
        output={
            **{name: Output(*where) for name, where in controls.items()},
            "options": Output(_pattern(ids.FILTER, dim=ALL), "options"),
            "choice_options": Output(_pattern(ids.CHOICE, name=ALL), "options"),
            "tenant_options": Output(_pattern(ids.TENANT), "options", allow_duplicate=True),
            "chips": Output(_pattern(ids.CHIPS), "children"),
        },
        inputs={
            **{name: Input(*where) for name, where in controls.items()},
            "chip": Input({"type": ids.CHIP_REMOVE, "dim": ALL, "value": ALL}, "n_clicks"),
            "token": State(_pattern(ids.TOKEN), "data"),
        },
        prevent_initial_call=True,
    )
    def sync(search, filters, preset, start, end, choices, tenant, click, chip, token):
        """Controls → URL, or URL (back/forward) → controls; the token is re-verified either way."""
        if not token:
            raise PreventUpdate  # not a dashboard page
        if len({t["prop_id"].rsplit(".", 1)[0] for t in ctx.triggered}) > 1:
            raise PreventUpdate  # the page's controls were just drawn (from this URL): nothing changed
        trigger = ctx.triggered_id
        if isinstance(trigger, dict) and trigger.get("type") == ids.CHIP_REMOVE and not ctx.triggered[0]["value"]:
            raise PreventUpdate  # a chip was just drawn, not clicked
        args = ctx.args_grouping
        from_url = trigger == ids.URL
        current = parse(search)
        requested = current.tenant if from_url or not tenant else tenant[0]
        try:
            access = authorize(token[0], requested)
        except (AuthError, Unavailable):
            raise PreventUpdate from None  # the data callbacks show why
        if from_url:
            state = current
        else:
            controls = {
                "preset": preset[0] if preset else None, "start": start[0] if start else None,
                "end": end[0] if end else None, "tenant": access.tenant if not tenant else tenant[0],
                "filters": {item["id"]["dim"]: item["value"] for item in args["filters"]},
                "choices": {item["id"]["name"]: item["value"] for item in args["choices"]},
                "click": click[0] if click else None,
            }
            state = state_from_controls(current, access, trigger, controls)
        state = access.offered(replace(state, tenant=access.tenant if access.scope.all_tenants else None))
        return outputs_for(state, access, ctx.outputs_grouping, search, token[0], from_url)

    @app.callback(Output({"type": ids.FILTER, "page": MATCH, "dim": MATCH}, "options"),
                  Input({"type": ids.FILTER, "page": MATCH, "dim": MATCH}, "search_value"),
                  State({"type": ids.FILTER, "page": MATCH, "dim": MATCH}, "value"),
                  State({"type": ids.TOKEN, "page": MATCH}, "data"), State(ids.URL, "search"),
                  prevent_initial_call=True)
    def filter_search(search, selected, token, url):
        """A filter lists its first values (``dropdown_options``): typing asks for those that match, among the
        values the token may pick (a locked filter's own only), with the selected ones kept."""
        try:
            access = authorize(token, parse(url).tenant)
        except (AuthError, Unavailable):
            raise PreventUpdate from None
        dim = ctx.outputs_list["id"]["dim"]
        if dim not in DIMENSIONS:
            raise PreventUpdate
        chosen = [v for v in selected if isinstance(v, str)] if isinstance(selected, list) else []
        return dropdown_options(dim, answers.offered_filter_values(access), chosen, access.locale,
                                search if isinstance(search, str) else None)

    @app.callback(Output({"type": ids.TENANT, "page": MATCH}, "options"),
                  Input({"type": ids.TENANT, "page": MATCH}, "search_value"),
                  State({"type": ids.TENANT, "page": MATCH}, "value"),
                  State({"type": ids.TOKEN, "page": MATCH}, "data"), prevent_initial_call=True)
    def tenant_search(search, tenant, token):
        """The analyst's picker lists a few tenants (``TenantView.tenant_choices``): typing asks for those that
        match, from every tenant the token may see."""
        try:
            access = authorize(token, tenant)
        except (AuthError, Unavailable):
            raise PreventUpdate from None
        if not access.scope.all_tenants:
            raise PreventUpdate
        return tenant_options(access.tenant_choices(search if isinstance(search, str) else None))
