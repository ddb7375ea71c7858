"""Overview charts below the fold are drawn as they near the viewport (issue 12, assets/deferred-charts.js):
the figure the first layout carried, without a request to the server; a figure a filter brought meanwhile
is kept. Before Plotly draws, a bar chart's labels are measured (margins, angle) and a graph's first drawing
waits for a task of its own (assets/plotly-draw.js)."""
from __future__ import annotations

import json

import pytest
from dash.testing.wait import until

from tests.support.browser import traces
from tests.support.credentials import analyst_token, embed_token

pytestmark = pytest.mark.browser

CALLBACKS = "return performance.getEntriesByType('resource').filter(e => e.name.includes('_dash-update-component')).length"
FIGURE = """const plot = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');
return plot && plot.data ? JSON.stringify({data: plot.data, meta: plot.layout.meta || null}) : null;"""
SCROLL = "document.getElementById(arguments[0]).scrollIntoView({block: 'center'})"


def shown(dash_duo, graph: str) -> dict | None:
    text = dash_duo.driver.execute_script(FIGURE, graph)
    return json.loads(text) if text else None


def test_dc001_a_chart_below_the_fold_is_drawn_from_the_first_layout_when_scrolled_to(dash_duo, dash_app):
    dash_duo.start_server(dash_app)
    dash_duo.driver.set_window_size(412, 823)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/embed/overview?token={embed_token()}")
    until(lambda: traces(dash_duo, "#graph-activity"), timeout=10)
    until(lambda: shown(dash_duo, "graph-heatmap"), timeout=10)
    assert shown(dash_duo, "graph-heatmap") == {"data": [], "meta": "dv-deferred"}  # the blank placeholder
    dash_duo.driver.execute_script(SCROLL, "graph-heatmap")
    until(lambda: traces(dash_duo, "#graph-heatmap") == ["heatmap"], timeout=10)
    assert dash_duo.driver.execute_script(CALLBACKS) == 0  # the figure came with the page
    assert dash_duo.get_logs() == []


def test_dc002_a_figure_a_filter_brought_is_not_replaced_by_the_first_one(dash_duo, dash_app):
    dash_duo.start_server(dash_app)
    dash_duo.driver.set_window_size(412, 823)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/embed/overview?token={embed_token()}")
    until(lambda: traces(dash_duo, "#graph-activity"), timeout=10)
    until(lambda: shown(dash_duo, "graph-groups"), timeout=10)
    dash_duo.driver.execute_script("window.history.pushState({}, '', window.location.href + '&range=7d');"
                                   "window.dispatchEvent(new PopStateEvent('popstate'));")
    until(lambda: (shown(dash_duo, "graph-groups") or {}).get("meta") != "dv-deferred", timeout=10)
    filtered = shown(dash_duo, "graph-groups")
    dash_duo.driver.execute_script(SCROLL, "graph-groups")
    until(lambda: dash_duo.driver.execute_script(
        "return document.getElementById('graph-groups').getBoundingClientRect().top < window.innerHeight"), timeout=5)
    dash_duo.driver.execute_async_script("const done = arguments[0];"  # the observer has had its turn
                                         "requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 100)))")
    assert shown(dash_duo, "graph-groups") == filtered
    assert dash_duo.get_logs() == []


LABELS = """const plot = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');
if (!plot || !plot._fullLayout || !plot.data || !plot.data.length) return null;
const left = plot.getBoundingClientRect().left;
const labels = [...plot.querySelectorAll('.ytick text')].map(t => t.getBoundingClientRect().left - left);
return {margin: plot.layout.margin.l, drawn: plot._fullLayout._size.l, labels: labels};"""


def test_dc003_a_bar_charts_labels_fit_the_margin_measured_before_its_one_draw(dash_duo, dash_app):
    """The left margin of a horizontal bar chart is measured in the page's font before the figure is handed
    over: Plotly's automatic margin then has nothing to add (it would draw the chart a second time), and every
    label is inside the chart."""
    dash_duo.start_server(dash_app)
    dash_duo.driver.set_window_size(1350, 940)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/embed/overview?token={embed_token()}")
    until(lambda: traces(dash_duo, "#graph-activity"), timeout=10)
    for graph in ("graph-trainings", "graph-groups", "graph-overdue-trainings", "graph-overdue-groups"):
        dash_duo.driver.execute_script(SCROLL, graph)
        until(lambda: traces(dash_duo, f"#{graph}") == ["bar"], timeout=10)
        fit = dash_duo.driver.execute_script(LABELS, graph)
        assert fit["margin"] > 16, graph  # the builder's 16 px were widened to the labels
        assert fit["drawn"] == fit["margin"], graph  # nothing for Plotly to push: one draw
        assert fit["labels"] and min(fit["labels"]) >= 0, graph
    assert dash_duo.get_logs() == []


FIRST_DRAW = """const done = arguments[arguments.length - 1];
const gd = document.createElement('div');
document.querySelector('main').appendChild(gd);
const bars = y => ({data: [{type: 'bar', x: ['a'], y: [y]}], layout: {height: 200}});
const drawing = Plotly.react(gd, bars(1));
const seen = {installed: Plotly.react.dvDraw === true, atOnce: !!gd._fullLayout};
Promise.resolve().then(() => { seen.inItsMicrotasks = !!gd._fullLayout; });
drawing.then(() => {
  seen.drawn = gd._fullData[0].y[0];
  Plotly.react(gd, bars(2));
  seen.redrawnAtOnce = gd._fullData[0].y[0];
  gd.remove();
  done(seen);
});"""


def test_dc004_a_graphs_first_drawing_waits_for_a_task_of_its_own(dash_duo, dash_app):
    """dcc.Graph draws every graph React mounts in the task of the mount: on the overview, seven graphs at once,
    with the filters. A graph not drawn yet is drawn in a later task; one already drawn (a filter change, a
    figure handed over) at once. Plotly itself is loaded by the first graph, from the page's bundle."""
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/embed/overview?token={embed_token()}")
    until(lambda: traces(dash_duo, "#graph-activity"), timeout=10)
    seen = dash_duo.driver.execute_async_script(FIRST_DRAW)
    assert seen == {"installed": True, "atOnce": False, "inItsMicrotasks": False, "drawn": 1, "redrawnAtOnce": 2}
    # Plotly came from the page's own bundle once a graph needed it, not from Dash's full one
    loaded = dash_duo.driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).filter(n => /plotly[^/]*\\.js/.test(n))")
    assert [n.split("?")[0].rsplit("/", 1)[1] for n in loaded] == ["plotly-draw.js", "plotly-dataviz.min.js"], loaded
    assert dash_duo.driver.execute_script("return window._dashPlotlyJSURL") == dash_duo.driver.execute_script(
        "return document.documentElement.dataset.plotly")
    assert dash_duo.get_logs() == []


COLUMNS = """const plot = document.querySelector('.page-explore .js-plotly-plot');
if (!plot || !plot._fullLayout || !plot.data || !plot.data.length) return null;
const box = plot.getBoundingClientRect(), size = plot._fullLayout._size, margin = plot.layout.margin;
const labels = [...plot.querySelectorAll('.xtick text')].map(t => t.getBoundingClientRect());
return {angle: plot.layout.xaxis.tickangle === undefined ? null : plot.layout.xaxis.tickangle,
        pushed: size.b !== margin.b || size.r !== margin.r || size.l !== margin.l, count: labels.length,
        inside: labels.every(r => r.left >= box.left - 1 && r.right <= box.right + 1 && r.bottom <= box.bottom + 1)};"""


@pytest.mark.parametrize(("by", "width", "angle"), [("training", 1350, 30), ("format", 1350, 0), ("training", 412, None)])
def test_dc005_a_column_charts_labels_are_measured_before_its_one_draw(dash_duo, dash_app, by, width, angle):
    """Explore's vertical bars: the angle Plotly would choose and the margins the labels take at it are set
    before the first draw, so Plotly's automatic margin has nothing to add (it drew the chart three times);
    where the labels would leave the plot too little room (a phone, long names), Plotly makes the room itself."""
    dash_duo.start_server(dash_app)
    dash_duo.driver.set_window_size(width, 940)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/explore?token={analyst_token()}&by={by}")
    fit = until(lambda: dash_duo.driver.execute_script(COLUMNS), timeout=10)
    assert fit["count"] > 1 and fit["angle"] == angle, fit
    if angle is not None:
        assert not fit["pushed"] and fit["inside"], fit
    assert dash_duo.get_logs() == []
