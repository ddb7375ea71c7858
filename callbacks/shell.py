"""Routing: render the page named by the URL for the verified token, in its theme, with its data.

The page arrives with the first layout the browser asks for (``initial_layout``):
Dash's renderer fetches ``/_dash-layout`` from the page, and its ``Referer`` (the
pages send ``Referrer-Policy: same-origin``) is the page's URL, token included.
The token in it is verified like any other; the KPI values and figures are the
same answers (``app.answers``) the data callbacks give, so those need not run on
load. A browser that sends no ``Referer`` gets the empty shell, and the route
callback renders the same page one round trip later.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from dash import Input, Output, State
from flask import current_app, has_request_context, request

from app import answers
from app.extensions import get_settings, get_store
from app.auth import AuthError
from app.dates import RangeError
from app.view_state import parse, token_of
from app.views import TenantView
from callbacks import explore as explore_data, learners as learner_data, overview as overview_data
from callbacks.access import Unavailable, authorize, token_look
from layouts import explore, home, i18n, ids, overview, shell
from layouts.components import PageView, tenant_options, zone_line
from layouts.shell import message_page

PAGES = {"/embed/overview": (overview.layout, overview_data.content),
         "/explore": (explore.layout, explore_data.content)}
# Runs in the browser: the route callback is asked for a page only when the layout did not hold it.
ROUTE_GATE = ("function (pathname, rendered) {"
              " return pathname === rendered ? window.dash_clientside.no_update : pathname; }")


def page_view(access: TenantView, token: str, search: str | None) -> PageView:
    """What a page shows for this viewer and URL; the tenant is the scope's (or an analyst's checked pick)."""
    state = parse(search)
    view = access.for_state(state)
    return PageView(
        token=token, locale=view.locale, theme=view.theme, tenant=view.tenant,
        tenants=tenant_options(view.tenant_choices()),
        analyst=view.scope.all_tenants, locked=dict(view.scope.filters), options=answers.offered_filter_values(view),
        state=view.offered(state), filters=view.filters, start=view.start, end=view.end,
        as_of=view.snapshot.data_as_of, zone_line=zone_line(view.tenant_name, view.timezone, view.locale),
        learners=view.scope.sees_learners, metrics=view.metrics)


def render(pathname: str | None, search: str | None):
    """The page for ``pathname``, with its data, and the root's class (theme): pure enough to test without a browser.

    The path comes from the client: anything but a string is no path.
    """
    pathname = pathname if isinstance(pathname, str) else None
    if pathname in (None, "", "/"):
        return home.layout(get_store(current_app).current(), get_settings(current_app).demo), "dv-root theme-light"
    page = PAGES.get(pathname.rstrip("/"))
    token = token_of(search)
    if page is None:  # in the viewer's language and theme when the link carries a valid token
        locale, theme = token_look(token)
        return message_page(i18n.t(locale, "page.not_found"), "info"), f"dv-root theme-{theme}"
    try:
        access = authorize(token, parse(search).tenant)
    except AuthError as exc:
        return message_page(i18n.t("en", "error.auth", detail=exc.detail)), "dv-root theme-light"
    except Unavailable as exc:
        return message_page(i18n.t(exc.locale, exc.label_key), "info"), f"dv-root theme-{token_look(token)[1]}"
    layout, content = page
    state = parse(search)
    try:
        view = page_view(access, token, search)
        resolved = access.for_state(state)
        data = content(resolved, state)
        data = {**data, "learners": learner_data.first(pathname.rstrip("/"), resolved, state)}
    except RangeError as exc:
        return message_page(i18n.t(access.locale, "error.range", detail=str(exc))), f"dv-root theme-{access.theme}"
    return layout(view, data), f"dv-root theme-{access.theme}"


def initial_layout():
    """Dash's layout: the shell with the page of the URL that asks for it already in it, when the URL is known.

    Only the path and the query string of the ``Referer`` are read: the token in
    them is verified by ``render``, as the callbacks verify theirs.
    """
    referrer = request.referrer if has_request_context() else None
    if not referrer:
        return shell.layout()
    url = urlsplit(referrer)
    search = f"?{url.query}" if url.query else ""
    page, root_class = render(url.path, search)
    return shell.layout(page, root_class, rendered=url.path, search=search)


def register(app) -> None:
    app.clientside_callback(ROUTE_GATE, Output(ids.ROUTE, "data"),
                            Input(ids.URL, "pathname"), State(ids.RENDERED, "data"))

    @app.callback(Output(ids.PAGE, "children"), Output(ids.ROOT, "className"),
                  Input(ids.ROUTE, "data"), State(ids.URL, "search"), prevent_initial_call=True)
    def route(pathname, search):
        """Only a path the layout did not render: query-string changes are the page's own callbacks' job."""
        return render(pathname, search)
