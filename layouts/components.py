"""Pieces both dashboards share: what a page is rendered for, the filter bar, KPI cards."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dash import dcc, html

from app.catalog import DIMENSIONS, METRIC_NAMES, METRICS
from app.view_state import PRESETS, ViewState
from layouts import i18n, ids
from layouts.figures import GRAPH_CONFIG, HEIGHT, placeholder

FILTER_OPTIONS = 100  # values a filter dropdown lists at once (``dropdown_options``); typing asks for the others


@dataclass(frozen=True)
class PageView:
    """Everything a page layout needs, resolved from a verified token and the URL."""

    token: str
    locale: str
    theme: str
    tenant: str
    tenants: list[dict]  # the tenant picker's options: display name, tenant id
    analyst: bool
    locked: dict[str, tuple[str, ...]]
    options: dict[str, list[dict]]  # queries.filter_values of the tenant
    state: ViewState
    filters: dict[str, tuple[str, ...]]  # applied: the state's, with the locked ones
    start: dt.date
    end: dt.date
    as_of: dt.date
    zone_line: str  # ``zone_line``: the tenant's name and the time zone its days and hours are in
    learners: bool = False  # the token may see learners (``Scope.sees_learners``): KPI cards open their lists
    metrics: tuple[str, ...] = METRIC_NAMES  # the tenant's (``TenantView.metrics``): explore's picker offers these


def zone_line(name: str, zone: str, locale: str) -> str:
    """Which tenant the page shows, and in which time zone its days and hours are."""
    return i18n.t(locale, "timezone", name=name, zone=zone)


def dropdown_options(dim: str, known: dict[str, list[dict]], selected, locale: str,
                     search: str | None = None) -> list[dict]:
    """The first ``FILTER_OPTIONS`` of the tenant's values of ``dim`` whose label or key contains ``search``
    (any case), then every selected value (one it does not know flagged), so that it shows: a dropdown clears a
    value that is not among its options. A catalogue of 20,000 trainings put 1.1 MB of options in every page,
    the embedded overview's included; the dropdown asks for more as the viewer types (``callbacks.sync``)."""
    values, wanted = known.get(dim, []), (search or "").casefold()

    def label(value: dict) -> str:
        return i18n.data_label(value["label"], locale)

    found = [v for v in values if wanted in label(v).casefold() or wanted in v["key"].casefold()] if wanted else values
    options = [_option(label(v), v["key"]) for v in found[:FILTER_OPTIONS]]
    shown = {o["value"] for o in options}
    missing = [v for v in selected or () if v not in shown]
    # without a search or a selected value past the first ones, no pass over every value (each URL change)
    unshown = set(missing)
    labels = {v["key"]: label(v) for v in values if v["key"] in unshown} if missing else {}
    return options + [_option(labels.get(v, f"{v} (?)"), v) for v in missing]


def tenant_options(choices: list[tuple[str, str]]) -> list[dict]:
    """The analyst's tenant picker's options, from (tenant id, display name) pairs (``TenantView.tenant_choices``)."""
    return [_option(name, tenant) for tenant, name in choices]


def _option(label: str, key: str) -> dict:
    """A dropdown option the browser's own search also finds by its key (a training's id)."""
    return {"label": label, "value": key, "search": f"{label} {key}"}


def page_top(page: str, view: PageView, title: str, as_of_id: str, zone_id: str) -> list:
    """What opens both pages: the token's store, the title with the "data as of" line and the tenant's
    time zone (a callback keeps it in step when an analyst picks another tenant), the filter bar."""
    return [
        dcc.Store(id=ids.token_id(page), data=view.token),
        html.Header([
            html.H1(title),
            html.P(i18n.t(view.locale, "data_as_of", date=i18n.date(view.as_of, view.locale)),
                   id=as_of_id, className="as-of"),
            html.P(view.zone_line, id=zone_id, className="as-of"),
        ], className="page-head"),
        filter_bar(page, view),
    ]


def lock_icon() -> html.Span:
    """A padlock drawn in CSS (an emoji needs a font the viewer may not have)."""
    return html.Span(className="lock-icon", **{"aria-hidden": "true"})


def _field(label, control, locked: bool = False, locale: str = "en", hidden: bool = False, name: str = ""):
    head = [html.Span(label)]
    if locked:
        head.append(html.Span([lock_icon(), i18n.t(locale, "locked")], className="lock-label",
                              title=i18n.t(locale, "locked.title")))
    return html.Label([html.Div(head, className="field-label"), control],
                      className="field" + (" field-locked" if locked else ""),
                      style={"display": "none"} if hidden else None, **({"data-field": name} if name else {}))


def filter_bar(page: str, view: PageView) -> html.Div:
    """Tenant (analysts only), range preset and dates, and one dropdown per filter dimension."""
    loc = view.locale
    state = view.state
    fields = [
        _field(i18n.t(loc, "tenant"), dcc.Dropdown(
            id=ids.tenant_id(page), options=view.tenants, value=view.tenant, clearable=False,
            disabled=not view.analyst, **i18n.dropdown_labels(loc)), hidden=not view.analyst, name="tenant"),
        _field(i18n.t(loc, "range"), dcc.Dropdown(
            id=ids.range_preset_id(page), clearable=False, searchable=False, value=state.preset,
            options=[{"label": i18n.t(loc, f"preset.{p}"), "value": p} for p in PRESETS],
            **i18n.dropdown_labels(loc)), name="range"),
        _field(i18n.t(loc, "dates"), dcc.DatePickerRange(
            id=ids.range_dates_id(page), start_date=view.start.isoformat(), end_date=view.end.isoformat(),
            start_date_placeholder_text=i18n.t(loc, "dates.start"), end_date_placeholder_text=i18n.t(loc, "dates.end"),
            max_date_allowed=view.as_of.isoformat(), display_format="DD/MM/YYYY" if loc == "fr" else "YYYY-MM-DD",
            first_day_of_week=1, updatemode="bothdates"), name="dates"),
    ]
    for dim in (d.name for d in DIMENSIONS):
        locked = dim in view.locked
        value = list(view.filters.get(dim, ()))
        fields.append(_field(i18n.dimension_label(loc, dim), dcc.Dropdown(
            id=ids.filter_id(page, dim), multi=True, value=value, disabled=locked,
            placeholder=i18n.t(loc, "all"), options=dropdown_options(dim, view.options, value, loc),
            maxHeight=280, **i18n.dropdown_labels(loc)), locked=locked, locale=loc, name=dim))
    return html.Div(fields, className="filter-bar")


def kpi_card(metric: str, locale: str, value="…", change="", opens: bool = False) -> html.Div | html.Button:
    """A KPI card; with ``opens``, a button that opens the learners behind the number (its cohort's list)."""
    if opens:  # a button holds phrasing content only: spans, shown as blocks by the stylesheet
        return html.Button([
            html.Span(i18n.metric_label(locale, metric), className="kpi-label"),
            html.Span(value, id=ids.kpi_value_id(metric), className="kpi-value"),
            html.Span(change, id=ids.kpi_change_id(metric), className="kpi-change"),
            html.Span(i18n.t(locale, "learners.open"), className="kpi-open-hint"),
        ], id=ids.kpi_open_id(metric), n_clicks=0, type="button", className="kpi kpi-button",
            **{"data-metric": metric, "aria-controls": ids.LEARNERS_PANEL})
    return html.Div([
        html.Div(i18n.metric_label(locale, metric), className="kpi-label"),
        html.Div(value, id=ids.kpi_value_id(metric), className="kpi-value"),
        html.Div(change, id=ids.kpi_change_id(metric), className="kpi-change"),
    ], className="kpi", **{"data-metric": metric})


def kpi_cards(locale: str, values: dict | None = None, changes: dict | None = None,
              opens: bool = False) -> html.Div:
    """The activity KPI cards, with their values and changes when the page is rendered with its data; with
    ``opens``, each a button opening its learners."""
    return html.Div([kpi_card(m.name, locale, (values or {}).get(m.name, "…"), (changes or {}).get(m.name, ""),
                              opens) for m in METRICS if not m.compliance], className="kpi-grid")


COMPLIANCE_CARDS = ("on_time_rate", "overdue", "due_soon", "at_risk_learners")  # the overview's compliance row
CARD_METRICS = tuple(m.name for m in METRICS if not m.compliance) + COMPLIANCE_CARDS  # every KPI card, in order


def compliance_cards(locale: str, values: dict | None = None, changes: dict | None = None,
                     opens: bool = False) -> html.Div:
    """The compliance row's KPI cards (filled by the same callback as the others: same pattern ids); with
    ``opens``, each a button opening its learners, as the activity cards."""
    return html.Div([kpi_card(m, locale, (values or {}).get(m, "…"), (changes or {}).get(m, ""), opens)
                     for m in COMPLIANCE_CARDS], className="kpi-grid")


def chart_card(graph_id, title: str, extra=None, wide: bool = False, title_id: str | None = None,
               figure=None, table=None, locale: str = "en", defer: bool = False,
               opens_learners: bool = False) -> html.Section:
    """A titled graph, and its data as a table behind a disclosure anyone can open (WCAG 1.1.1).

    The chart itself is hidden from screen readers, which read the table instead: the
    disclosure is the next stop after the chart's heading, and a sighted keyboard or
    low-vision user gets the exact numbers too.

    The graph's box has its final height before Plotly draws in it, so nothing moves when it does.

    ``defer``: the figure and the table wait in a store of the page (JSON, nothing to render) and
    assets/deferred-charts.js hands them over after the page has drawn: the figure when the graph's
    box nears the viewport, one chart at a time, the table when its disclosure opens, so that neither
    drawing charts nobody sees yet nor the tables' hundreds of cells hold the main thread while the
    page loads.

    ``opens_learners``: a click on a point opens its learners, and the pointer says so.
    """
    head = [html.H2(title, **({"id": title_id} if title_id else {}))] + ([extra] if extra is not None else [])
    deferred = defer and figure is not None
    box = {"data-deferred": graph_id} if deferred else {}
    return html.Section([
        html.Div(head, className="card-head"),
        # The box is the graph's height from the first render: dcc.Graph draws nothing until its chunk loads.
        html.Div(dcc.Loading(dcc.Graph(id=graph_id, config=GRAPH_CONFIG, style={"height": f"{HEIGHT}px"},
                                       **({"figure": placeholder() if deferred else figure}
                                          if figure is not None else {})),
                             type="dot", delay_show=300),
                 className="graph-box opens-learners" if opens_learners else "graph-box",
                 style={"minHeight": f"{HEIGHT}px"},
                 **{"aria-hidden": "true"}, **box),
        *([dcc.Store(id=ids.deferred_content_id(graph_id), data={"figure": figure, "table": table})]
          if deferred else []),
        html.Details([html.Summary(i18n.t(locale, "table.show")),
                      # A wide table scrolls sideways: focusable, so a keyboard can scroll it too (WCAG 2.1.1).
                      html.Div(None if deferred else table, id=ids.table_id(graph_id), className="data-table", tabIndex="0", role="region",
                               **{"aria-label": i18n.t(locale, "table.of", title=title) if title else
                                  i18n.t(locale, "table.region")})], className="chart-data"),
    ], className="card" + (" card-wide" if wide else ""))


def choice(page: str, name: str, options: list[tuple[str, str]], value: str, label: str):
    """A small radio group (granularity, chart type) stored in the URL as ``name``."""
    return html.Div([
        html.Span(label, className="field-label"),
        dcc.RadioItems(id=ids.choice_id(page, name), options=[{"label": l, "value": v} for v, l in options],
                       value=value, inline=True, className="choice"),
    ], className="choice-group")


def chips(filters: dict[str, tuple[str, ...]], locked: dict, options: dict, locale: str) -> list:
    """One chip per applied filter value: locked ones show a lock, the others a × that removes them."""
    labels = {dim: {o["key"]: i18n.data_label(o["label"], locale) for o in opts} for dim, opts in options.items()}
    items = []
    for dim, values in filters.items():
        for value in values:
            text = f"{i18n.dimension_label(locale, dim)}: {labels.get(dim, {}).get(value, value)}"
            if dim in locked:
                items.append(html.Span([lock_icon(), text], className="chip chip-locked",
                                       title=i18n.t(locale, "locked.title")))
            else:
                remove = i18n.t(locale, "filters.remove")
                items.append(html.Span([text, html.Button(
                    "×", id=ids.chip_remove_id(dim, value), className="chip-remove", n_clicks=0, title=remove,
                    **{"aria-label": remove})], className="chip"))
    if not items:
        return [html.Span(i18n.t(locale, "filters.none"), className="chips-label")]
    return [html.Span(i18n.t(locale, "filters.active"), className="chips-label")] + items
