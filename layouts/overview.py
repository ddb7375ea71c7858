"""The embedded overview: KPI cards, five charts and the filter bar, for one tenant; for a tenant with
assignments, a compliance row below (its KPI cards, overdue assignments by group and by training).

``content`` holds what ``callbacks.overview`` computed for the page's view (KPI values and
changes, figures, their tables, the status line): the page arrives with its numbers.
"""
from __future__ import annotations

from dash import html

from app.view_state import GRANULARITY_CHOICES, METRIC_COHORTS
from layouts import i18n, ids, learners
from layouts.components import PageView, chart_card, choice, compliance_cards, kpi_cards, page_top

PAGE = ids.OVERVIEW
# What a chart's points open, for a token that may see learners (docs/metrics.md, "From a chart to its
# learners"): by the metric a point measures (``layouts.figures.point``), the list its KPI card opens, narrowed
# to the point. The heatmap (hours of a typical week) opens none: an hour is not a range of days.
CHART_COHORTS = {graph: {metric: METRIC_COHORTS[metric] for metric in metrics} for graph, metrics in {
    ids.GRAPH_ACTIVITY: ("connections", "active_learners"), ids.GRAPH_FUNNEL: ("enrolments", "starts", "completions"),
    ids.GRAPH_TRAININGS: ("completions",), ids.GRAPH_GROUPS: ("completion_rate",),
    ids.GRAPH_OVERDUE_GROUPS: ("overdue",), ids.GRAPH_OVERDUE_TRAININGS: ("overdue",)}.items()}


def layout(view: PageView, content: dict | None = None) -> html.Main:
    loc = view.locale
    content = content or {}
    figures, tables = content.get("figures", {}), content.get("tables", {})

    def chart(graph_id, title_key: str, **kwargs):
        return chart_card(graph_id, i18n.t(loc, title_key), figure=figures.get(graph_id), table=tables.get(graph_id),
                          locale=loc, opens_learners=view.learners and graph_id in CHART_COHORTS, **kwargs)

    granularity = choice(PAGE, "gran", [(g, i18n.t(loc, f"gran.{g}")) for g in GRANULARITY_CHOICES],
                         view.state.granularity, i18n.t(loc, "gran"))
    return html.Main([
        *page_top(PAGE, view, i18n.t(loc, "overview.title"), ids.OVERVIEW_AS_OF, ids.OVERVIEW_ZONE),
        html.Div(content.get("status"), id=ids.OVERVIEW_STATUS, className="status", role="status"),
        kpi_cards(loc, content.get("values"), content.get("changes"), opens=view.learners),
        *([learners.panel(loc, content.get("learners"))] if view.learners else []),
        html.Div([
            # Every chart is drawn after the page, one at a time, as it nears the viewport.
            chart(ids.GRAPH_ACTIVITY, "chart.activity", extra=granularity, wide=True, defer=True),
            chart(ids.GRAPH_FUNNEL, "chart.funnel", defer=True),
            chart(ids.GRAPH_TRAININGS, "chart.trainings", defer=True),
            chart(ids.GRAPH_GROUPS, "chart.groups", defer=True),
            chart(ids.GRAPH_HEATMAP, "chart.heatmap", defer=True),
        ], className="chart-grid"),
        html.Section([
            html.H2(i18n.t(loc, "overview.compliance")),
            compliance_cards(loc, content.get("values"), content.get("changes"), opens=view.learners),
            html.Div([
                chart(ids.GRAPH_OVERDUE_GROUPS, "chart.overdue_groups", defer=True),
                chart(ids.GRAPH_OVERDUE_TRAININGS, "chart.overdue_trainings", defer=True),
            ], className="chart-grid"),
        ], id=ids.OVERVIEW_COMPLIANCE, hidden=not content.get("compliance"), className="compliance"),
    ], className="page page-overview")
