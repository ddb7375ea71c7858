"""Keyboard only, in headless Chromium: TAB reaches every control in page order with a visible focus ring
(3:1 against what lies behind it, WCAG 2.4.7 and 1.4.11), and each kind of control works from the keyboard."""
from __future__ import annotations

import pytest
from dash.testing.wait import until
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.support.browser import wait_for_charts
from tests.support.credentials import analyst_token, embed_token

pytestmark = pytest.mark.browser

# Every control a user can operate, one entry per tab stop: a radio group is one stop (its checked radio), and
# so is the grid (AG Grid moves focus inside it with the arrow keys; GRID tells whether TAB entered it).
GRID = ".ag-root-wrapper"
CONTROLS = """
const tabbable = 'a[href], button, input, select, textarea, summary, [tabindex]';
const visible = e => e.checkVisibility({visibilityProperty: true, checkVisibilityCSS: true});  // a closed <details> too
return [...document.querySelectorAll(tabbable)].filter(e =>
  e.tabIndex >= 0 && !e.disabled && visible(e) && !e.closest('[aria-hidden="true"], [inert], .ag-root-wrapper')
  && !(e.type === 'radio' && !e.checked && document.querySelector(`input[name="${CSS.escape(e.name)}"]:checked`)));
"""
# The focused element's outline (or, failing one, its box shadow) and its contrast against the nearest opaque
# background behind it.
FOCUS_RING = """
const e = document.activeElement, s = getComputedStyle(e);
const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
const lum = ([r, g, b]) => { const f = v => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
                             return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
let back = e.parentElement, bg = [255, 255, 255];
for (; back; back = back.parentElement) {
  const c = rgb(getComputedStyle(back).backgroundColor);
  if (c.length === 3 || (c.length === 4 && c[3] === 1)) { bg = c.slice(0, 3); break; }
}
const width = parseFloat(s.outlineWidth) || 0, shown = s.outlineStyle !== 'none' && width >= 2;
const color = rgb(shown ? s.outlineColor : '').slice(0, 3);
const [hi, lo] = [lum(color), lum(bg)].sort((a, b) => b - a);
return {shown, width, contrast: shown ? (hi + 0.05) / (lo + 0.05) : 0,
        what: e.outerHTML.slice(0, 160)};
"""


def walk(dash_duo, limit: int = 120) -> list:
    """TAB from the top of the page until focus leaves it or comes back round; each stop with its focus ring."""
    driver = dash_duo.driver
    driver.execute_script("document.activeElement && document.activeElement.blur(); window.focus()")
    reached, rings = [], []
    for _ in range(limit):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        element = driver.switch_to.active_element
        if element.tag_name == "body" or (reached and element == reached[0]):
            break  # past the last control (or focus lost: the controls not reached are then listed)
        if element.tag_name == "iframe":  # the embedded page: walked on its own
            continue
        reached.append(element)
        rings.append(driver.execute_script(FOCUS_RING))
    return list(zip(reached, rings))


def assert_every_control_reached_with_a_visible_focus(dash_duo) -> None:
    controls = dash_duo.driver.execute_script(CONTROLS)
    # TAB walks a grid cell by cell: a grid before another (explore's learners) takes a stop per drawn cell
    cells = dash_duo.driver.find_elements(By.CSS_SELECTOR, f"{GRID} .ag-cell, {GRID} .ag-header-cell")
    stops = walk(dash_duo, limit=len(controls) + 5 + len(cells))
    reached = [element for element, _ in stops]
    missed = [c.get_attribute("outerHTML")[:160] for c in controls if c not in reached]
    assert missed == [], f"never reached with TAB: {missed}"
    for grid in dash_duo.driver.find_elements(By.CSS_SELECTOR, GRID):
        assert any(dash_duo.driver.execute_script("return arguments[0].contains(arguments[1])", grid, element)
                   for element in reached), "TAB never entered the grid"
    faint = [ring for _, ring in stops if not ring["shown"] or ring["contrast"] < 3]
    assert faint == [], f"focus not visible (outline of 2px or more, 3:1 or more): {faint}"


def focus(dash_duo, selector: str):
    element = dash_duo.find_element(selector)
    dash_duo.driver.execute_script("arguments[0].focus()", element)
    assert dash_duo.driver.switch_to.active_element == element
    return element


def press(dash_duo, *keys) -> None:
    for key in keys:
        ActionChains(dash_duo.driver).send_keys(key).perform()


def focused_in(dash_duo, selector: str) -> bool:
    return dash_duo.driver.execute_script("return !!document.activeElement.closest(arguments[0])", selector)


def choose_with_keys(dash_duo, field: str) -> None:
    """Open a dropdown with Enter, move to a neighbouring option with an arrow key, pick it with Enter: the URL
    follows (the field's name is its URL parameter)."""
    focus(dash_duo, f'[data-field="{field}"] button.dash-dropdown')
    press(dash_duo, Keys.ENTER)
    until(lambda: focused_in(dash_duo, ".dash-dropdown-content"), timeout=5)  # the menu takes the focus
    if not focused_in(dash_duo, ".dash-dropdown-options"):  # on the search box: down into the options
        press(dash_duo, Keys.ARROW_DOWN)
        until(lambda: focused_in(dash_duo, ".dash-dropdown-options"), timeout=5)
    last = dash_duo.driver.execute_script(
        "const o = document.activeElement.closest('.dash-dropdown-option'); return !o.nextElementSibling")
    before = dash_duo.driver.switch_to.active_element
    press(dash_duo, Keys.ARROW_UP if last else Keys.ARROW_DOWN)
    until(lambda: dash_duo.driver.switch_to.active_element != before, timeout=5)
    value = dash_duo.driver.switch_to.active_element.get_attribute("value")
    ring = dash_duo.driver.execute_script(FOCUS_RING)
    assert ring["shown"] and ring["contrast"] >= 3, ring  # the menu is drawn outside the page's root
    press(dash_duo, Keys.ENTER)
    until(lambda: f"{field}={value}" in dash_duo.driver.current_url, timeout=10)
    press(dash_duo, Keys.ESCAPE)
    until(lambda: not dash_duo.driver.find_elements(By.CSS_SELECTOR, ".dash-dropdown-options"), timeout=5)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_keyboard001_overview(dash_duo, dash_app, theme):
    dash_duo.start_server(dash_app)
    dash_duo.driver.set_window_size(1300, 1000)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/embed/overview?token={embed_token(locale='fr', theme=theme)}")
    wait_for_charts(dash_duo)
    assert_every_control_reached_with_a_visible_focus(dash_duo)

    choose_with_keys(dash_duo, "range")
    choose_with_keys(dash_duo, "country")
    focus(dash_duo, '[data-field="dates"] input')
    press(dash_duo, Keys.ARROW_DOWN)
    dash_duo.wait_for_element(".dash-datepicker-content")
    press(dash_duo, Keys.ESCAPE)
    until(lambda: not dash_duo.driver.find_elements(By.CSS_SELECTOR, ".dash-datepicker-content"), timeout=5)
    focus(dash_duo, ".choice input:checked")
    press(dash_duo, Keys.ARROW_RIGHT)
    until(lambda: "gran=" in dash_duo.driver.current_url, timeout=10)
    focus(dash_duo, ".chart-data summary")
    press(dash_duo, Keys.ENTER)
    until(lambda: table_shown(dash_duo), timeout=5)
    assert dash_duo.get_logs() == []


def table_shown(dash_duo) -> bool:
    """The first chart's table is shown; the granularity's answer may replace it while we look (stale)."""
    try:
        tables = dash_duo.find_elements(".chart-data table")  # handed over as the disclosure opens
        return bool(tables) and tables[0].is_displayed()
    except StaleElementReferenceException:
        return False


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_keyboard002_explore(dash_duo, dash_app, theme):
    dash_duo.start_server(dash_app)
    dash_duo.driver.set_window_size(1300, 1000)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/explore?token={analyst_token(theme=theme)}&by=group")
    until(lambda: dash_duo.driver.find_elements(By.CSS_SELECTOR, "#grid-explore .ag-row"), timeout=10)
    dash_duo.wait_for_element(".grid-box[data-sized]", timeout=10)  # the grid is shown once its columns are sized
    until(lambda: dash_duo.driver.find_elements(By.CSS_SELECTOR, ".page-explore .js-plotly-plot .trace"), timeout=10)
    assert_every_control_reached_with_a_visible_focus(dash_duo)
    choose_with_keys(dash_duo, "tenant")
    assert dash_duo.get_logs() == []


def test_keyboard003_demo_switches_theme_and_locale(dash_duo, dash_app):
    dash_duo.start_server(dash_app)
    dash_duo.driver.get(f"{dash_duo.server_url}/demo")
    assert_every_control_reached_with_a_visible_focus(dash_duo)
    for name, value in (("locale", "fr"), ("theme", "dark")):
        focus(dash_duo, f'select[name="{name}"]')
        press(dash_duo, Keys.ARROW_DOWN)  # a closed select changes its value with the arrow keys
        until(lambda: dash_duo.find_element(f'select[name="{name}"]').get_attribute("value") == value, timeout=5)
    focus(dash_duo, "#demo-form button[type=submit]")
    press(dash_duo, Keys.ENTER)
    until(lambda: "locale=fr" in dash_duo.driver.current_url and "theme=dark" in dash_duo.driver.current_url,
          timeout=10)
