"""What a served page makes the browser load: its scripts, its stylesheets and the Plotly bundle its first graph
fetches (``<html data-plotly>``, app.factory), read from the page's HTML."""
from __future__ import annotations

import re

SCRIPTS = re.compile(r'<script src="([^"]+)"')
STYLESHEETS = re.compile(r'<link rel="stylesheet" href="([^"]+)"')
PLOTLY_BUNDLE = re.compile(r'<html [^>]*data-plotly="([^"]+)"')


def script_urls(page: str) -> list[str]:
    return SCRIPTS.findall(page)


def plotly_bundles(page: str) -> list[str]:
    """The bundle's URL as ``<html data-plotly>`` names it: one item, or none on a page without it."""
    return PLOTLY_BUNDLE.findall(page)


def loaded_files(page: str) -> list[str]:
    """Every static file the page loads, Plotly's bundle included."""
    return script_urls(page) + STYLESHEETS.findall(page) + plotly_bundles(page)
