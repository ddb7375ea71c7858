"""Browser-test helpers: clicks that wait for the page to settle, and charts drawn by Plotly."""
from __future__ import annotations

import time

from dash.testing.wait import until
from selenium.common.exceptions import ElementClickInterceptedException


def click_once_settled(element, timeout: float = 5) -> None:
    """Click ``element`` as a user would, once nothing lies over it any more.

    A popover is drawn, then moved into place, and a loading overlay can cover a control for a
    moment; a click aimed then would land on whatever lies over the target. Chromedriver refuses
    such a click without dispatching it, so trying again until the page has settled clicks once.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            element.click()
            return
        except ElementClickInterceptedException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


GRAPHS = ("graph-activity", "graph-funnel", "graph-trainings", "graph-groups", "graph-heatmap")
TRACES = """const plot = document.querySelector(arguments[0] + ' .js-plotly-plot');
return plot && plot.data ? plot.data.map(t => t.type) : null;"""


def traces(dash_duo, selector: str) -> list[str] | None:
    """The trace types Plotly drew in a graph (an empty-state figure has none)."""
    return dash_duo.driver.execute_script(TRACES, selector)


def wait_for_charts(dash_duo) -> None:
    for graph in GRAPHS:
        until(lambda: traces(dash_duo, f"#{graph}"), timeout=10)
