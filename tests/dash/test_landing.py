"""Where a newcomer and an analyst land (issue 12): the landing page's links, explore's first tenant."""
from __future__ import annotations

from callbacks.access import authorize, busiest_tenant
from callbacks.shell import render
from tests.support.credentials import analyst_token


def test_land001_explore_opens_on_the_tenant_with_the_most_activity(server_context, snapshot):
    rows = {t: s.facts.stop - s.facts.start for t, s in snapshot.tenants.items()}
    busiest = max(rows, key=rows.get)
    assert busiest != min(rows), "the fixture's busiest tenant must not be the alphabetically first"
    assert busiest_tenant(snapshot) == busiest
    assert authorize(analyst_token()).tenant == busiest
    assert authorize(analyst_token(), min(rows)).tenant == min(rows)  # a valid pick is kept


def test_land002_the_landing_page_says_where_to_go(server_context, snapshot):
    page, theme = render("/", "")
    text, links = str(page), [c.href for c in _walk(page) if getattr(c, "href", None)]
    assert {"/api/v1/openapi.json", "/healthz"} <= set(links)
    assert snapshot.version in text and "/explore" in text
    assert theme == "dv-root theme-light"


def _walk(component):
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children] if children is not None else []:
        if hasattr(child, "to_plotly_json"):
            yield from _walk(child)
