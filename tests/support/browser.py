"""Browser-test helpers: clicks that wait for the page to settle, and charts drawn by Plotly."""
from __future__ import annotations

import json
import time
from pathlib import Path

from axe_selenium_python import Axe
from dash.testing.application_runners import ThreadedRunner
from dash.testing.wait import until
from selenium.common.exceptions import ElementClickInterceptedException


class FreePortRunner(ThreadedRunner):
    """dash_duo's app server on a free loopback port: dash's own runner counts ports up from 58050 in each
    process, so two pytest-xdist workers would both serve on 58050, and one's browser could reach the other's
    app (its readiness check asks only that something answers on the port)."""

    def start(self, app, start_timeout=3, **kwargs):
        from tests.support.services import free_port

        kwargs.setdefault("port", free_port())
        return super().start(app, start_timeout=start_timeout, **kwargs)


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
    """Every overview chart drawn. Those that start below the fold are drawn as they near the viewport
    (assets/deferred-charts.js): each is brought into view as a reader scrolling would, then the page
    is scrolled back to its top."""
    for graph in GRAPHS:
        dash_duo.wait_for_element(f"#{graph}", timeout=10)
        dash_duo.driver.execute_script("document.getElementById(arguments[0]).scrollIntoView({block: 'center'})",
                                       graph)
        until(lambda: traces(dash_duo, f"#{graph}"), timeout=10)
    dash_duo.driver.execute_script("window.scrollTo(0, 0)")


# axe-core from the npm registry at the version Lighthouse 12.2.3 runs (build/axe, `make axe`): the one
# axe-selenium-python ships (3.1.1, 2018) knows neither today's ARIA rules nor WCAG 2.1's.
AXE_SCRIPT = Path(__file__).resolve().parents[2] / "build" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
               "resultTypes": ["violations"]}


def axe_violations(driver) -> tuple[list[dict], str]:
    """axe-core's WCAG 2.1 A/AA and best-practice violations on the page as it is now, and a readable report."""
    assert AXE_SCRIPT.exists(), f"{AXE_SCRIPT} is missing: run `make axe`"
    axe = Axe(driver, script_url=str(AXE_SCRIPT))
    axe.inject()
    driver.set_script_timeout(30)
    violations = axe.run(options=json.dumps(AXE_OPTIONS))["violations"]
    markup = "".join(f"\n  {v['id']} {node['target']}: {node['html'][:300]}" for v in violations for node in v["nodes"])
    return violations, axe.report(violations) + "\nMarkup:" + markup
