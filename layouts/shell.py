"""The frame every page is rendered into: the URL, the theme root and the page slot.

The page itself is rendered by ``callbacks.shell`` once the token in the URL
is verified, so nothing here depends on who is looking.
"""
from __future__ import annotations

from dash import dcc, html

from layouts import ids


def layout() -> html.Div:
    return html.Div([
        dcc.Location(id=ids.URL, refresh=False),
        html.Div(id=ids.PAGE),
    ], id=ids.ROOT, className="dv-root theme-light")


def message_page(text: str, kind: str = "error") -> html.Main:
    """A page that is only a message (bad token, unknown page, no data yet)."""
    return html.Main(html.Div(html.H1(text), className=f"message message-{kind}", role="alert"), className="page")
