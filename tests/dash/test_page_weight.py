"""What a page makes the browser download (issue 12): only its own code, compressed, cached for good.

Over the Flask test client: the scripts each page's HTML names, the headers of
fingerprinted files, and brotli and gzip answers.
"""
from __future__ import annotations

import gzip
import re

import brotli
import pytest

from tests.support.credentials import analyst_token, embed_token
from tests.support.pages import bundles, script_urls

IMMUTABLE = "public, max-age=31536000, immutable"


def scripts(client, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, url
    return script_urls(response.get_data(as_text=True))


def test_pw001_no_page_loads_grid_code_with_it_and_explore_names_it_for_later(client):
    """AG Grid (285 KB compressed) is no script of any page: explore names its bundle in ``<html data-grid>``,
    which assets/deferred-grids.js loads once the chart is drawn (tests/browser/test_deferred_grids.py)."""
    overview_page = client.get(f"/embed/overview?token={embed_token()}").get_data(as_text=True)
    explore_page = client.get(f"/explore?token={analyst_token()}").get_data(as_text=True)
    overview, explore = script_urls(overview_page), script_urls(explore_page)
    assert overview and not [s for s in overview + explore if "dash_ag_grid" in s]
    assert set(overview) == set(explore)
    assert not [s for s in explore if "/dash_table/" in s]  # no page draws a DataTable
    assert bundles(overview_page, "grid") == [] and bundles(client.get("/").get_data(as_text=True), "grid") == []
    (bundle,) = bundles(explore_page, "grid")
    assert bundle.startswith("/_dash-component-suites/dash_ag_grid/dash_ag_grid.v"), bundle
    response = client.get(bundle)
    assert response.status_code == 200 and response.headers["Cache-Control"] == IMMUTABLE
    assert b"dash_ag_grid" in response.get_data()


def test_pw001a_no_page_loads_babels_polyfill_but_each_defines_regenerator_runtime_first(client):
    for url in (f"/embed/overview?token={embed_token()}", f"/explore?token={analyst_token()}", "/"):
        names = scripts(client, url)
        assert not [s for s in names if "polyfill" in s], url
        runtime = [i for i, s in enumerate(names) if s.startswith("/assets/regenerator-runtime.js")]
        renderer = [i for i, s in enumerate(names) if "dash_renderer" in s]
        assert runtime and renderer and runtime[0] < renderer[0], url  # Dash's bundles call it as they load


def test_pw001b_the_favicon_is_the_projects_not_dashs_15_kb_one(client):
    page = client.get(f"/embed/overview?token={embed_token()}").get_data(as_text=True)
    (href,) = re.findall(r'<link rel="icon" type="image/x-icon" href="([^"]+)"', page)
    icon = client.get(href)
    assert href.startswith("/assets/favicon.ico?m=") and icon.status_code == 200 and len(icon.data) < 1000
    assert icon.headers["Cache-Control"] == IMMUTABLE


def test_pw002_the_html_element_carries_the_tokens_language_and_theme(client):
    for locale in ("en", "fr"):
        for theme in ("light", "dark"):
            body = client.get(f"/embed/overview?token={embed_token(locale=locale, theme=theme)}").get_data(as_text=True)
            assert f'<html lang="{locale}" class="theme-{theme}" data-plotly="/assets/plotly-dataviz.min.js?m=' in body
    assert '<html lang="en" class="theme-light" data-plotly="' in client.get("/").get_data(as_text=True)


def test_pw002b_plotly_is_no_script_of_the_page_but_the_url_its_first_graph_loads(client):
    """Plotly (1.3 MB) is loaded by dcc.Graph when a graph first renders (assets/plotly-draw.js holds Dash's
    URL for it at the page's bundle): the page's first render does not wait for it."""
    for url in (f"/embed/overview?token={embed_token()}", f"/explore?token={analyst_token()}"):
        page = client.get(url).get_data(as_text=True)
        assert not [s for s in scripts(client, url) if "plotly" in s and "plotly-draw" not in s], url
        (bundle,) = bundles(page, "plotly")
        assert bundle.startswith("/assets/plotly-dataviz.min.js?m="), bundle
        response = client.get(bundle)
        assert response.status_code == 200 and response.headers["Cache-Control"] == IMMUTABLE
        assert b"Plotly" in response.get_data()[:200]


def test_pw003_fingerprinted_files_are_immutable_and_the_rest_revalidated(client):
    for src in scripts(client, f"/explore?token={analyst_token()}"):
        response = client.get(src)
        assert response.status_code == 200, src
        assert response.headers["Cache-Control"] == IMMUTABLE, src
    plain = client.get("/assets/dataviz.css")
    assert plain.status_code == 200 and "immutable" not in plain.headers.get("Cache-Control", "")
    assert "immutable" not in client.get("/assets/missing.css?m=1").headers.get("Cache-Control", "")
    page = client.get(f"/embed/overview?token={embed_token()}")
    assert page.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("encoding, decode", [("br", brotli.decompress), ("gzip", gzip.decompress)])
def test_pw004_pages_files_and_callbacks_are_compressed(client, encoding, decode):
    page = f"/embed/overview?token={embed_token()}"
    packed = client.get(page, headers={"Accept-Encoding": f"{encoding}, deflate"})
    assert packed.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert b'id="_dash-config"' in decode(packed.data)
    for src in scripts(client, page) + ["/assets/dataviz.css"]:
        response = client.get(src, headers={"Accept-Encoding": encoding})
        assert response.headers.get("Content-Encoding") == encoding, src
        assert decode(response.data) == client.get(src).data, src
    assert client.get(page, headers={"Accept-Encoding": "identity"}).headers.get("Content-Encoding") is None
