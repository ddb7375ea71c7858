"""The landing page: what snapshot is live, from its manifest."""
from __future__ import annotations

import json

from dash import html

from app.store import Snapshot


def layout(snapshot: Snapshot | None):
    if snapshot is None:
        return html.Main([html.H1("Dataviz"),
                          html.P("No snapshot is published yet: run `python -m etl refresh`.")])
    meta = snapshot.meta()
    return html.Main([
        html.H1("Dataviz"),
        html.P(f"Live snapshot {meta['version']}, data as of {meta['data_as_of']}, "
               f"{meta['tenants']} tenants."),
        html.H2("Manifest"),
        html.Pre(json.dumps({k: v for k, v in snapshot.manifest.items() if k != "dictionaries"},
                            indent=2, sort_keys=True), id="pre-manifest"),
    ])
