"""The overview's data: one callback fills every KPI and chart from the URL, in one round trip.

Each chart is built on its own inside ``common.guarded``: a chart that fails shows a
message in its frame while the others are drawn. Queries go through
``app.answers``, so repeated views are served from the shared cache.
"""
from __future__ import annotations

from dash import ALL, Input, Output, ctx, html

from app import answers, catalog
from app.auth import AuthError
from app.catalog import METRIC_NAMES as METRICS, TRAINING_DIMENSIONS
from app.dates import RangeError
from app.queries import previous_range
from app.view_state import ViewState, granularity, parse
from app.views import TenantView
from callbacks.access import Unavailable, authorize
from callbacks.common import empty_reason, guarded, kpis_or_none, refusal, unknown_notes
from layouts import figures, i18n, ids
from layouts.components import zone_line
from layouts.overview import CHART_COHORTS

PAGE = ids.OVERVIEW
TITLES = {ids.GRAPH_ACTIVITY: "chart.activity", ids.GRAPH_FUNNEL: "chart.funnel", ids.GRAPH_TRAININGS: "chart.trainings",
          ids.GRAPH_GROUPS: "chart.groups", ids.GRAPH_HEATMAP: "chart.heatmap",
          ids.GRAPH_OVERDUE_GROUPS: "chart.overdue_groups", ids.GRAPH_OVERDUE_TRAININGS: "chart.overdue_trainings"}


def kpi_change(metric: str, value, previous, days: int, locale: str) -> html.Span:
    """Arrow, change and colour class vs the previous period (points for a share such as the completion rate)."""
    spec = catalog.METRIC[metric]
    share = spec.number_format == catalog.PERCENT
    if not spec.ranged:  # the same whatever the range: no previous period to compare with
        return html.Span("", className="kpi-flat")
    if value is None:
        return html.Span(i18n.t(locale, "na.connections") if spec.without_training else "", className="kpi-flat")
    if previous is None or (previous == 0 and not share):
        return html.Span(i18n.t(locale, "change.no_previous"), className="kpi-flat")
    if share:
        delta = value - previous
        text = i18n.t(locale, "change.points", value=i18n.number(abs(delta) * 100, locale, 1))
    else:
        delta = (value - previous) / previous
        text = i18n.percent(abs(delta), locale)
    arrow, kind = ("▲", "up") if delta > 0.0005 else ("▼", "down") if delta < -0.0005 else ("→", "flat")
    if spec.lower_is_better and kind != "flat":  # the colour says good or bad news, the arrow which way
        kind = "down" if kind == "up" else "up"
    return html.Span([html.Span(arrow, className="kpi-arrow", **{"aria-hidden": "true"}), f" {text} ",
                      html.Span(i18n.t(locale, "change.vs_previous", days=days), className="kpi-period")],
                     className=f"kpi-{kind}")


def overview_outputs(token, search) -> dict:
    """Everything the overview shows for this token and query string."""
    state = parse(search)
    try:
        access = authorize(token, state.tenant)
        view = access.for_state(state)
    except (AuthError, Unavailable, RangeError) as exc:
        text, status = refusal(exc, access.locale if isinstance(exc, RangeError) else "en")
        blank = figures.message(text)
        return {"values": {m: "—" for m in METRICS}, "changes": {m: "" for m in METRICS},
                "figures": {g: blank for g in ids.OVERVIEW_GRAPHS}, "tables": {g: "" for g in ids.OVERVIEW_GRAPHS},
                "status": status, "zone": "", "compliance": False}
    return content(view, state)


def content(view: TenantView, state: ViewState) -> dict:
    """What the overview shows for a resolved view: the callback's answer, and the layout's first one."""
    loc, theme = view.locale, view.theme
    gran = granularity(state, view.start, view.end)
    values = kpis_or_none(view)
    previous = kpis_or_none(view.over(*previous_range(view.start, view.end))) if values else None
    days = (view.end - view.start).days + 1
    reason = empty_reason(view, values)
    training_side = any(view.filters.get(d) for d in TRAINING_DIMENSIONS)

    def activity():
        learners = answers.timeseries(view, "active_learners", gran)
        connections = None if training_side else answers.timeseries(view, "connections", gran)
        return figures.activity(connections, learners, gran, loc, theme)

    def trainings():
        rows = answers.breakdown(view, "completions", "training", 10)
        rows = [r for r in rows if r["value"]]
        return figures.bars(rows, "completions", "training", loc, theme, horizontal=True) if rows else \
            figures.message(i18n.t(loc, "empty.no_rows"), theme, loc)

    def groups():
        rows = answers.breakdown(view, "completion_rate", "group", 50)
        rows = [r for r in rows if r["value"] is not None]
        return figures.bars(rows, "completion_rate", "group", loc, theme, horizontal=True) if rows else \
            figures.message(i18n.t(loc, "empty.no_rows"), theme, loc)

    def overdue(by: str):
        def build():
            rows = [r for r in answers.breakdown(view, "overdue", by, 10) if r["value"]]
            return figures.bars(rows, "overdue", by, loc, theme, horizontal=True) if rows else \
                figures.message(i18n.t(loc, "empty.no_rows"), theme, loc)
        return build

    def heatmap():
        if training_side:
            return figures.message(i18n.t(loc, "empty.training_filter"), theme, loc)
        return figures.heatmap([cell["value"] for cell in answers.heatmap(view)], loc, theme)

    builders = {ids.GRAPH_ACTIVITY: activity, ids.GRAPH_FUNNEL: lambda: figures.funnel(values, loc, theme),
                ids.GRAPH_TRAININGS: trainings, ids.GRAPH_GROUPS: groups, ids.GRAPH_HEATMAP: heatmap,
                ids.GRAPH_OVERDUE_GROUPS: overdue("group"), ids.GRAPH_OVERDUE_TRAININGS: overdue("training")}
    if reason:
        figs = {g: figures.message(reason, theme, loc) for g in builders}
    else:
        figs = {g: guarded(g, build, theme, loc) for g, build in builders.items()}
    return {
        "values": {m: i18n.metric_value(m, values[m], loc) if values else "—" for m in METRICS},
        "changes": {m: kpi_change(m, values[m], (previous or {}).get(m), days, loc) if values else ""
                    for m in METRICS},
        "figures": figs,
        # for a token that may see learners, a chart's table opens the lists its points open (keyboard access)
        "tables": {g: figures.data_table(fig, i18n.t(loc, TITLES[g]), loc, opens=g if view.scope.sees_learners
                                         and g in CHART_COHORTS else None) for g, fig in figs.items()},
        "status": unknown_notes(view),
        "zone": zone_line(view.tenant_name, view.timezone, loc),
        # a tenant with assignments has them counted (0 or more) whatever the filters; without: null
        "compliance": bool(values) and values["assignments_due"] is not None,
    }


def register(app) -> None:
    @app.callback(
        Output({"type": ids.KPI_VALUE, "metric": ALL}, "children"),
        Output({"type": ids.KPI_CHANGE, "metric": ALL}, "children"),
        *[Output(g, "figure") for g in ids.OVERVIEW_GRAPHS],
        *[Output(ids.table_id(g), "children") for g in ids.OVERVIEW_GRAPHS],
        Output(ids.OVERVIEW_STATUS, "children"),
        Output(ids.OVERVIEW_ZONE, "children"),
        Output(ids.OVERVIEW_COMPLIANCE, "hidden"),
        Input(ids.URL, "search"),
        Input(ids.token_id(PAGE), "data"),
        prevent_initial_call=True,
    )
    def overview(search, token):
        """One round trip for the whole page when the URL changes: the URL says what to show, the token whose data.

        Never on load: the page is rendered with this very answer (``callbacks.shell``). Each chart's
        table comes with its figure: a figure set in the browser (a chart drawn as it nears the
        viewport, assets/deferred-charts.js) asks the server for nothing.
        """
        out = overview_outputs(token, search)
        tables = [out["tables"][g] for g in ids.OVERVIEW_GRAPHS]
        # Sent by the client, each wildcard list on its own: they may differ, and name no metric.
        value_ids, change_ids = ([o["id"]["metric"] for o in outputs] for outputs in ctx.outputs_list[:2])
        return ([out["values"].get(m, "—") for m in value_ids], [out["changes"].get(m, "") for m in change_ids],
                *[out["figures"][g] for g in ids.OVERVIEW_GRAPHS], *tables, out["status"], out["zone"],
                not out["compliance"])
