"""The page's first picture (issue 12, ``layouts.first_paint``): the page's own response already shows its title,
its filters' choices and its KPI values as static HTML, before any script has run.

Over the Flask test client: the picture's numbers are the first layout's (so the API's) for the same URL, in
both locales; it is the verified token's tenant only; it carries no ids and nothing interactive; the
customer's labels are escaped; a picture that cannot be made costs the page nothing.
"""
from __future__ import annotations

from html.parser import HTMLParser

import pytest
from dash import dcc, html

from callbacks import shell
from layouts import ids
from layouts.components import CARD_METRICS
from layouts.first_paint import first_paint
from tests.support.apps import make_app
from tests.support.credentials import OTHER_SECRET, OTHER_TENANT, analyst_token, embed_token
from tests.support.layouts import first_layout, prop


@pytest.fixture
def app(generated_snapshot_dir, tmp_path):
    return make_app(generated_snapshot_dir, tmp_path / "cache", snapshot_check_interval=60.0)


class Picture(HTMLParser):
    """The picture's elements (tag, attributes), its texts and its KPI values (in the cards' order), read back from
    the page."""

    def __init__(self):
        super().__init__()
        self.depth, self.elements, self.values, self.texts, self._value = 0, [], [], [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.depth or "dv-first-paint" in (attrs.get("class") or "").split():
            self.depth += tag not in ("input", "br", "img")
            self.elements.append((tag, attrs))
            self._value = "kpi-value" in (attrs.get("class") or "").split()

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.texts.append(data)
            if self._value:
                self.values.append(data)
                self._value = False


def picture(client, url: str) -> Picture:
    response = client.get(url)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    parsed = Picture()
    parsed.feed(response.get_data(as_text=True))
    return parsed


def test_pic001_the_page_shows_the_first_layouts_numbers_before_any_script(app):
    client = app.server.test_client()
    for locale in ("en", "fr"):
        url = f"/embed/overview?token={embed_token(locale=locale)}&range=7d&group=HR"
        shown = picture(client, url)
        layout = first_layout(client, url)
        assert shown.values == [prop(layout, ids.kpi_value_id(m), "children") for m in CARD_METRICS]
        root = shown.elements[0][1]
        assert "inert" in root and "theme-light" in root["class"]
        assert not [e for e in shown.elements if "id" in e[1] or "aria-controls" in e[1] or "data-deferred" in e[1]]
        assert [e for e in shown.elements if e[0] == "h1"]


def test_pic002_the_picture_is_the_verified_tokens_tenant_only(app):
    client = app.server.test_client()
    own = picture(client, f"/embed/overview?token={embed_token()}")
    asked = picture(client, f"/embed/overview?token={embed_token()}&tenant={OTHER_TENANT}")
    other = picture(client, f"/embed/overview?token={embed_token(OTHER_TENANT)}")
    assert own.values == asked.values != other.values
    forged = client.get(f"/embed/overview?token={embed_token(OTHER_TENANT, secret=OTHER_SECRET)}")
    assert forged.status_code == 401 and "dv-first-paint" not in forged.get_data(as_text=True)


def test_pic003_explore_shows_its_title_and_choices(app):
    client = app.server.test_client()
    url = f"/explore?token={analyst_token()}"
    shown = picture(client, url)
    layout = first_layout(client, url)
    assert prop(layout, ids.EXPLORE_TITLE, "children") in shown.texts
    assert any("dv-first-control" in (a.get("class") or "") for _, a in shown.elements)


def test_pic004_the_customers_labels_are_escaped():
    hostile = '"><script>alert(1)</script>'
    page = html.Main([
        html.H1(hostile, title=hostile, **{"data-x": hostile}),
        dcc.Dropdown(id="d", options=[{"label": hostile, "value": "v"}], value="v"),
        dcc.RadioItems(id="r", options=[{"label": hostile, "value": "v"}], value="v"),
        html.Div(style={"height": '1px"><script>alert(2)</script>'}),
    ])
    out = first_paint(page, hostile)
    assert "<script" not in out and "alert(1)</script>" not in out
    assert out.count("&lt;script&gt;") >= 5


def test_pic005_a_picture_that_cannot_be_made_costs_the_page_nothing(app, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(shell, "render", broken)
    client = app.server.test_client()
    response = client.get(f"/embed/overview?token={embed_token()}")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="react-entry-point"' in body
    assert "dv-first-paint" not in body and "disk on fire" not in body
    assert "first paint failed" in caplog.text


def test_pic006_the_picture_computes_no_chart(app, monkeypatch):
    """It draws no chart: none is built for it (the page's own response stays quick on a long daily range)."""
    from layouts import figures
    built = []
    monkeypatch.setattr(figures, "data_table", lambda *a, **k: built.append(a) or "")
    client = app.server.test_client()
    picture(client, f"/embed/overview?token={embed_token()}&range=custom&from=2024-01-01&to=2026-10-31&gran=day")
    picture(client, f"/explore?token={analyst_token()}")
    assert built == []
    first_layout(client, f"/embed/overview?token={embed_token()}")
    assert built  # the first layout still carries the tables
