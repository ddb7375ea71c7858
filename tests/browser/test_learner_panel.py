"""Issue 15 in headless Chromium: a KPI card opens its learners, a name their trainings, back and forward walk
the drill-down, Escape closes the panel, and axe-core finds no violation with the panel open."""
from __future__ import annotations

import datetime as dt

import pytest
from dash.testing.wait import until
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from app import learners
from app.store import SnapshotStore
from app.view_state import parse, resolve_range
from layouts import i18n
from tests.support.browser import axe_violations, click_once_settled, wait_for_charts
from tests.support.credentials import TENANT, embed_token

pytestmark = pytest.mark.browser


def panel_open(dash_duo) -> bool:
    return dash_duo.driver.execute_script("const p = document.getElementById('section-learners');"
                                          " return !!p && !p.hidden;")


def names(dash_duo) -> list[str]:
    return [b.text for b in dash_duo.driver.find_elements(By.CSS_SELECTOR, "#div-learners-body .link-button")]


def test_learners001_a_kpi_card_opens_its_learners_a_name_their_trainings_back_walks_back(
        dash_duo, dash_app, generated_snapshot_dir):
    snapshot = SnapshotStore(generated_snapshot_dir).current()
    start, end = resolve_range(parse(""), snapshot.data_as_of)
    page = learners.learner_page(snapshot, TENANT, start, end, {}, "completed", learners.DEFAULT_SORT, None, 25)
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/embed/overview?token={embed_token(learners=True)}")
    wait_for_charts(dash_duo)
    assert not panel_open(dash_duo)
    card = dash_duo.find_element('button.kpi-button[data-metric="completions"]')
    click_once_settled(card)
    until(lambda: names(dash_duo) == [n or u for n, u in zip(page.rows["name"], page.rows["user_id"])], timeout=10)
    assert "cohort=completed" in dash_duo.driver.current_url
    until(lambda: dash_duo.driver.switch_to.active_element.get_attribute("id") == "h2-learners", timeout=5)

    click_once_settled(dash_duo.find_element("#div-learners-body .link-button"))
    dash_duo.wait_for_element(".learner-trainings table", timeout=10)
    user = page.rows["user_id"].iloc[0]
    assert parse(dash_duo.driver.current_url.split("?", 1)[1]).learner == user
    found = learners.learner_trainings(snapshot, TENANT, user, {})
    rows = dash_duo.driver.find_elements(By.CSS_SELECTOR, ".learner-trainings tbody tr")
    assert len(rows) == len(found["trainings"])

    dash_duo.driver.back()  # the list again
    until(lambda: "learner=" not in dash_duo.driver.current_url and len(names(dash_duo)) == len(page.rows),
          timeout=10)
    dash_duo.driver.back()  # the page before the panel was opened
    until(lambda: "cohort=" not in dash_duo.driver.current_url and not panel_open(dash_duo), timeout=10)
    dash_duo.driver.forward()
    until(lambda: panel_open(dash_duo) and len(names(dash_duo)) == len(page.rows), timeout=10)

    dash_duo.find_element("body").send_keys(Keys.ESCAPE)  # Escape closes, and the URL says so
    until(lambda: not panel_open(dash_duo) and "cohort=" not in dash_duo.driver.current_url, timeout=10)
    assert dash_duo.get_logs() == []


def test_learners002_without_the_claim_the_cards_are_not_buttons_and_there_is_no_panel(dash_duo, dash_app):
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/embed/overview?token={embed_token()}&cohort=active")
    wait_for_charts(dash_duo)
    assert not dash_duo.driver.find_elements(By.CSS_SELECTOR, ".kpi-button, #section-learners")
    assert dash_duo.get_logs() == []


@pytest.mark.parametrize(("theme", "locale"), [("light", "en"), ("dark", "fr")])
def test_learners003_no_axe_violation_with_the_panel_open(dash_duo, dash_app, theme, locale, artifacts):
    dash_duo.start_server(dash_app)
    dash_duo.driver.set_window_size(1300, 1400)
    token = embed_token(learners=True, theme=theme, locale=locale)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/embed/overview?token={token}&range=90d&cohort=active")
    wait_for_charts(dash_duo)
    until(lambda: panel_open(dash_duo) and names(dash_duo), timeout=10)
    violations, report = axe_violations(dash_duo.driver)
    assert violations == [], f"panel, list: {report}"
    dash_duo.driver.save_screenshot(str(artifacts / f"overview-panel-{theme}-{locale}.png"))
    click_once_settled(dash_duo.find_element("#div-learners-body .link-button"))
    dash_duo.wait_for_element(".learner-trainings", timeout=10)
    violations, report = axe_violations(dash_duo.driver)
    assert violations == [], f"panel, one learner: {report}"
    dash_duo.driver.save_screenshot(str(artifacts / f"overview-learner-{theme}-{locale}.png"))
    assert dash_duo.get_logs() == []


@pytest.mark.parametrize(("theme", "locale"), [("light", "fr"), ("dark", "en")])
def test_learners004_explore_shows_the_learners_behind_its_metric_without_axe_violations(dash_duo, dash_app, theme,
                                                                                      locale, artifacts):
    dash_duo.start_server(dash_app)
    dash_duo.driver.set_window_size(1300, 1400)
    token = embed_token(learners=True, theme=theme, locale=locale)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/explore?token={token}&range=90d&metric=completion_rate")
    until(lambda: dash_duo.driver.find_elements(By.CSS_SELECTOR, "#grid-explore .ag-row"), timeout=10)
    learner_rows(dash_duo)
    assert dash_duo.find_element("#p-explore-learners-summary").text
    dash_duo.driver.execute_script("document.getElementById('grid-learners').scrollIntoView()")
    violations, report = axe_violations(dash_duo.driver)
    assert violations == [], f"explore, learners: {report}"
    dash_duo.driver.save_screenshot(str(artifacts / f"explore-learners-{theme}-{locale}.png"))
    assert dash_duo.get_logs() == []


def learner_rows(dash_duo) -> list:
    """Explore's learner grid is mounted when its box nears the viewport (assets/deferred-grids.js): scrolled to,
    then its drawn rows."""
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})",
                                   dash_duo.wait_for_element("#grid-learners-box", timeout=10))
    until(lambda: dash_duo.driver.find_elements(By.CSS_SELECTOR, "#grid-learners .ag-row"), timeout=10)
    return dash_duo.driver.find_elements(By.CSS_SELECTOR, "#grid-learners .ag-row")


GROUPS = "return [...new Set(dash_ag_grid.getApi('grid-learners').getRenderedNodes().map(n => n.data.group))];"
PUSH = ("window.history.pushState({}, '', arguments[0]);"
        "window.dispatchEvent(new PopStateEvent('popstate'));")


def test_learners010_explores_learner_grid_is_built_near_the_viewport_with_the_current_rows(dash_duo, dash_app):
    """Below the fold the grid is not built with the page (issue 12: it was the longest task); a filter chosen
    before it is built is in the rows it is built with, and one chosen after reaches it too."""
    dash_duo.start_server(dash_app)
    dash_duo.driver.set_window_size(1300, 700)
    base = f"/explore?token={embed_token(learners=True)}&range=90d&metric=starts"
    dash_duo.wait_for_page(f"{dash_duo.server_url}{base}")
    until(lambda: dash_duo.driver.find_elements(By.CSS_SELECTOR, "#grid-explore .ag-row"), timeout=10)
    summary = dash_duo.find_element("#p-explore-learners-summary").text
    assert dash_duo.driver.find_elements(By.CSS_SELECTOR, "#grid-learners-box") and \
        not dash_duo.driver.find_elements(By.CSS_SELECTOR, "#grid-learners")
    dash_duo.driver.execute_script(PUSH, f"{base}&group=Sales")
    until(lambda: dash_duo.find_element("#p-explore-learners-summary").text != summary, timeout=10)
    assert not dash_duo.driver.find_elements(By.CSS_SELECTOR, "#grid-learners")
    learner_rows(dash_duo)
    assert dash_duo.driver.execute_script(GROUPS) == ["Sales"]
    dash_duo.driver.execute_script(PUSH, f"{base}&group=Finance")
    until(lambda: dash_duo.driver.execute_script(GROUPS) == ["Finance"], timeout=10)
    assert dash_duo.get_logs() == []


def fresh(dash_duo, selector: str, act):
    """``act`` on the element ``selector`` finds now; None if the page drew it again meanwhile (a data answer
    replaces the chart tables with equal ones), so that ``until`` finds it again."""
    try:
        return act(dash_duo.find_element(selector))
    except StaleElementReferenceException:
        return None


def focused_id(dash_duo) -> str:
    return dash_duo.driver.execute_script("return document.activeElement && document.activeElement.id;")


def test_learners007_a_click_on_a_real_bar_opens_its_learners_and_escape_gives_focus_back(
        dash_duo, dash_app, generated_snapshot_dir):
    """Issue 15: a bar of the completion-rate chart opens its group's not-completed learners (the URL says so),
    focus goes to the heading, Escape gives it back to the chart; a value of the chart's table does the same from
    the keyboard, and focus comes back to that value."""
    snapshot = SnapshotStore(generated_snapshot_dir).current()
    dash_duo.start_server(dash_app)
    dash_duo.driver.set_window_size(1300, 1400)
    token = embed_token(learners=True)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/embed/overview?token={token}&range=90d")
    wait_for_charts(dash_duo)
    bar = dash_duo.find_element("#graph-groups .bars .point path")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", bar)
    ActionChains(dash_duo.driver).move_to_element(bar).click().perform()
    until(lambda: panel_open(dash_duo) and names(dash_duo), timeout=10)
    state = parse(dash_duo.driver.current_url.split("?", 1)[1])
    assert state.cohort == "not_completed" and state.drill[0] == "group"
    group = state.drill[1]
    start, end = resolve_range(state, snapshot.data_as_of)
    page = learners.learner_page(snapshot, TENANT, start, end, {"group": (group,)}, "not_completed",
                                 learners.DEFAULT_SORT, None, 25)
    until(lambda: names(dash_duo) == [n or u for n, u in zip(page.rows["name"], page.rows["user_id"])], timeout=10)
    assert dash_duo.find_element("#h2-learners").text.endswith(f" — {group}")
    until(lambda: focused_id(dash_duo) == "h2-learners", timeout=5)
    dash_duo.find_element("body").send_keys(Keys.ESCAPE)
    until(lambda: not panel_open(dash_duo) and "cohort=" not in dash_duo.driver.current_url, timeout=10)
    until(lambda: focused_id(dash_duo) == "graph-groups", timeout=5)

    summary = dash_duo.find_element("#graph-funnel ~ * summary, section:has(#graph-funnel) summary")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", summary)
    summary.send_keys(Keys.ENTER)  # the chart's table opens
    step = "section:has(#graph-funnel) .chart-open"
    dash_duo.wait_for_element(step)  # the table comes as its disclosure opens
    opener = until(lambda: fresh(dash_duo, step, lambda button: button.get_attribute("id")), timeout=5)
    until(lambda: fresh(dash_duo, step, lambda button: button.send_keys(Keys.ENTER) or True), timeout=5)
    until(lambda: panel_open(dash_duo) and "cohort=enrolled" in dash_duo.driver.current_url, timeout=10)
    until(lambda: focused_id(dash_duo) == "h2-learners", timeout=5)
    dash_duo.find_element("body").send_keys(Keys.ESCAPE)
    until(lambda: not panel_open(dash_duo), timeout=10)
    until(lambda: focused_id(dash_duo) == opener, timeout=5)
    dash_duo.driver.back()  # the history holds the drill-downs: back opens the funnel's list again
    until(lambda: panel_open(dash_duo) and "cohort=enrolled" in dash_duo.driver.current_url, timeout=10)
    assert dash_duo.get_logs() == []


@pytest.mark.parametrize(("theme", "locale"), [("light", "en"), ("dark", "fr")])
def test_learners008_no_axe_violation_with_a_drilled_panel_open(dash_duo, dash_app, theme, locale, artifacts):
    dash_duo.start_server(dash_app)
    dash_duo.driver.set_window_size(1300, 1400)
    token = embed_token(learners=True, theme=theme, locale=locale)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/embed/overview?token={token}&range=90d&cohort=not_completed"
                           "&cohort_group=Sales")
    wait_for_charts(dash_duo)
    until(lambda: panel_open(dash_duo) and names(dash_duo), timeout=10)
    for summary in dash_duo.driver.find_elements(By.CSS_SELECTOR, ".chart-data summary"):
        dash_duo.driver.execute_script("arguments[0].parentElement.open = true;", summary)  # the tables' buttons
    until(lambda: len(dash_duo.find_elements(".chart-data table")) == len(dash_duo.find_elements(".chart-data")),
          timeout=10)  # each handed over as its disclosure opened (assets/deferred-charts.js)
    violations, report = axe_violations(dash_duo.driver)
    assert violations == [], f"drilled panel: {report}"
    dash_duo.driver.set_window_size(1300, 3400)  # the whole page: the panel, the charts and their tables' buttons
    dash_duo.driver.execute_script("window.scrollTo(0, 0);")
    dash_duo.driver.save_screenshot(str(artifacts / f"overview-drilled-{theme}-{locale}.png"))
    assert dash_duo.get_logs() == []


@pytest.mark.parametrize(("theme", "locale"), [("light", "en"), ("dark", "fr")])
def test_learners009_a_row_of_explores_grid_opens_the_learners_trainings_by_click_or_enter(
        dash_duo, dash_app, generated_snapshot_dir, theme, locale, artifacts):
    """A click on a row shows that learner's trainings below the grid (focus moves there), Close gives focus back to
    the cell; Enter on a cell does the same; axe finds nothing with them shown."""
    snapshot = SnapshotStore(generated_snapshot_dir).current()
    dash_duo.start_server(dash_app)
    dash_duo.driver.set_window_size(1300, 1400)
    token = embed_token(learners=True, theme=theme, locale=locale)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/explore?token={token}&range=90d&metric=starts")
    learner_rows(dash_duo)
    shown, day = dash_duo.driver.execute_script(
        "const api = dash_ag_grid.getApi('grid-learners'), node = api.getDisplayedRowAtIndex(0);"
        "return [api.getCellValue({rowNode: node, colKey: 'last_activity', useFormatter: true}),"
        " node.data.last_activity];")
    assert shown == i18n.date(dt.date.fromisoformat(day), locale, "medium")  # the row keeps the ISO day
    cell = dash_duo.find_element('#grid-learners .ag-row[row-index="0"] .ag-cell[col-id="name"]')
    user = cell.find_element(By.XPATH, "..").get_attribute("row-id")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", cell)
    click_once_settled(cell)
    until(lambda: f"learner={user}" in dash_duo.driver.current_url, timeout=10)
    dash_duo.wait_for_element("#div-explore-learner .learner-trainings table", timeout=10)
    found = learners.learner_trainings(snapshot, TENANT, user, {})
    rows = dash_duo.driver.find_elements(By.CSS_SELECTOR, "#div-explore-learner tbody tr")
    assert len(rows) == len(found["trainings"])
    until(lambda: focused_id(dash_duo) == "div-explore-learner", timeout=5)
    violations, report = axe_violations(dash_duo.driver)
    assert violations == [], f"explore, one learner: {report}"
    dash_duo.driver.save_screenshot(str(artifacts / f"explore-learner-{theme}-{locale}.png"))
    click_once_settled(dash_duo.find_element("#button-explore-learner-close"))
    until(lambda: "learner=" not in dash_duo.driver.current_url, timeout=10)
    until(lambda: dash_duo.driver.execute_script(
        "return document.activeElement.closest && !!document.activeElement.closest('#grid-learners .ag-cell');"),
        timeout=5)
    second = dash_duo.find_element('#grid-learners .ag-row[row-index="1"] .ag-cell[col-id="name"]')
    other = second.find_element(By.XPATH, "..").get_attribute("row-id")
    dash_duo.driver.execute_script("arguments[0].focus();", second)
    dash_duo.driver.switch_to.active_element.send_keys(Keys.ENTER)
    until(lambda: f"learner={other}" in dash_duo.driver.current_url, timeout=10)
    dash_duo.wait_for_element("#div-explore-learner .learner-trainings", timeout=10)
    dash_duo.driver.back()
    until(lambda: "learner=" not in dash_duo.driver.current_url and
          dash_duo.find_element("#div-explore-learner").get_attribute("hidden") is not None, timeout=10)
    assert dash_duo.get_logs() == []
