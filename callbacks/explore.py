"""Explore's data: the chart and table for the URL's choices, and the CSV of the table.

The table rows and the CSV come from the same function (``table``), so the file
holds exactly the values on screen; the CSV follows the order the grid shows
(its ``virtualRowData``), but its values are recomputed here from the verified
scope, never taken from the browser.
"""
from __future__ import annotations

import csv
import io
import logging

from dash import Input, Output, State, dcc
from dash.exceptions import PreventUpdate

from app import answers, catalog, downloads
from app.auth import AuthError
from app.catalog import TRAINING_DIMENSIONS
from app.dates import RangeError
from app.queries import MAX_LIMIT
from app.view_state import ViewState, granularity, parse
from app.views import TenantView
from callbacks.access import Unavailable, authorize, token_locale
from callbacks.common import empty_reason, guarded, kpis_or_none, refusal, unknown_notes
from layouts import explore as explore_layout, figures, i18n, ids
from layouts.components import zone_line

log = logging.getLogger("dataviz.dash")
PAGE = ids.EXPLORE
BAR_LIMIT = 30  # bars drawn; the table holds every row
PIE_LIMIT = 10


def _display(metric: str, value):
    """A value as the table shows it (and the CSV holds it): shares in %, one decimal for decimals."""
    fmt = catalog.METRIC[metric].number_format
    if value is None or fmt == catalog.INTEGER:
        return value
    return round(value * 100, 1) if fmt == catalog.PERCENT else round(value, 1)


def table(view: TenantView, state: ViewState) -> tuple[list[dict], list[dict], list[dict]]:
    """(column defs, rows, chart records) of the state's metric over ``view`` (the state's), over time or by
    its dimension."""
    loc = view.locale
    unit = " (%)" if catalog.METRIC[state.metric].number_format == catalog.PERCENT else ""
    # Its own column id per view: AG Grid keeps the place of a column whose id it knows, so a value column
    # carried over from bars to a line came before the periods.
    value_col = {"field": "value", "colId": f"value-{'period' if state.chart == 'line' else state.by}",
                 "headerName": i18n.metric_label(loc, state.metric) + unit, "type": "numericColumn"}
    if state.chart == "line":
        points = answers.timeseries(view, state.metric, granularity(state, view.start, view.end))
        rows = [{"period": p["period"], "value": _display(state.metric, p["value"])} for p in points]
        return [{"field": "period", "headerName": i18n.t(loc, "dim.period")}, value_col], rows, points
    records = answers.breakdown(view, state.metric, state.by, MAX_LIMIT)
    rows = [{"label": i18n.data_label(r["label"], loc), "key": r["key"], "value": _display(state.metric, r["value"])}
            for r in records]
    columns = [{"field": "label", "headerName": i18n.dimension_label(loc, state.by)}]
    if not catalog.DIMENSION[state.by].coded:  # its own keys (ids) differ from its labels
        columns.append({"field": "key", "headerName": i18n.t(loc, "dim.key")})
    return columns + [value_col], rows, records


def figure(view: TenantView, state: ViewState, records: list[dict]):
    """The chart of the table's records, or the reason there is none."""
    loc, theme = view.locale, view.theme
    by_training = state.chart != "line" and state.by in TRAINING_DIMENSIONS
    training_filter = any(view.filters.get(d) for d in TRAINING_DIMENSIONS)
    if catalog.METRIC[state.metric].without_training and (by_training or training_filter):
        return figures.message(i18n.t(loc, "empty.training_filter"), theme, loc)
    if state.chart == "line":
        return figures.line(records, state.metric, granularity(state, view.start, view.end), loc, theme)
    shown = [r for r in records if r["value"] is not None]
    if not shown:
        return figures.message(i18n.t(loc, "empty.no_rows"), theme, loc)
    if state.chart == "pie":
        if not catalog.METRIC[state.metric].additive:
            return figures.message(i18n.t(loc, "empty.pie_rate"), theme, loc)
        return figures.pie([r for r in shown if r["value"]][:PIE_LIMIT], state.metric, state.by, loc, theme)
    return figures.bars(shown[:BAR_LIMIT], state.metric, state.by, loc, theme)


def explore_outputs(token, search) -> dict:
    state = parse(search)
    try:
        access = authorize(token, state.tenant)
        view = access.for_state(state)
    except (AuthError, Unavailable, RangeError) as exc:
        text, status = refusal(exc, access.locale if isinstance(exc, RangeError) else "en")
        return {"figure": figures.message(text), "columns": [], "rows": [], "title": "", "status": status, "zone": ""}
    return content(view, state)


def content(view: TenantView, state: ViewState) -> dict:
    """What explore shows for a resolved view: the callback's answer, and the layout's first one."""
    loc, theme = view.locale, view.theme
    state = view.offered(state)
    try:
        columns, rows, records = table(view, state)
    except Exception:
        log.exception("explore table failed")
        columns, rows, records = [], [], None
    reason = empty_reason(view, kpis_or_none(view))
    if reason:
        fig = figures.message(reason, theme, loc)
    elif records is None:
        fig = figures.message(i18n.t(loc, "error.chart"), theme, loc)
    else:
        fig = guarded("explore", lambda: figure(view, state, records), theme, loc)
    metric = i18n.metric_label(loc, state.metric)
    title = (i18n.t(loc, "explore.over_time", metric=metric) if state.chart == "line" else
             i18n.t(loc, "explore.by", metric=metric, dim=i18n.dimension_label(loc, state.by).lower()))
    return {"figure": fig, "columns": columns, "rows": rows, "title": title, "status": unknown_notes(view),
            "table": figures.data_table(fig, title, loc), "zone": zone_line(view.tenant_name, view.timezone, loc)}


def csv_text(columns: list[dict], rows: list[dict], shown: list[dict] | None) -> str:
    """The table as CSV, in the order the grid shows it (``shown``: its virtualRowData)."""
    if shown and isinstance(shown, list):  # from the browser: anything that is not a row is left out
        key = "period" if columns and columns[0]["field"] == "period" else "key"
        position = {row[key]: i for i, row in enumerate(shown) if isinstance(row, dict) and isinstance(row.get(key), str)}
        rows = sorted((r for r in rows if r[key] in position), key=lambda r: position[r[key]])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([downloads.neutralise(c["headerName"]) for c in columns])
    for row in rows:
        writer.writerow([downloads.neutralise("" if row.get(c["field"]) is None else row.get(c["field"])) for c in columns])
    return out.getvalue()


def csv_download(token, search, shown) -> dict:
    state = parse(search)
    try:
        view = authorize(token, state.tenant).for_state(state)
    except (AuthError, Unavailable, RangeError):
        raise PreventUpdate from None
    state = view.offered(state)
    columns, rows, _ = table(view, state)
    what = f"{state.metric}-{'time' if state.chart == 'line' else state.by}"
    return dcc.send_string(csv_text(columns, rows, shown),
                           f"dataviz-{view.tenant}-{what}-{view.start}-{view.end}.csv", type="text/csv")


def register(app) -> None:
    @app.callback(
        Output(ids.GRAPH_EXPLORE, "figure"),
        Output(ids.deferred_content_id(ids.GRID_EXPLORE_BOX), "data"),
        Output(ids.EXPLORE_STATUS, "children"),
        Output(ids.EXPLORE_TITLE, "children"),
        Output(ids.EXPLORE_ZONE, "children"),
        Input(ids.URL, "search"),
        Input(ids.token_id(PAGE), "data"),
        prevent_initial_call=True,
    )
    def explore(search, token):
        """Chart and table in one round trip when the URL changes, from the URL and the re-verified token.

        Never on load: the page is rendered with this very answer (``callbacks.shell``).
        """
        out = explore_outputs(token, search)
        grid = explore_layout.results_grid(out["columns"], out["rows"], token_locale(token))
        return out["figure"], grid, out["status"], out["title"], out["zone"]

    # The grid, once mounted (assets/deferred-grids.js), follows its store: rows, columns and height.
    app.clientside_callback("function (grid) { var p = grid.props; return [p.rowData, p.columnDefs, p.style]; }",
                            Output(ids.GRID_EXPLORE, "rowData"), Output(ids.GRID_EXPLORE, "columnDefs"),
                            Output(ids.GRID_EXPLORE, "style"),
                            Input(ids.deferred_content_id(ids.GRID_EXPLORE_BOX), "data"), prevent_initial_call=True)

    @app.callback(
        Output(ids.DOWNLOAD_CSV, "data"),
        Input(ids.BUTTON_CSV, "n_clicks"),
        State(ids.URL, "search"),
        State(ids.token_id(PAGE), "data"),
        State(ids.GRID_EXPLORE, "virtualRowData", allow_optional=True),  # None until the grid is mounted
        prevent_initial_call=True,
    )
    def download(n_clicks, search, token, shown):
        """The table as shown, recomputed for the verified scope."""
        if not n_clicks:
            raise PreventUpdate
        return csv_download(token, search, shown)

    @app.callback(
        Output(ids.table_id(ids.GRAPH_EXPLORE), "children"),
        Input(ids.GRAPH_EXPLORE, "figure"),
        State(ids.EXPLORE_TITLE, "children"),
        State(ids.token_id(PAGE), "data"),
        prevent_initial_call=True,
    )
    def chart_table(fig, title, token):
        """The chart's data as a table for screen readers (the grid below holds every row, for everyone)."""
        loc = token_locale(token)
        return figures.data_table(figures.from_dict(fig), title if isinstance(title, str) else "", loc)
