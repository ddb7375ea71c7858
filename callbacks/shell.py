"""Routing: render the page named by the URL path for the verified token, in its theme."""
from __future__ import annotations

from dash import Input, Output, State
from flask import current_app

from app import answers
from app.extensions import get_settings, get_store
from app.auth import AuthError
from app.view_state import parse, token_of
from app.views import TenantView
from callbacks.access import Unavailable, authorize, token_look
from layouts import explore, home, i18n, ids, overview
from layouts.components import PageView
from layouts.shell import message_page

PAGES = {"/embed/overview": overview.layout, "/explore": explore.layout}


def page_view(access: TenantView, token: str, search: str | None) -> PageView:
    """What a page shows for this viewer and URL; the tenant is the scope's (or an analyst's checked pick)."""
    state = parse(search)
    view = access.for_state(state)
    return PageView(
        token=token, locale=view.locale, theme=view.theme, tenant=view.tenant, tenants=view.tenants(),
        analyst=view.scope.all_tenants, locked=dict(view.scope.filters), options=answers.filter_values(view),
        state=state, filters=view.filters, start=view.start, end=view.end, as_of=view.snapshot.data_as_of)


def render(pathname: str | None, search: str | None):
    """The page for ``pathname`` and the root's class (theme): pure enough to test without a browser.

    The path comes from the client: anything but a string is no path.
    """
    pathname = pathname if isinstance(pathname, str) else None
    if pathname in (None, "", "/"):
        return home.layout(get_store(current_app).current(), get_settings(current_app).demo), "dv-root theme-light"
    layout = PAGES.get(pathname.rstrip("/"))
    token = token_of(search)
    if layout is None:  # in the viewer's language and theme when the link carries a valid token
        locale, theme = token_look(token)
        return message_page(i18n.t(locale, "page.not_found"), "info"), f"dv-root theme-{theme}"
    try:
        access = authorize(token, parse(search).tenant)
    except AuthError as exc:
        return message_page(i18n.t("en", "error.auth", detail=exc.detail)), "dv-root theme-light"
    except Unavailable as exc:
        return message_page(i18n.t(exc.locale, exc.label_key), "info"), f"dv-root theme-{token_look(token)[1]}"
    view = page_view(access, token, search)
    return layout(view), f"dv-root theme-{access.theme}"


def register(app) -> None:
    @app.callback(Output(ids.PAGE, "children"), Output(ids.ROOT, "className"),
                  Input(ids.URL, "pathname"), State(ids.URL, "search"))
    def route(pathname, search):
        """Only the path re-renders the page: query-string changes are the page's own callbacks' job."""
        return render(pathname, search)
