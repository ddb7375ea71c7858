"""What a served page makes the browser load: its scripts, its stylesheets, the Plotly bundle its first graph
fetches (``<html data-plotly>``, app.factory) and the AG Grid bundle its grids fetch (``<html data-grid>``),
read from the page's HTML."""
from __future__ import annotations

import re

SCRIPTS = re.compile(r'<script src="([^"]+)"')
STYLESHEETS = re.compile(r'<link rel="stylesheet" href="([^"]+)"')
PLOTLY_BUNDLE = re.compile(r'<html [^>]*data-plotly="([^"]+)"')
GRID_BUNDLE = re.compile(r'<html [^>]*data-grid="([^"]+)"')


def script_urls(page: str) -> list[str]:
    return SCRIPTS.findall(page)


def plotly_bundles(page: str) -> list[str]:
    """The bundle's URL as ``<html data-plotly>`` names it: one item, or none on a page without it."""
    return PLOTLY_BUNDLE.findall(page)


def grid_bundles(page: str) -> list[str]:
    """AG Grid's bundle as ``<html data-grid>`` names it: one item, or none on a page without grids."""
    return GRID_BUNDLE.findall(page)


def loaded_files(page: str) -> list[str]:
    """Every static file the page loads, Plotly's and AG Grid's bundles included."""
    return script_urls(page) + STYLESHEETS.findall(page) + plotly_bundles(page) + grid_bundles(page)
