"""The landing page: which snapshot is live, and nothing about any tenant.

It is served to anyone, without a token: it names no tenant (the manifest's
digests list them all) and no source location.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from dash import html

if TYPE_CHECKING:  # layouts import no app module but the catalog and the view state
    from app.store import Snapshot


def layout(snapshot: Snapshot | None):
    if snapshot is None:
        return html.Main([html.H1("Dataviz"),
                          html.P("No snapshot is published yet: run `python -m etl refresh`.")])
    meta = snapshot.meta()
    return html.Main([
        html.H1("Dataviz"),
        html.P(f"Live snapshot {meta['version']}, data as of {meta['data_as_of']}, "
               f"{meta['tenants']} tenants.", id="p-snapshot"),
    ])
