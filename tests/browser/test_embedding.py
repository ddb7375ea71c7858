"""Embedding in headless Chromium: theme and locale from the token, and the iframe resizing on /demo."""
from __future__ import annotations

import pytest
from dash.testing.wait import until
from selenium.webdriver.common.by import By

from app import queries
from app.store import SnapshotStore
from layouts import i18n
from layouts.components import CARD_METRICS
from tests.support.browser import wait_for_charts
from tests.support.credentials import TENANT, embed_token

pytestmark = pytest.mark.browser


def test_embed001_dark_theme_and_french_locale(dash_duo, dash_app, generated_snapshot_dir, artifacts):
    snapshot = SnapshotStore(generated_snapshot_dir).current()
    start, end = queries.default_range(snapshot)
    values = queries.kpis(snapshot, TENANT, start, end, {})
    dash_duo.start_server(dash_app)
    dash_duo.driver.set_window_size(1300, 1500)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/embed/overview?token={embed_token(locale='fr', theme='dark')}")
    for metric in CARD_METRICS:  # TENANT has assignments: its compliance cards show
        dash_duo.wait_for_text_to_equal(f'[data-metric="{metric}"] .kpi-value',
                                        i18n.metric_value(metric, values[metric], "fr").replace("\xa0", " "),
                                        timeout=10)  # WebDriver reads a no-break space as a space
    wait_for_charts(dash_duo)
    assert "\u202f" in dash_duo.find_element('[data-metric="connections"] .kpi-value').text  # 2 945
    assert dash_duo.find_element("h1").text == "Vue d’ensemble de la formation"
    assert dash_duo.find_element("#p-overview-as-of").text == "Données au 31 octobre 2026"
    assert "Taux d’achèvement" in dash_duo.find_element('[data-metric="completion_rate"]').text
    assert "theme-dark" in dash_duo.find_element("#div-root").get_attribute("class")
    background = dash_duo.driver.execute_script("return getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)"
    dash_duo.driver.save_screenshot(str(artifacts / "overview-dark-fr.png"))
    assert dash_duo.get_logs() == []


FRAME_HEIGHT = "return document.getElementById('dataviz-frame').getBoundingClientRect().height"


def test_embed002_iframe_follows_the_dashboard_height(dash_duo, dash_app):
    dash_duo.start_server(dash_app)
    dash_duo.driver.get(f"{dash_duo.server_url}/demo?tenant={TENANT}&group=Sales")
    driver = dash_duo.driver
    frame = dash_duo.find_element("#dataviz-frame")
    driver.switch_to.frame(frame)
    dash_duo.wait_for_element('[data-metric="connections"] .kpi-value')
    wait_for_charts(dash_duo)
    assert "Locked" in dash_duo.find_element('[data-field="group"]').text
    content = lambda: driver.execute_script("return Math.ceil(document.body.getBoundingClientRect().height)")
    driver.switch_to.default_content()
    until(lambda: abs(driver.execute_script(FRAME_HEIGHT) - content_in_frame(driver, frame, content)) <= 1,
          timeout=10)
    settled = driver.execute_script(FRAME_HEIGHT)
    assert settled > 800  # grew from the host's 600 px

    driver.switch_to.frame(frame)
    driver.execute_script("const d = document.createElement('div'); d.id = 'filler';"
                          "d.style.height = '1000px'; document.body.appendChild(d);")
    driver.switch_to.default_content()
    until(lambda: driver.execute_script(FRAME_HEIGHT) >= settled + 1000, timeout=10)

    driver.switch_to.frame(frame)
    driver.execute_script("document.getElementById('filler').remove()")
    driver.switch_to.default_content()
    until(lambda: abs(driver.execute_script(FRAME_HEIGHT) - settled) <= 1, timeout=10)
    until(lambda: len(dash_duo.driver.find_elements(By.CSS_SELECTOR, "#kpi-widget-values dd")) == 4, timeout=10)
    assert dash_duo.get_logs() == []


def content_in_frame(driver, frame, measure) -> int:
    driver.switch_to.frame(frame)
    try:
        return measure()
    finally:
        driver.switch_to.default_content()
