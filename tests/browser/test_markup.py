"""Markup written into the LMS (group names, training titles) is shown as text in the dashboards: no link, no
formatting, no script, in headless Chromium under the product's content policy."""
from __future__ import annotations

import pytest
from dash.testing.wait import until

from etl.refresh import run_refresh
from tests.support.apps import make_app
from tests.support.credentials import embed_token
from tests.support.exports import HEADER, write_export

pytestmark = pytest.mark.browser

GROUP = "<b>Sales</b><img src=x onerror=alert(1)>"
LINK = "<a href='https://evil.example'>Click me</a>"
SCRIPT = "<script>alert(2)</script>"


@pytest.fixture
def marked_up_app(tmp_path):
    kinds = [("connection", ""), ("enrolment", "T1"), ("completion", "T1"), ("enrolment", "T2"), ("completion", "T2")] * 4
    rows = [f"e{i},2026-10-{10 + i:02d}T08:00:00Z,acme,u{i % 5},{kind},{training},80,60"
            for i, (kind, training) in enumerate(kinds)]
    users = "tenant_id,user_id,group,country\n" + "".join(f'acme,u{i},"{GROUP}",FR\n' for i in range(5))
    trainings = f'tenant_id,training_id,title,category,format\nacme,T1,"{LINK}",c,f\nacme,T2,"{SCRIPT}",c,f\n'
    write_export(tmp_path / "src", activity=HEADER + "\n".join(rows) + "\n", users=users, trainings=trainings)
    assert run_refresh(str(tmp_path / "src"), tmp_path / "snap").outcome == "published"
    return make_app(tmp_path / "snap", tmp_path / "cache")


TICKS = "return Array.from(document.querySelectorAll('.ytick text, .xtick text')).map(t => t.textContent)"
LINKS = "return document.querySelectorAll('a').length"


def test_markup001_labels_from_data_render_as_text(dash_duo, marked_up_app):
    dash_duo.start_server(marked_up_app)
    dash_duo.driver.get(f"{dash_duo.server_url}/embed/overview?token={embed_token('acme')}")
    for graph in ("graph-trainings", "graph-groups"):  # drawn as they near the viewport (deferred-charts.js)
        dash_duo.wait_for_element(f"#{graph}", timeout=15)
        dash_duo.driver.execute_script("document.getElementById(arguments[0]).scrollIntoView()", graph)
        until(lambda: dash_duo.driver.execute_script(
            "const p = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');"
            "return p && p.data && p.data.length > 0", graph), timeout=15)
    until(lambda: LINK in (dash_duo.driver.execute_script(TICKS) or []), timeout=15)
    ticks = dash_duo.driver.execute_script(TICKS)
    assert {LINK, SCRIPT, GROUP} <= set(ticks), ticks  # every character shown, nothing interpreted
    assert dash_duo.driver.execute_script(LINKS) == 0
    assert dash_duo.get_logs() == []  # no script ran, nothing broke the content policy
