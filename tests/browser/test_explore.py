"""Explore in headless Chromium: cross-filtering by clicking a bar, chips, and the CSV download."""
from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest
from dash.testing.wait import until
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from app import queries, views
from layouts import components
from tests.support.browser import click_once_settled
from tests.support.credentials import OTHER_TENANT, TENANT, analyst_token, embed_token

pytestmark = pytest.mark.browser
GRAPH = ".page-explore .js-plotly-plot"
ROWS = """return [...document.querySelectorAll('#grid-explore .ag-center-cols-container .ag-row')]
  .sort((a, b) => +a.getAttribute('row-index') - +b.getAttribute('row-index'))
  .map(r => [...r.querySelectorAll('.ag-cell')].map(c => c.textContent));"""


# Every row in the grid's order, as its cells show them: AG Grid draws only the rows in view (and a few more).
ALL_ROWS = """const api = dash_ag_grid.getApi('grid-explore'), cols = api.getAllDisplayedColumns(), out = [];
  api.forEachNodeAfterFilterAndSort(node => out.push(cols.map(col => {
    const v = api.getCellValue({rowNode: node, colKey: col, useFormatter: true});
    return v === null || v === undefined ? '' : String(v); })));
  return out;"""


def grid_rows(dash_duo) -> list[list[str]]:
    """The rows drawn in the page, in order."""
    return dash_duo.driver.execute_script(ROWS)


def table_rows(dash_duo) -> list[list[str]]:
    """Every row of the grid in its order, checked against the rows it draws."""
    rows, drawn = dash_duo.driver.execute_script(ALL_ROWS), grid_rows(dash_duo)
    assert drawn and drawn == rows[:len(drawn)], (drawn, rows)
    return rows


def chips(dash_duo) -> list[str]:
    return [c.text for c in dash_duo.driver.find_elements(By.CSS_SELECTOR, ".chips .chip")]


def download(dash_duo, before: set) -> list[list[str]]:
    click_once_settled(dash_duo.find_element("#button-csv"))
    folder = Path(dash_duo.download_path)
    until(lambda: {p.name for p in folder.glob("*.csv")} - before, timeout=10)
    (path,) = [p for p in folder.glob("*.csv") if p.name not in before]
    time.sleep(0.2)  # let Chromium finish writing
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_explore001_click_to_filter_chip_to_remove(dash_duo, dash_app, artifacts):
    dash_duo.start_server(dash_app)
    dash_duo.driver.set_window_size(1300, 1400)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/explore?token={embed_token()}&by=group&metric=active_learners")
    until(lambda: len(grid_rows(dash_duo)) > 3, timeout=10)
    all_rows = grid_rows(dash_duo)
    dash_duo.driver.save_screenshot(str(artifacts / "explore.png"))

    bars = dash_duo.driver.find_elements(By.CSS_SELECTOR, f"{GRAPH} .trace.bars .point path")
    ActionChains(dash_duo.driver).move_to_element(bars[0]).click().perform()
    until(lambda: len(grid_rows(dash_duo)) == 1, timeout=10)
    group = grid_rows(dash_duo)[0][0]
    assert group == all_rows[0][0]
    assert chips(dash_duo) == [f"Group: {group}\n×"]
    assert f"group={group}" in dash_duo.driver.current_url

    click_once_settled(dash_duo.find_element(".chips .chip-remove"))
    until(lambda: grid_rows(dash_duo) == all_rows, timeout=10)
    assert chips(dash_duo) == []
    assert "group=" not in dash_duo.driver.current_url
    assert dash_duo.get_logs() == []


def test_explore002_csv_is_the_table_as_shown(dash_duo, dash_app):
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/explore?token={analyst_token()}&tenant=hooli&by=training")
    until(lambda: "Hooli" in dash_duo.find_element('[data-field="tenant"]').text, timeout=10)  # its display name
    assert dash_duo.find_element("#p-explore-zone").text.startswith("Hooli: days and hours in the ")
    until(lambda: len(grid_rows(dash_duo)) > 5, timeout=10)
    dash_duo.wait_for_element(".grid-box[data-sized]", timeout=10)  # shown once its columns are sized
    header = [h.text for h in dash_duo.driver.find_elements(By.CSS_SELECTOR, "#grid-explore .ag-header-cell-text")]
    assert header == ["Training", "Key", "Completions"]
    shown = table_rows(dash_duo)
    assert len(grid_rows(dash_duo)) < len(shown)  # the rows out of view are not drawn (issue 12)
    assert [int(r[2]) for r in shown] == sorted((int(r[2]) for r in shown), reverse=True)

    click_once_settled(dash_duo.driver.find_elements(By.CSS_SELECTOR, "#grid-explore .ag-header-cell-label")[0])  # title
    until(lambda: table_rows(dash_duo) != shown, timeout=10)
    resorted = table_rows(dash_duo)
    assert [r[0] for r in resorted] == sorted(r[0] for r in shown)
    assert download(dash_duo, set()) == [header] + resorted
    assert dash_duo.get_logs() == []


DESCRIPTION = "return [...document.querySelectorAll('#grid-explore .ag-aria-description-container')].map(e => e.textContent)"


def test_explore003_the_grids_own_texts_follow_the_page_language(dash_duo, dash_app):
    """AG Grid's texts (its empty overlay, what a sortable header tells a screen reader) are English unless told:
    on a French page they are French (layouts.i18n.GRID_TEXTS)."""
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/explore?token={analyst_token(locale='fr')}&training=nope")
    dash_duo.wait_for_element(".grid-box[data-sized]", timeout=10)  # shown once its columns are sized
    overlay = until(lambda: dash_duo.driver.find_elements(By.CSS_SELECTOR, "#grid-explore .ag-overlay-no-rows-center"),
                    timeout=10)
    assert overlay[0].text == "Aucune ligne à afficher"
    # what a screen reader hears on a sortable header: AG Grid writes it to its live region on focus
    dash_duo.driver.execute_script("document.querySelector('#grid-explore .ag-header-cell-sortable').focus()")
    until(lambda: dash_duo.driver.execute_script(DESCRIPTION) == ["Appuyez sur ENTER pour trier"], timeout=5)
    assert dash_duo.get_logs() == []


def test_explore004_the_tenant_picker_asks_for_tenants_as_the_analyst_types(dash_duo, dash_app, snapshot,
                                                                              monkeypatch):
    """An analyst of thousands of tenants gets a few in the page (``TenantView.tenant_choices``), here one and the
    page's own: typing part of another's id lists it, typing does not move the page, and picking it opens that
    tenant; going back shows the first tenant again in the picker."""
    monkeypatch.setattr(views, "PICKER_OPTIONS", 1)
    oracle_name = lambda tenant: snapshot.tenants[tenant].name
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/explore?token={analyst_token()}&tenant={TENANT}")
    until(lambda: dash_duo.find_element("#p-explore-zone").text.startswith(oracle_name(TENANT)), timeout=10)
    click_once_settled(dash_duo.find_element('[data-field="tenant"] .dash-dropdown'))
    dash_duo.wait_for_element(".dash-dropdown-options")
    labels = lambda: dash_duo.driver.execute_script(
        "return [...document.querySelectorAll('.dash-dropdown-options .dash-dropdown-option')].map(o => o.textContent)")
    first = min(snapshot.tenants, key=lambda t: (oracle_name(t).casefold(), t))
    assert first not in (TENANT, OTHER_TENANT)
    until(lambda: labels() == [oracle_name(TENANT), oracle_name(first)], timeout=5)  # its own and the first by name
    url = dash_duo.driver.current_url
    dash_duo.find_element(".dash-dropdown-search").send_keys(OTHER_TENANT[:3].upper())  # any case, part of the id
    until(lambda: oracle_name(OTHER_TENANT) in labels(), timeout=10)
    assert dash_duo.driver.current_url == url  # typing asks for options, nothing else
    click_once_settled(next(o for o in dash_duo.driver.find_elements(By.CSS_SELECTOR, ".dash-dropdown-option")
                            if o.text == oracle_name(OTHER_TENANT)))
    until(lambda: f"tenant={OTHER_TENANT}" in dash_duo.driver.current_url, timeout=10)
    until(lambda: dash_duo.find_element("#p-explore-zone").text.startswith(oracle_name(OTHER_TENANT)), timeout=10)
    dash_duo.driver.back()  # the URL names a tenant the picker was not showing: it shows it
    until(lambda: dash_duo.find_element("#p-explore-zone").text.startswith(oracle_name(TENANT)), timeout=10)
    until(lambda: oracle_name(TENANT) in dash_duo.find_element('[data-field="tenant"]').text, timeout=10)
    assert dash_duo.get_logs() == []


def test_explore005_a_filter_asks_for_values_as_the_viewer_types(dash_duo, dash_app, snapshot, monkeypatch):
    """A filter lists its first values (``layouts.components.FILTER_OPTIONS``, here one): typing part of another
    training's title lists it, and picking it filters the page, its chip named by the title."""
    monkeypatch.setattr(components, "FILTER_OPTIONS", 1)
    values = queries.filter_values(snapshot, TENANT)["training"]
    wanted = values[-1]
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_page(f"{dash_duo.server_url}/explore?token={embed_token()}")
    dash_duo.wait_for_element(GRAPH, timeout=10)
    click_once_settled(dash_duo.find_element('[data-field="training"] .dash-dropdown'))
    dash_duo.wait_for_element(".dash-dropdown-options")
    labels = lambda: dash_duo.driver.execute_script(
        "return [...document.querySelectorAll('.dash-dropdown-options .dash-dropdown-option')].map(o => o.textContent)")
    until(lambda: labels() == [values[0]["label"]], timeout=5)
    dash_duo.find_element(".dash-dropdown-search").send_keys(wanted["label"][2:].upper())
    until(lambda: wanted["label"] in labels(), timeout=10)
    click_once_settled(next(o for o in dash_duo.driver.find_elements(By.CSS_SELECTOR, ".dash-dropdown-option")
                            if o.text == wanted["label"]))
    until(lambda: f"training={wanted['key']}" in dash_duo.driver.current_url, timeout=10)
    until(lambda: wanted["label"] in dash_duo.find_element(".chips").text, timeout=10)
    assert dash_duo.get_logs() == []
