"""The page draws from its first layout (issue 12): no callback round trip on load, none but the user's after.

The browser's own resource timing lists every request the page made: with the
numbers and figures in ``/_dash-layout``, none is a Dash callback until a
control changes; then the filter still reaches the data callback through the URL.
"""
from __future__ import annotations

import pytest
from dash.testing.wait import until
from flask import request

from tests.support.browser import wait_for_charts
from tests.support.credentials import analyst_token, embed_token

pytestmark = pytest.mark.browser

CALLBACKS = "return performance.getEntriesByType('resource').filter(e => e.name.includes('_dash-update-component')).length"


def kpi_texts(dash_duo) -> list[str]:
    return [e.text for e in dash_duo.find_elements(".kpi-value")]


def test_fp001_overview_shows_its_numbers_without_a_callback(dash_duo, dash_app):
    dash_duo.start_server(dash_app)
    dash_duo.driver.set_window_size(1300, 1700)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/embed/overview?token={embed_token()}")
    wait_for_charts(dash_duo)
    texts = kpi_texts(dash_duo)
    assert texts and "…" not in texts and "—" not in texts
    assert dash_duo.driver.execute_script(CALLBACKS) == 0
    before = texts
    dash_duo.driver.execute_script("window.history.pushState({}, '', window.location.href + '&range=7d');"
                                   "window.dispatchEvent(new PopStateEvent('popstate'));")
    until(lambda: kpi_texts(dash_duo) != before, timeout=10)  # the URL still drives the data callback
    assert dash_duo.driver.execute_script(CALLBACKS) >= 1
    assert dash_duo.get_logs() == []


def test_fp002_explore_shows_its_chart_and_rows_without_a_callback(dash_duo, dash_app):
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/explore?token={analyst_token()}")
    dash_duo.wait_for_element(".js-plotly-plot .plot-container", timeout=10)
    dash_duo.wait_for_element(".ag-row", timeout=10)
    assert dash_duo.driver.execute_script(CALLBACKS) == 0
    assert dash_duo.get_logs() == []


def test_fp003_a_browser_that_sends_no_referer_gets_the_page_from_the_route_callback(dash_duo, dash_app):
    @dash_app.server.before_request
    def no_referer():
        request.environ.pop("HTTP_REFERER", None)  # as a browser set never to send one

    dash_duo.start_server(dash_app)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/embed/overview?token={embed_token()}")
    wait_for_charts(dash_duo)
    texts = kpi_texts(dash_duo)
    assert texts and "…" not in texts and "—" not in texts
    assert dash_duo.driver.execute_script(CALLBACKS) >= 1  # the route, then what reads the URL as it is first set
    assert dash_duo.get_logs() == []
