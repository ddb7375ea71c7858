"""``/demo``: a stand-in LMS page that embeds the overview the way a real LMS would.

Only registered when ``DATAVIZ_DEMO=1``. It mints a short-lived embed token
with the server's embed secret (``create_app`` generates one for the demo when
none is configured), frames ``/embed/overview`` in a resizing iframe, and draws
a small widget from the JSON API with the same token.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request

from app import queries
from app.extensions import get_settings, get_store
from app.auth import LOCALES, THEMES, mint_token
from app.config import signing_secret

blueprint = Blueprint("demo", __name__)
TOKEN_TTL = 3600


@blueprint.get("/demo")
def demo():
    """Pick a tenant, optionally a locked group, a locale and a theme; show the embed."""
    snapshot = get_store(current_app).current()
    if snapshot is None:
        abort(503, "no snapshot is published yet: run `python -m etl refresh`")
    tenants = queries.tenant_ids(snapshot)
    tenant = request.args.get("tenant")
    if tenant not in snapshot.tenants:  # default to the busiest tenant: the demo should look alive
        tenant = max(tenants, key=lambda t: snapshot.tenants[t].facts.stop - snapshot.tenants[t].facts.start)
    groups = [o["key"] for o in queries.filter_values(snapshot, tenant)["group"]]
    group = request.args.get("group") if request.args.get("group") in groups else ""
    locale = request.args.get("locale") if request.args.get("locale") in LOCALES else "en"
    theme = request.args.get("theme") if request.args.get("theme") in THEMES else "light"
    settings = get_settings(current_app)
    token = mint_token(signing_secret(settings.embed_secret), tenant, filters={"group": [group]} if group else None,
                       locale=locale, theme=theme, ttl_seconds=TOKEN_TTL)
    page = render_template("demo.html", tenants=tenants, tenant=tenant, groups=groups, group=group,
                           locales=LOCALES, locale=locale, themes=THEMES, theme=theme, token=token)
    # It stands for the LMS's own page, whose inline scripts are not ours to restrict: framing only.
    return page, {"Content-Security-Policy": f"frame-ancestors {settings.frame_ancestors}"}
