"""WCAG 2.1 AA in headless Chromium: axe-core finds no violation on any page, in either theme or locale, in
the states a user reaches (a dropdown open, the date picker open, a chart's data table shown)."""
from __future__ import annotations

import pytest
from dash.testing.wait import until
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.support.browser import axe_violations, click_once_settled, wait_for_charts
from tests.support.credentials import OTHER_SECRET, analyst_token, embed_token, expired_token

pytestmark = pytest.mark.browser
THEMES = ("light", "dark")
LOCALES = ("en", "fr")


def assert_no_violations(dash_duo, state: str) -> None:
    violations, report = axe_violations(dash_duo.driver)
    assert violations == [], f"{state}: {report}"


def open_dropdown(dash_duo, selector: str) -> None:
    click_once_settled(dash_duo.find_element(f"{selector} .dash-dropdown"))
    dash_duo.wait_for_element(".dash-dropdown-options .dash-dropdown-option")


def close_popups(dash_duo) -> None:
    dash_duo.find_element("body").send_keys(Keys.ESCAPE)
    until(lambda: not dash_duo.driver.find_elements(By.CSS_SELECTOR, ".dash-dropdown-options"), timeout=5)


def open_date_picker(dash_duo) -> None:
    click_once_settled(dash_duo.find_element('[data-field="dates"] input'))
    until(lambda: dash_duo.driver.find_elements(By.CSS_SELECTOR, '[role="dialog"], .dash-datepicker-calendar, '
                                                                  '.DayPicker, [class*="calendar"]'), timeout=5)


def show_table(dash_duo, card: str) -> None:
    """Open the data table of the ``card``-th chart (from 1)."""
    card = dash_duo.find_elements(".card:has(.chart-data)")[card - 1]
    click_once_settled(card.find_element(By.CSS_SELECTOR, "summary"))
    # the table is handed over as its disclosure opens (assets/deferred-charts.js)
    until(lambda: [t for t in card.find_elements(By.CSS_SELECTOR, "table") if t.is_displayed()], timeout=5)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("theme", THEMES)
def test_a11y001_overview(dash_duo, dash_app, theme, locale):
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/embed/overview?token={embed_token(locale=locale, theme=theme)}")
    wait_for_charts(dash_duo)
    assert_no_violations(dash_duo, "overview")
    open_dropdown(dash_duo, '[data-field="range"]')
    assert_no_violations(dash_duo, "period dropdown open")
    close_popups(dash_duo)
    open_dropdown(dash_duo, '[data-field="group"]')
    assert_no_violations(dash_duo, "group dropdown open")
    close_popups(dash_duo)
    open_date_picker(dash_duo)
    assert_no_violations(dash_duo, "date picker open")
    close_popups(dash_duo)
    show_table(dash_duo, 1)
    show_table(dash_duo, 5)  # the heatmap's: wider than its card
    assert_no_violations(dash_duo, "data tables shown")
    assert dash_duo.get_logs() == []


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("theme", THEMES)
def test_a11y002_explore(dash_duo, dash_app, theme, locale):
    dash_duo.start_server(dash_app)
    token = analyst_token(locale=locale, theme=theme)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/explore?token={token}&by=group&group=Sales")
    until(lambda: dash_duo.driver.find_elements(By.CSS_SELECTOR, "#grid-explore .ag-row"), timeout=10)
    dash_duo.wait_for_element(".grid-box[data-sized]", timeout=10)  # the grid is shown once its columns are sized
    until(lambda: dash_duo.driver.find_elements(By.CSS_SELECTOR, ".page-explore .js-plotly-plot .trace"), timeout=10)
    assert_no_violations(dash_duo, "explore, a filter chip shown")
    open_dropdown(dash_duo, '[data-field="tenant"]')
    assert_no_violations(dash_duo, "tenant dropdown open")
    close_popups(dash_duo)
    open_date_picker(dash_duo)
    assert_no_violations(dash_duo, "date picker open")
    close_popups(dash_duo)
    show_table(dash_duo, 1)
    assert_no_violations(dash_duo, "data table shown")
    assert dash_duo.get_logs() == []


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("theme", THEMES)
def test_a11y003_demo(dash_duo, dash_app, theme, locale):
    dash_duo.start_server(dash_app)
    dash_duo.driver.get(f"{dash_duo.server_url}/demo?locale={locale}&theme={theme}")
    until(lambda: dash_duo.find_element("#kpi-widget-values").text, timeout=10)
    assert_no_violations(dash_duo, "demo")
    assert dash_duo.get_logs() == []


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("theme", THEMES)
def test_a11y004_unknown_page(dash_duo, dash_app, theme, locale):
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/embed/nothing?token={embed_token(locale=locale, theme=theme)}")
    dash_duo.wait_for_element(".message")
    assert_no_violations(dash_duo, "unknown page")
    assert dash_duo.get_logs() == []


@pytest.mark.parametrize("token", ["forged", "expired"])
@pytest.mark.parametrize("theme", THEMES)
def test_a11y005_refused_token(dash_duo, dash_app, theme, token):
    """The refusal page cannot trust the token's theme or locale: it follows the browser's colour scheme and
    says it in both languages."""
    dash_duo.start_server(dash_app)
    dash_duo.driver.execute_cdp_cmd("Emulation.setEmulatedMedia",
                                    {"features": [{"name": "prefers-color-scheme", "value": theme}]})
    value = embed_token(secret=OTHER_SECRET) if token == "forged" else expired_token()
    dash_duo.driver.get(f"{dash_duo.server_url}/embed/overview?token={value}")
    dash_duo.wait_for_element("#auth-error h1")
    assert_no_violations(dash_duo, f"{token} token")


def test_a11y006_landing_page(dash_duo, dash_app):
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_element("#p-snapshot")
    assert_no_violations(dash_duo, "landing page")
    assert dash_duo.get_logs() == []
