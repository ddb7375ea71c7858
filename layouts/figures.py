"""Figure builders: aggregates in, light Plotly figures out (never raw points).

Each builder takes records from ``app.answers`` plus the viewer's locale and
theme; colours come from ``THEMES`` because Plotly draws in SVG and cannot
read the page's CSS variables. ``message`` is the empty state every chart
falls back to, so a chart never shows blank axes without a reason.

A figure is a plain dict (``{"data": [...], "layout": {...}}``), what ``dcc.Graph`` takes and Plotly draws:
building a ``go.Figure`` copied and checked every value, 34 ms for a daily activity chart over two years and
half of the overview's default first layout. ``tests/dash/test_figures.py`` checks every builder's figures
with plotly.py's own validators instead, so a misspelt property still fails a test.
"""
from __future__ import annotations

import math
import numbers
from html import escape

import plotly.graph_objects as go
from dash import html
from plotly.colors import make_colorscale, sequential

from app import catalog
from layouts import i18n, ids

HEIGHT = 300
THEMES = {
    "light": {"fg": "#1f2328", "muted": "#59636e", "grid": "#d8dee4", "primary": "#3b5bdb",
              "secondary": "#e8590c", "scale": make_colorscale(sequential.Blues),
              "funnel": ["#3b5bdb", "#5c7cfa", "#91a7ff"]},
    "dark": {"fg": "#e6edf3", "muted": "#9198a1", "grid": "#30363d", "primary": "#74a7ff",
             "secondary": "#ffa657", "scale": make_colorscale(sequential.Blues_r),
             "funnel": ["#74a7ff", "#5c7cfa", "#3b5bdb"]},
}
D3_FORMATS = {catalog.INTEGER: ",d", catalog.DECIMAL: ",.1f", catalog.PERCENT: ".1%"}  # hover texts
GRAPH_CONFIG = {"displayModeBar": False, "responsive": True}


def data_text(label: str) -> str:
    """A label from the data as Plotly text, shown as written.

    Plotly reads a few HTML tags in text (``<a href>``, ``<b>``, ``<br>``...):
    a training title holding ``<a href=...>`` would become a link in our
    chart. Escaped, Plotly shows the characters themselves.
    """
    return escape(label, quote=False)


def point(metric: str, kind: str | None = None, value: str | None = None) -> list:
    """What a chart's point is, carried in its ``customdata``: the metric it measures and, when it is one, the
    period (``kind`` a granularity, ``value`` its first day) or the dimension value (``kind`` the dimension) it
    is for. A click on it opens that metric's learners narrowed to it (``callbacks.learners``)."""
    return [metric, kind, value]


def periods(granularity: str) -> dict:
    """A time series trace's ``meta``: what its x values are the first days of, so that its data table names
    them as a reader says them (``data_table``)."""
    return {"period": granularity}


def clicked(click_data) -> tuple[str, str | None, str | None] | None:
    """The ``point`` of a ``clickData`` as the browser sends it back (None: not one of ours)."""
    try:
        data = click_data["points"][0]["customdata"]
    except (TypeError, KeyError, IndexError):
        return None
    if not (isinstance(data, list) and len(data) == 3 and isinstance(data[0], str)
            and all(part is None or isinstance(part, str) for part in data[1:])):
        return None
    return data[0], data[1] or None, data[2] or None


# Tick labels are drawn whole: Plotly's default for numbers and dates ("hide past div") measures every
# label's box after drawing it, a forced layout per label, the largest part of drawing a chart.
AXIS = {"ticklabeloverflow": "allow", "ticks": ""}


def _layout(theme: str, locale: str, **layout) -> dict:
    """A figure's layout, without plotly.py's default template: every colour, font and margin is set here, and the
    template (7 KB of JSON in every figure) turned automatic margins on for every axis, so that Plotly drew
    each chart twice, measuring its tick labels in between (issue 12). Numbers-looking categories stay
    categories (``autotypenumbers``, which the template set)."""
    colours = THEMES.get(theme, THEMES["light"])
    axis = {**AXIS, "gridcolor": colours["grid"], "zerolinecolor": colours["grid"], "linecolor": colours["grid"]}
    return {
        "height": HEIGHT, "margin": {"l": 48, "r": 16, "t": 16, "b": 40}, "autotypenumbers": "strict",
        "hovermode": "closest",
        "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"color": colours["fg"], "family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
                 "size": 12},
        "separators": ", " if locale == "fr" else ".,", "showlegend": False,
        "hoverlabel": {"namelength": -1}, **layout, "xaxis": dict(axis), "yaxis": dict(axis)}


Figure = dict  # {"data": [trace, ...], "layout": {...}}, as Plotly takes it


def _figure(traces: list[dict], layout: dict) -> Figure:
    return {"data": traces, "layout": layout}


def _date_axis(layout: dict, locale: str) -> None:
    """Numeric date ticks outside English: Plotly's month names are English without a locale bundle."""
    if locale != "en":
        layout["xaxis"]["tickformatstops"] = [{"dtickrange": [None, "M1"], "value": "%d/%m"},
                                              {"dtickrange": ["M1", None], "value": "%m/%Y"}]


def message(text: str, theme: str = "light", locale: str = "en") -> Figure:
    """An empty chart that says why it is empty."""
    layout = _layout(theme, locale)
    layout["xaxis"]["visible"] = layout["yaxis"]["visible"] = False
    layout["annotations"] = [{"text": text, "x": 0.5, "y": 0.5, "xref": "paper", "yref": "paper",
                              "showarrow": False,
                              "font": {"size": 14, "color": THEMES.get(theme, THEMES["light"])["muted"]}}]
    return _figure([], layout)


DEFERRED = "dv-deferred"  # the placeholder's layout.meta (assets/deferred-charts.js replaces only that figure)


def placeholder() -> dict:
    """What a chart shows until its figure is handed to it (layouts/components.py chart_card, ``defer``):
    nothing, drawn at the chart's height, without the empty axes Plotly draws for a graph without a figure."""
    hidden = {"visible": False}
    return {"data": [], "layout": {"height": HEIGHT, "meta": DEFERRED, "xaxis": hidden, "yaxis": hidden,
                                   "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
                                   "margin": {"l": 0, "r": 0, "t": 0, "b": 0}}}


def _value_format(metric: str) -> str:
    return D3_FORMATS[catalog.METRIC[metric].number_format]


def _axis_format(metric: str) -> dict:
    """Whole percents on a share's axis; Plotly's own ticks otherwise (axis properties to add)."""
    return {"tickformat": ".0%"} if catalog.METRIC[metric].number_format == catalog.PERCENT else {}


def activity(connections: list[dict] | None, learners: list[dict], granularity: str, locale: str,
             theme: str) -> Figure:
    """Connections (bars) and active learners (line, right axis) per period (of ``granularity``);
    ``connections`` None: n/a."""
    colours = THEMES[theme]
    # Room above for the legend and below for two-line date ticks ("Oct 4" over "2026"): the legend would
    # otherwise push the margin, and Plotly draw the chart a second time.
    layout = _layout(theme, locale, showlegend=True, legend={"orientation": "h", "y": 1.12, "x": 0},
                     margin={"l": 48, "r": 48, "t": 40, "b": 46})
    traces = []
    if connections is not None:
        traces.append({"type": "bar", "x": [p["period"] for p in connections],
                       "y": [p["value"] for p in connections],
                       "customdata": [point("connections", granularity, p["period"]) for p in connections],
                       "name": i18n.metric_label(locale, "connections"), "marker": {"color": colours["primary"]},
                       "opacity": 0.75, "meta": periods(granularity),
                       "hovertemplate": "%{x|%Y-%m-%d}: %{y:,d}<extra>%{fullData.name}</extra>"})
    traces.append({"type": "scatter", "x": [p["period"] for p in learners], "y": [p["value"] for p in learners],
                   "mode": "lines+markers",
                   "customdata": [point("active_learners", granularity, p["period"]) for p in learners],
                   "name": i18n.metric_label(locale, "active_learners"),
                   "yaxis": "y2" if connections is not None else "y",
                   "line": {"color": colours["secondary"], "width": 2}, "marker": {"size": 5},
                   "meta": periods(granularity),
                   "hovertemplate": "%{x|%Y-%m-%d}: %{y:,d}<extra>%{fullData.name}</extra>"})
    layout["yaxis"]["rangemode"] = "tozero"
    if connections is not None:
        layout["yaxis2"] = {**AXIS, "overlaying": "y", "side": "right", "showgrid": False,
                            "rangemode": "tozero", "tickformat": ",.0f", "tickmode": "auto"}
    else:
        layout["annotations"] = [{"text": i18n.t(locale, "empty.training_filter"), "x": 0, "y": 1.12,
                                  "xref": "paper", "yref": "paper", "showarrow": False, "xanchor": "left",
                                  "font": {"color": colours["muted"]}}]
    _date_axis(layout, locale)
    return _figure(traces, layout)


def funnel(values: dict, locale: str, theme: str) -> Figure:
    """Enrolments → starts → completions, with each step's share of enrolments."""
    steps = ("enrolments", "starts", "completions")
    layout = _layout(theme, locale, margin={"l": 110, "r": 16, "t": 16, "b": 24})
    trace = {"type": "funnel", "y": [i18n.metric_label(locale, s) for s in steps], "x": [values[s] for s in steps],
             "customdata": [point(s) for s in steps],
             "texttemplate": "%{value:,d}<br>%{percentInitial:.0%}", "marker": {"color": THEMES[theme]["funnel"]},
             "connector": {"fillcolor": THEMES[theme]["grid"]}, "hovertemplate": "%{y}: %{x:,d}<extra></extra>"}
    return _figure([trace], layout)


def bars(rows: list[dict], metric: str, by: str, locale: str, theme: str, horizontal: bool = False) -> Figure:
    """One bar per row (a value of dimension ``by``), largest first; its key rides in ``customdata`` (``point``)
    for cross-filtering and drilling."""
    fmt = _value_format(metric)
    labels = [data_text(i18n.data_label(r["label"], locale)) for r in rows]
    values = [r["value"] for r in rows]
    keys = [point(metric, by, r["key"]) for r in rows]
    bar = {"type": "bar", "marker": {"color": THEMES[theme]["primary"]}}
    if horizontal:
        layout = _layout(theme, locale, margin={"l": 16, "r": 16, "t": 8, "b": 32})
        bar.update(y=labels[::-1], x=values[::-1], customdata=keys[::-1], orientation="h",
                   hovertemplate=f"%{{y}}: %{{x:{fmt}}}<extra></extra>")
        # The labels' room: assets/deferred-charts.js measures them before the first draw; otherwise (and if
        # that was short) Plotly's automatic margin makes it.
        labels_axis, values_axis = layout["yaxis"], layout["xaxis"]
    else:
        layout = _layout(theme, locale)
        bar.update(x=labels, y=values, customdata=keys, hovertemplate=f"%{{x}}: %{{y:{fmt}}}<extra></extra>")
        labels_axis, values_axis = layout["xaxis"], layout["yaxis"]
    labels_axis.update(type="category", automargin=True)
    values_axis.update(_axis_format(metric), rangemode="tozero")
    if len(rows) < 5:
        layout["bargap"] = 0.75 - 0.1 * len(rows)  # a lone bar should not fill the chart
    if fmt == ",d" and max((v or 0 for v in values), default=0) < 8:
        values_axis["dtick"] = 1  # no 0.2 learners
    return _figure([bar], layout)


def pie(rows: list[dict], metric: str, by: str, locale: str, theme: str) -> Figure:
    layout = _layout(theme, locale, showlegend=True, margin={"l": 16, "r": 16, "t": 16, "b": 16})
    trace = {"type": "pie", "labels": [data_text(i18n.data_label(r["label"], locale)) for r in rows],
             "values": [r["value"] or 0 for r in rows], "customdata": [point(metric, by, r["key"]) for r in rows],
             "hole": 0.35, "sort": False,
             "hovertemplate": f"%{{label}}: %{{value:{_value_format(metric)}}} (%{{percent}})<extra></extra>"}
    return _figure([trace], layout)


def line(points: list[dict], metric: str, granularity: str, locale: str, theme: str) -> Figure:
    layout = _layout(theme, locale)
    trace = {"type": "scatter", "x": [p["period"] for p in points], "y": [p["value"] for p in points],
             "mode": "lines+markers", "line": {"color": THEMES[theme]["primary"], "width": 2}, "marker": {"size": 5},
             "meta": periods(granularity),
             "hovertemplate": f"%{{x|%Y-%m-%d}}: %{{y:{_value_format(metric)}}}<extra></extra>"}
    layout["yaxis"].update(_axis_format(metric), rangemode="tozero")
    _date_axis(layout, locale)
    return _figure([trace], layout)


def heatmap(values: list, locale: str, theme: str) -> Figure:
    """Connections by weekday (rows, Monday on top) and local hour (columns), in the tenant's time zone."""
    z = [values[day * 24:(day + 1) * 24] for day in range(7)]
    layout = _layout(theme, locale, margin={"l": 48, "r": 16, "t": 8, "b": 40})
    trace = {"type": "heatmap", "z": z, "x": list(range(24)), "y": i18n.weekdays(locale),
             "colorscale": THEMES[theme]["scale"], "hovertemplate": "%{y} %{x}h: %{z:,d}<extra></extra>",
             "xgap": 1, "ygap": 1, "showscale": False}
    layout["yaxis"].update(autorange="reversed", showgrid=False)
    layout["xaxis"].update(dtick=2, showgrid=False, ticksuffix="h")
    return _figure([trace], layout)


def _scalars(values) -> bool:
    return all(v is None or isinstance(v, (str, int, float)) for v in values or ())


def from_dict(fig) -> Figure:
    """A figure as the browser sends it back (a dict, or nothing before the first draw), checked by plotly.py's
    validators (the browser may send anything): a figure that does not pass is an empty one, and so is one whose
    points are not what ``data_table`` reads (plotly.js accepts lists as categories and anything as a value)."""
    try:
        checked = go.Figure(fig if isinstance(fig, dict) else None, layout_template=None).to_plotly_json()
    except ValueError:
        return _figure([], {})
    traces = checked.get("data") or []
    readable = all(_scalars(trace.get(key)) for trace in traces for key in ("x", "y", "labels", "values")) and all(
        isinstance(row, (list, tuple)) and _scalars(row) for trace in traces for row in trace.get("z") or ())
    return _figure(traces, checked.get("layout") or {}) if readable else _figure([], {})


def data_table(fig: Figure, title: str, locale: str, opens: str | None = None) -> html.Table | html.P:
    """The chart's numbers as a table a screen reader reaches (WCAG 1.1.1: a text alternative for each chart).

    Built from the figure itself, so it always says what is drawn: one row per bar,
    slice, period or heatmap row, one column per trace; a message figure reads as its text.
    ``opens`` (the graph's id, for a viewer who may see learners): each value of a point that
    carries a ``point`` is a button opening its learners, as a click on the point does, so a
    keyboard or screen-reader user can drill down too.
    """
    traces, layout = list(fig.get("data") or ()), fig.get("layout") or {}
    if not traces:
        notes = [note["text"] for note in layout.get("annotations") or () if note.get("text")]
        return html.P(" ".join(notes) or i18n.t(locale, "empty.no_rows"))
    percent = any(str((layout.get(axis) or {}).get("tickformat") or "").endswith("%") for axis in ("xaxis", "yaxis"))
    kind = traces[0].get("type", "scatter")

    def cell(value):
        if not isinstance(value, numbers.Real) or not math.isfinite(value):  # a browser's figure: text is shown as text
            return i18n.t(locale, "na") if value is None or isinstance(value, numbers.Real) else str(value)
        if percent:
            return i18n.percent(value, locale)
        return i18n.number(value, locale, 0 if float(value).is_integer() else 1)

    head = [i18n.t(locale, "table.item")]
    if kind == "heatmap":
        heat = traces[0]
        head += [f"{x}h" for x in heat.get("x") or ()]
        rows = [[label, *[cell(v) for v in values]] for label, values in zip(heat.get("y") or (), heat.get("z") or ())]
    elif kind == "pie":
        head.append(i18n.t(locale, "table.value"))
        rows = [[label, cell(v)] for label, v in zip(traces[0].get("labels") or (), traces[0].get("values") or ())]
    else:
        funnel_chart = kind == "funnel"  # horizontal unless told otherwise, drawn top-down
        orientation = traces[0].get("orientation")
        horizontal = orientation == "h" or (funnel_chart and orientation != "v")
        columns, points = {}, {}
        for trace in traces:
            keys, values = (trace.get("y"), trace.get("x")) if horizontal else (trace.get("x"), trace.get("y"))
            name = trace.get("name") or i18n.t(locale, "table.value")
            columns[name] = dict(zip(keys or (), values or ()))
            points[name] = dict(zip(keys or (), (trace.get("customdata") or ()) if opens else ()))
        order = list(dict.fromkeys(k for col in columns.values() for k in col))
        if horizontal and not funnel_chart:
            order.reverse()  # bars are drawn bottom-up: read largest first, as seen

        def opening(name, key):
            text, at = cell(columns[name].get(key)), points[name].get(key)
            if at is None:
                return text
            return html.Button(text, id=ids.chart_open_id(opens, *at), n_clicks=0, type="button",
                               className="link-button chart-open", title=i18n.t(locale, "learners.drill.open"))

        meta = traces[0].get("meta") if isinstance(traces[0].get("meta"), dict) else {}
        granularity = meta.get("period") if meta.get("period") in catalog.GRANULARITIES else None

        def label(key) -> str:
            if granularity is None:
                return str(key)
            try:
                return i18n.period(key, granularity, locale)
            except ValueError:  # not a date after all (a figure from the browser)
                return str(key)

        head += list(columns)
        rows = [[label(k), *[opening(name, k) for name in columns]] for k in order]
    return html.Table([
        html.Caption(i18n.t(locale, "table.of", title=title)),
        html.Thead(html.Tr([html.Th(h, scope="col") for h in head])),
        html.Tbody([html.Tr([html.Th(r[0], scope="row"), *[html.Td(c) for c in r[1:]]]) for r in rows]),
    ])
