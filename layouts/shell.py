"""The frame every page is rendered into: the URL, the theme root and the page slot.

The page is rendered by ``callbacks.shell`` for the verified token in the URL:
already in the layout the browser first receives when the server knows the
page's URL (``rendered`` names it), else by the route callback.
"""
from __future__ import annotations

from dash import dcc, html

from layouts import ids


def layout(page=None, root_class: str = "dv-root theme-light", rendered: str | None = None,
           search: str = "") -> html.Div:
    """With ``rendered``, the URL component starts at the page's own path and query string: it then
    has nothing to report when it mounts, and no callback that reads the URL runs on load."""
    where = {"pathname": rendered, "search": search} if rendered is not None else {}
    return html.Div([
        dcc.Location(id=ids.URL, refresh=False, **where),
        dcc.Store(id=ids.RENDERED, data=rendered),
        dcc.Store(id=ids.ROUTE),
        html.Div(page, id=ids.PAGE),
    ], id=ids.ROOT, className=root_class)


def message_page(text: str, kind: str = "error") -> html.Main:
    """A page that is only a message (bad token, unknown page, no data yet)."""
    return html.Main(html.Div(html.H1(text), className=f"message message-{kind}", role="alert"), className="page")
