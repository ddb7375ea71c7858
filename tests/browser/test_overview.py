"""The embedded overview in headless Chromium: values on screen, filters, locks, URL state, errors."""
from __future__ import annotations

import json
import time

import pytest
from selenium.webdriver.common.by import By
from dash.testing.wait import until
from selenium.webdriver.common.keys import Keys

from app import queries
from app.store import SnapshotStore
from app.view_state import parse, resolve_range
from layouts import i18n
from layouts.components import CARD_METRICS
from tests.support.browser import click_once_settled, wait_for_charts
from tests.support.credentials import OTHER_SECRET, TENANT, embed_token, expired_token

pytestmark = pytest.mark.browser


def expected_kpis(snapshot, search: str, filters: dict, locale: str = "en") -> dict[str, str]:
    start, end = resolve_range(parse(search), snapshot.data_as_of)
    values = queries.kpis(snapshot, TENANT, start, end, filters)
    return {m: i18n.metric_value(m, values[m], locale) for m in CARD_METRICS}  # TENANT has assignments


def wait_for_kpis(dash_duo, expected: dict[str, str]) -> None:
    for metric, text in expected.items():
        dash_duo.wait_for_text_to_equal(f'[data-metric="{metric}"] .kpi-value', text, timeout=10)


def test_overview001_renders_every_kpi_and_chart(dash_duo, dash_app, generated_snapshot_dir, artifacts):
    snapshot = SnapshotStore(generated_snapshot_dir).current()
    dash_duo.start_server(dash_app)
    dash_duo.driver.set_window_size(1300, 1700)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/embed/overview?token={embed_token()}")
    wait_for_kpis(dash_duo, expected_kpis(snapshot, "", {}))
    wait_for_charts(dash_duo)
    assert dash_duo.find_element("#p-overview-as-of").text == "Data as of October 31, 2026"
    assert "could not be drawn" not in dash_duo.driver.page_source
    dash_duo.driver.save_screenshot(str(artifacts / "overview.png"))

    pick(dash_duo, "range", "Last 7 days")
    wait_for_kpis(dash_duo, expected_kpis(snapshot, "?range=7d", {}))
    assert "range=7d" in dash_duo.driver.current_url
    until(lambda: date_inputs(dash_duo) == ["2026-10-25", "2026-10-31"], timeout=10)
    until(lambda: bar_count(dash_duo) == 7, timeout=10)  # one bar a day
    click_once_settled(dash_duo.find_element('input[type="radio"][value="week"]'))
    until(lambda: bar_count(dash_duo) == 2, timeout=10)  # 2026-10-25 is a Sunday: two ISO weeks
    assert "gran=week" in dash_duo.driver.current_url
    assert dash_duo.get_logs() == []


def date_inputs(dash_duo) -> list[str]:
    return [i.get_attribute("value") for i in
            dash_duo.driver.find_elements(By.CSS_SELECTOR, '[data-field="dates"] input')]


def bar_count(dash_duo) -> int:
    return dash_duo.driver.execute_script(
        "return document.querySelector('#graph-activity .js-plotly-plot').data[0].x.length")


def pick(dash_duo, field: str, label: str) -> None:
    """Choose ``label`` in the dropdown of a filter-bar field, then close the menu."""
    click_once_settled(dash_duo.find_element(f'[data-field="{field}"] .dash-dropdown'))
    options = dash_duo.wait_for_element(".dash-dropdown-options")
    until(lambda: any(o.text == label for o in options.find_elements(By.CSS_SELECTOR, ".dash-dropdown-option")),
          timeout=5)
    click_once_settled(next(o for o in options.find_elements(By.CSS_SELECTOR, ".dash-dropdown-option")
                            if o.text == label))
    dash_duo.find_element("body").send_keys(Keys.ESCAPE)


def script_click(dash_duo, field: str) -> None:
    dash_duo.driver.execute_script("arguments[0].click()", dash_duo.find_element(f'[data-field="{field}"] .dash-dropdown'))


def test_overview002_filters_and_range_live_in_the_url(dash_duo, dash_app, generated_snapshot_dir):
    snapshot = SnapshotStore(generated_snapshot_dir).current()
    token = embed_token()
    opened = "&range=90d&country=FR&gran=week"
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/embed/overview?token={token}{opened}")
    wait_for_kpis(dash_duo, expected_kpis(snapshot, opened, {"country": ["FR"]}))
    assert dash_duo.find_element('[data-field="range"]').text.endswith("Last 90 days")
    assert "FR" in dash_duo.find_element('[data-field="country"]').text
    assert dash_duo.find_element('#graph-activity').find_element(By.XPATH, "ancestor::section").find_element(
        By.CSS_SELECTOR, 'input[value="week"]').is_selected()

    pick(dash_duo, "group", "Sales")
    until(lambda: "group=Sales" in dash_duo.driver.current_url, timeout=10)
    assert dash_duo.driver.current_url.startswith(f"{dash_duo.server_url}/embed/overview?token={token}&")
    wait_for_kpis(dash_duo, expected_kpis(snapshot, opened, {"country": ["FR"], "group": ["Sales"]}))
    wait_for_charts(dash_duo)

    dash_duo.driver.back()
    until(lambda: "group=" not in dash_duo.driver.current_url, timeout=10)
    wait_for_kpis(dash_duo, expected_kpis(snapshot, opened, {"country": ["FR"]}))
    until(lambda: "Sales" not in dash_duo.find_element('[data-field="group"]').text, timeout=10)
    dash_duo.driver.forward()
    wait_for_kpis(dash_duo, expected_kpis(snapshot, opened, {"country": ["FR"], "group": ["Sales"]}))
    until(lambda: "Sales" in dash_duo.find_element('[data-field="group"]').text, timeout=10)

    dash_duo.driver.get(dash_duo.driver.current_url)  # a link reopens the same view
    wait_for_kpis(dash_duo, expected_kpis(snapshot, opened, {"country": ["FR"], "group": ["Sales"]}))
    assert dash_duo.get_logs() == []


def test_overview003_locked_filter_is_applied_and_cannot_change(dash_duo, dash_app, generated_snapshot_dir):
    snapshot = SnapshotStore(generated_snapshot_dir).current()
    token = embed_token(filters={"group": ["Sales"]})
    dash_duo.start_server(dash_app)
    # The URL asks for another group: the lock wins.
    dash_duo.wait_for_page(f"{dash_duo.server_url}/embed/overview?token={token}&group=HR")
    wait_for_kpis(dash_duo, expected_kpis(snapshot, "", {"group": ["Sales"]}))
    field = dash_duo.find_element('[data-field="group"]')
    assert "Locked" in field.find_element(By.CSS_SELECTOR, ".lock-label").text
    trigger = field.find_element(By.CSS_SELECTOR, "button, [role=combobox]")
    assert trigger.get_attribute("disabled") is not None or trigger.get_attribute("aria-disabled") == "true"
    # A click the way a script makes it (whatever lies over the target: the lock label can) opens a free
    # dropdown, but not the locked one.
    script_click(dash_duo, "country")
    dash_duo.wait_for_element(".dash-dropdown-options")
    dash_duo.find_element("body").send_keys(Keys.ESCAPE)
    until(lambda: not dash_duo.driver.find_elements(By.CSS_SELECTOR, ".dash-dropdown-options"), timeout=5)
    script_click(dash_duo, "group")
    time.sleep(0.5)  # what would open has opened by now: the free dropdown above did at once
    assert not dash_duo.driver.find_elements(By.CSS_SELECTOR, ".dash-dropdown-options")
    pick(dash_duo, "country", "FR")
    wait_for_kpis(dash_duo, expected_kpis(snapshot, "", {"group": ["Sales"], "country": ["FR"]}))
    assert "Sales" in field.text
    assert dash_duo.get_logs() == []


def test_overview005_a_locked_dashboard_holds_no_other_value_of_its_lock(dash_duo, dash_app, generated_snapshot_dir):
    """Issue 13, item 8: a dashboard locked to group=Sales had every group of the tenant in its dropdown's
    options. Everything the page received (the layout and each callback's answer, as the renderer keeps
    them) names no other group, after a filter change too."""
    snapshot = SnapshotStore(generated_snapshot_dir).current()
    values = queries.filter_values(snapshot, TENANT)
    groups = [o["key"] for o in values["group"]]
    elsewhere = {o[part] for dim, options in values.items() if dim != "group" for o in options for part in o}
    hidden = [g for g in groups if g != "Sales" and g not in elsewhere]
    assert "Sales" in groups and hidden
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/embed/overview?token={embed_token(filters={'group': ['Sales']})}")
    wait_for_kpis(dash_duo, expected_kpis(snapshot, "", {"group": ["Sales"]}))
    pick(dash_duo, "country", "FR")
    wait_for_kpis(dash_duo, expected_kpis(snapshot, "", {"group": ["Sales"], "country": ["FR"]}))
    received = dash_duo.driver.execute_script("return JSON.stringify(window.store.getState().layout)")
    assert '"Sales"' in received
    assert [g for g in hidden if json.dumps(g) in received] == []
    assert dash_duo.get_logs() == []


def only_the_401(dash_duo) -> None:
    """Chromium logs the page's own 401 as a network error: that one, and nothing else, is expected."""
    logs = dash_duo.get_logs()
    assert [(entry["source"], "status of 401" in entry["message"]) for entry in logs] == [("network", True)], logs
    dash_duo.reset_log_timestamp()


def test_overview004_forged_or_expired_token_shows_the_error_page(dash_duo, dash_app):
    dash_duo.start_server(dash_app)
    for token, reason in ((embed_token(secret=OTHER_SECRET), "not valid"), (expired_token(), "expired")):
        dash_duo.driver.get(f"{dash_duo.server_url}/embed/overview?token={token}")
        dash_duo.wait_for_text_to_equal("#auth-error h1", "This dashboard cannot be shown")
        assert reason in dash_duo.find_element("#auth-error").text
        assert not dash_duo.driver.find_elements(By.CSS_SELECTOR, ".kpi")
        only_the_401(dash_duo)
    assert dash_duo.get_logs() == []
