"""What a served page makes the browser load: its scripts, its stylesheets, the Plotly bundle its first graph
fetches (``<html data-plotly>``, app.factory) and the AG Grid bundle its grids fetch (``<html data-grid>``),
read from the page's HTML."""
from __future__ import annotations

import re

SCRIPTS = re.compile(r'<script src="([^"]+)"')
STYLESHEETS = re.compile(r'<link rel="stylesheet" href="([^"]+)"')
BUNDLES = ("plotly", "grid")  # the attributes of <html> that name a bundle the page's own code loads later


def script_urls(page: str) -> list[str]:
    return SCRIPTS.findall(page)


def bundles(page: str, name: str) -> list[str]:
    """The URL ``<html data-<name>>`` names (``BUNDLES``): one item, or none on a page without it."""
    return re.findall(rf'<html [^>]*data-{name}="([^"]+)"', page)


def loaded_files(page: str) -> list[str]:
    """Every static file the page loads, Plotly's and AG Grid's bundles included."""
    return script_urls(page) + STYLESHEETS.findall(page) + [url for name in BUNDLES for url in bundles(page, name)]
