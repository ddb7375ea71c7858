"""Explore's grids come after its chart (issue 12, assets/deferred-grids.js): AG Grid's bundle is fetched once
the chart is on screen, and a grid is mounted from its store's latest content, so an answer that arrived
before it is what it shows, and each answer after it reaches it."""
from __future__ import annotations

import pytest
from dash.testing.wait import until
from selenium.webdriver.common.by import By

from layouts import ids
from layouts.explore import grid_height
from tests.support.credentials import analyst_token

pytestmark = pytest.mark.browser

# Set before the page's own scripts: when the chart's first SVG is in the document.
CHART_DRAWN_AT = """window.dvChartDrawnAt = null;
new MutationObserver(function () {
  if (window.dvChartDrawnAt === null && document.querySelector('.page-explore .js-plotly-plot .main-svg')) {
    window.dvChartDrawnAt = performance.now();
  }
}).observe(document, {subtree: true, childList: true});"""
GRID_FETCHES = """return performance.getEntriesByType('resource').filter(e => e.name.includes('/dash_ag_grid/'))
  .map(e => [e.name.split('?')[0].split('/').pop(), e.startTime]);"""
ROWS = "return document.querySelectorAll('#%s .ag-center-cols-container .ag-row').length" % ids.GRID_EXPLORE
HEADERS = "return [...document.querySelectorAll('#%s .ag-header-cell-text')].map(h => h.textContent)" % ids.GRID_EXPLORE


def test_dg001_the_grid_bundle_is_fetched_after_the_chart_is_drawn(dash_duo, dash_app):
    dash_duo.start_server(dash_app)
    dash_duo.driver.set_window_size(1350, 940)
    dash_duo.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CHART_DRAWN_AT})
    dash_duo.wait_for_page(f"{dash_duo.server_url}/explore?token={analyst_token()}&by=training")
    until(lambda: dash_duo.driver.execute_script(ROWS), timeout=10)
    drawn = dash_duo.driver.execute_script("return window.dvChartDrawnAt")
    fetches = dash_duo.driver.execute_script(GRID_FETCHES)
    assert drawn is not None and fetches, (drawn, fetches)
    names = [name for name, _ in fetches]
    assert names[0].startswith("dash_ag_grid.v") and names[0].endswith(".min.js"), names
    assert all(start > drawn for _, start in fetches), (drawn, fetches)
    # the page itself has no script of AG Grid: only the one deferred-grids.js added, once
    assert len(dash_duo.driver.find_elements(By.CSS_SELECTOR, "script[src*='/dash_ag_grid/']")) == 1
    assert dash_duo.get_logs() == []


def test_dg002_the_mounted_grid_follows_each_new_answer_rows_columns_and_height(dash_duo, dash_app):
    dash_duo.start_server(dash_app)
    dash_duo.driver.set_window_size(1350, 940)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/explore?token={analyst_token()}&by=training")
    until(lambda: dash_duo.driver.execute_script(ROWS), timeout=10)
    assert dash_duo.driver.execute_script(HEADERS)[:2] == ["Training", "Key"]
    # a line over time: its periods and values replace the trainings, and the grid's height follows its rows
    dash_duo.find_element(".page-explore input[value='line']").click()
    until(lambda: dash_duo.driver.execute_script(HEADERS)[:1] == ["Period"], timeout=10)
    rows = dash_duo.driver.execute_script(
        "return dash_ag_grid.getApi(arguments[0]).getDisplayedRowCount()", ids.GRID_EXPLORE)
    height = dash_duo.find_element(f"#{ids.GRID_EXPLORE}").size["height"]
    assert rows > 0 and abs(height - grid_height(rows)) <= 1, (rows, height)
    assert dash_duo.get_logs() == []


def test_dg003_a_failed_download_of_the_grid_bundle_is_tried_again(dash_duo, dash_app):
    """A dropped connection must not leave explore without its table until the page is reloaded."""
    dash_duo.start_server(dash_app)
    dash_duo.driver.execute_cdp_cmd("Network.enable", {})
    dash_duo.driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/dash_ag_grid/*"]})
    dash_duo.wait_for_page(f"{dash_duo.server_url}/explore?token={analyst_token()}&by=training")
    until(lambda: dash_duo.driver.execute_script(
        "return performance.getEntriesByType('resource').some(e => e.name.includes('/dash_ag_grid/'))"), timeout=10)
    assert not dash_duo.driver.execute_script(ROWS)
    dash_duo.driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    until(lambda: dash_duo.driver.execute_script(ROWS), timeout=15)
    assert len(dash_duo.driver.find_elements(By.CSS_SELECTOR, "script[src*='/dash_ag_grid/']")) == 1
