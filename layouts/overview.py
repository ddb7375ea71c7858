"""The embedded overview: KPI cards, five charts and the filter bar, for one tenant.

Only structure lives here: every value is filled in by ``callbacks.overview``.
"""
from __future__ import annotations

from dash import html

from app.view_state import GRANULARITY_CHOICES
from layouts import i18n, ids
from layouts.components import PageView, chart_card, choice, kpi_cards, page_top

PAGE = ids.OVERVIEW


def layout(view: PageView) -> html.Main:
    loc = view.locale
    granularity = choice(PAGE, "gran", [(g, i18n.t(loc, f"gran.{g}")) for g in GRANULARITY_CHOICES],
                         view.state.granularity, i18n.t(loc, "gran"))
    return html.Main([
        *page_top(PAGE, view, i18n.t(loc, "overview.title"), ids.OVERVIEW_AS_OF),
        html.Div(id=ids.OVERVIEW_STATUS, className="status", role="status"),
        kpi_cards(loc),
        html.Div([
            chart_card(ids.GRAPH_ACTIVITY, i18n.t(loc, "chart.activity"), extra=granularity, wide=True, locale=loc),
            chart_card(ids.GRAPH_FUNNEL, i18n.t(loc, "chart.funnel"), locale=loc),
            chart_card(ids.GRAPH_TRAININGS, i18n.t(loc, "chart.trainings"), locale=loc),
            chart_card(ids.GRAPH_GROUPS, i18n.t(loc, "chart.groups"), locale=loc),
            chart_card(ids.GRAPH_HEATMAP, i18n.t(loc, "chart.heatmap"), locale=loc),
        ], className="chart-grid"),
    ], className="page page-overview")
