"""Explore: one metric by one dimension (or over time), as a chart and a sortable table.

Clicking a bar or a slice adds its value as a filter (shown as a chip that
removes it); the table can be downloaded as CSV exactly as it is shown.
"""
from __future__ import annotations

import dash_ag_grid as dag
from dash import dcc, html

from app.catalog import DIMENSIONS, METRIC
from app.view_state import CHARTS, GRANULARITY_CHOICES
from layouts import i18n, ids, learners
from layouts.components import PageView, chart_card, chips, choice, page_top

PAGE = ids.EXPLORE


GRID_ROW_PX, GRID_HEADER_PX = 42, 48
# The grid is as tall as its rows up to this many, then its rows scroll inside it: AG Grid draws only the rows in
# view and a few more (with auto height it drew every row on load, 74 by training on the demo export; issue 12).
GRID_MAX_ROWS = 12


def grid_height(rows: int) -> int:
    """The grid's height for ``rows`` rows: header and its bottom border (1 px), rows (one at least, for the
    no-rows line; ``GRID_MAX_ROWS`` at most), the grid's borders (2 px): a pixel short and AG Grid shows a scroll
    bar."""
    return GRID_HEADER_PX + 1 + GRID_ROW_PX * min(max(rows, 1), GRID_MAX_ROWS) + 2


def grid_css_height(rows: list) -> str:
    """``grid_height`` for these rows, as CSS: the grid's own, and its box's before it is mounted, so that the
    learners below it do not move when it is (assets/dataviz.css)."""
    return f"{grid_height(len(rows or []))}px"


def results_grid(columns: list[dict], rows: list[dict], locale: str) -> dict:
    """Explore's results grid as the JSON its box's store holds (``ids.deferred_content_id``), for
    assets/deferred-grids.js to mount once the chart above it is drawn: AG Grid's script (285 KB) and its first
    drawing (a long task) then follow the chart, the page's largest paint, instead of delaying it (issue 12).
    The explore callback writes the grid for each new answer to the same store; once mounted, the grid takes
    its rows, columns and height from there (``callbacks.explore``)."""
    return dag.AgGrid(
        # Columns share the width by flex from the first render (a size-to-fit after it moved them).
        id=ids.GRID_EXPLORE, rowData=rows, columnDefs=columns,
        defaultColDef={"sortable": True, "resizable": True, "filter": False, "flex": 1, "minWidth": 120},
        dashGridOptions={"animateRows": False, "rowHeight": GRID_ROW_PX, "headerHeight": GRID_HEADER_PX,
                         "localeText": i18n.grid_texts(locale)},
        style={"height": grid_css_height(rows)},
    ).to_plotly_json()


def metric_options(loc: str, metrics: tuple[str, ...]) -> list[dict]:
    """The metric picker's options: the tenant's metrics (``TenantView.metrics``), in the catalog's order."""
    return [{"label": i18n.t(loc, METRIC[m].label_key), "value": m} for m in metrics]


def layout(view: PageView, content: dict | None = None) -> html.Main:
    """``content``: what ``callbacks.explore`` computed for the page's view (chart, table rows, title, status)."""
    loc = view.locale
    content = content or {}
    state = view.state
    choices = html.Div([
        html.Label([html.Div(i18n.t(loc, "metric"), className="field-label"), dcc.Dropdown(
            id=ids.choice_id(PAGE, "metric"), clearable=False, value=state.metric, **i18n.dropdown_labels(loc),
            options=metric_options(loc, view.metrics))], className="field"),
        html.Label([html.Div(i18n.t(loc, "by"), className="field-label"), dcc.Dropdown(
            id=ids.choice_id(PAGE, "by"), clearable=False, value=state.by, **i18n.dropdown_labels(loc),
            options=[{"label": i18n.t(loc, d.label_key), "value": d.name} for d in DIMENSIONS])], className="field"),
        choice(PAGE, "chart", [(c, i18n.t(loc, f"chart.{c}")) for c in CHARTS], state.chart, i18n.t(loc, "chart")),
        choice(PAGE, "gran", [(g, i18n.t(loc, f"gran.{g}")) for g in GRANULARITY_CHOICES], state.granularity,
               i18n.t(loc, "gran")),
    ], className="choice-bar")
    return html.Main([
        *page_top(PAGE, view, i18n.t(loc, "explore.title"), ids.EXPLORE_AS_OF, ids.EXPLORE_ZONE),
        choices,
        html.Div(chips(view.filters, view.locked, view.options, loc), id=ids.chips_id(PAGE), className="chips"),
        html.Div(content.get("status"), id=ids.EXPLORE_STATUS, className="status", role="status"),
        chart_card(ids.GRAPH_EXPLORE, content.get("title", ""), wide=True, title_id=ids.EXPLORE_TITLE,
                   figure=content.get("figure"), table=content.get("table"), locale=loc),
        html.Section([
            html.Div([
                html.Button(i18n.t(loc, "csv"), id=ids.BUTTON_CSV, className="button", n_clicks=0),
                dcc.Download(id=ids.DOWNLOAD_CSV),
            ], className="card-head"),
            html.Div(id=ids.GRID_EXPLORE_BOX, className="grid-box grid-deferred",
                     style={"--grid-first-height": grid_css_height(content.get("rows"))},
                     **{"data-ag-theme-mode": view.theme, "data-grid-after-chart": "true"}),
            dcc.Store(id=ids.deferred_content_id(ids.GRID_EXPLORE_BOX),
                      data=results_grid(content.get("columns", []), content.get("rows", []), loc)),
        ], className="card card-wide"),
        *([learners.explore_section(loc, content.get("learners"), learner_grid(view, content))]
          if view.learners else []),
    ], className="page page-explore")


LEARNER_GRID_HEIGHT = "420px"


def learner_grid(view: PageView, content: dict) -> html.Div:
    """Explore's learner grid, mounted only when its box comes near the viewport (assets/deferred-grids.js): it is
    below the fold, and building it with the page made the page's longest task (issue 12). Until then the box
    holds its place; the grid waits in a store, its rows in another that the explore callback keeps current."""
    grid = dag.AgGrid(
        id=ids.GRID_LEARNERS, rowData=[], columnDefs=learners.grid_columns(view.locale),
        # Rows scroll inside (virtualised: only those in view are drawn); fixed column widths from
        # learners.grid_columns, nothing measured. Neither flex nor in a grid-box as the grid above: below
        # the fold AG Grid then left this one half drawn, which axe flagged (a11y002).
        style={"height": LEARNER_GRID_HEIGHT}, getRowId="params.data.user_id",
        defaultColDef={"sortable": True, "resizable": True, "filter": False, "wrapHeaderText": True,
                       "autoHeaderHeight": True},
        dashGridOptions={"animateRows": False, "localeText": i18n.grid_texts(view.locale)},
    )
    return html.Div([
        html.Div(id=ids.GRID_LEARNERS_BOX, className="grid-deferred", style={"minHeight": LEARNER_GRID_HEIGHT},
                 **{"data-grid-rows": ids.LEARNER_ROWS}),
        dcc.Store(id=ids.deferred_content_id(ids.GRID_LEARNERS_BOX), data=grid.to_plotly_json()),
        dcc.Store(id=ids.LEARNER_ROWS, data=(content.get("learners") or {}).get("rows", [])),
    ], **{"data-ag-theme-mode": view.theme})
