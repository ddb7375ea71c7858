"""The landing page: which snapshot is live, and where a newcomer goes next; nothing about any tenant.

It is served to anyone, without a token: it names no tenant (the manifest's
digests list them all) and no source location. The dashboards need a token, so
the page says how to get one rather than linking to a page that would refuse.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from dash import html

if TYPE_CHECKING:  # layouts import no app module but the catalog and the view state
    from app.store import Snapshot


def _entry(title: str, href: str | None, text: str) -> html.Li:
    head = html.A(title, href=href) if href else html.Strong(title)
    return html.Li([head, html.Span(f": {text}")])


def layout(snapshot: Snapshot | None, demo: bool = False):
    if snapshot is None:
        live = html.P("No snapshot is published yet: run `python -m etl refresh`.", id="p-snapshot")
    else:
        meta = snapshot.meta()
        live = html.P(f"Live snapshot {meta['version']}, data as of {meta['data_as_of']}, "
                      f"{meta['tenants']} tenants.", id="p-snapshot")
    entries = [
        _entry("Demo", "/demo", "the overview embedded in a stand-in LMS page, with a fresh token.") if demo else
        _entry("Embedded overview", None, "/embed/overview?token=…, opened by the LMS with an embed token "
               "(python -m app.urls prints one)."),
        _entry("Explore", None, "/explore?token=… with an analyst token: any tenant, one metric by one "
               "dimension, a table and its CSV (python -m app.urls prints the link)."),
        _entry("API", "/api/v1/openapi.json", "the JSON API under /api/v1, described by its OpenAPI document."),
        _entry("Health", "/healthz", "whether this server answers (GET, no token; /readyz and /metrics stay on each server's own port)."),
    ]
    return html.Main([
        html.H1("Dataviz"),
        html.P("Learning analytics from the LMS's nightly export, embedded in the LMS."),
        live,
        html.H2("Where to go"),
        html.Ul(entries, className="home-links"),
    ], className="page page-home")
