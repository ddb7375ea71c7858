"""Response headers for embedding, and the token check in front of the dashboard pages.

* Every response says who may frame it (``frame-ancestors`` from
  ``DATAVIZ_FRAME_ANCESTORS``), that it must not be MIME-sniffed, and that no
  ``Referer`` leaves the page (the token travels in the URL).
* A page request for ``/embed/...`` or ``/explore`` is checked here, before
  Dash serves its HTML shell, so a missing, forged or expired token gets a
  plain 401 page: no data, no stack trace. The callbacks verify it again.
"""
from __future__ import annotations

from html import escape

from flask import Flask, Response, request

from app.auth import AuthError, verify_token
from app.config import Settings

GUARDED_PREFIXES = ("/embed/", "/explore/")
ERROR_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dataviz: access denied</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px system-ui,sans-serif;margin:2rem;color:#1f2328;background:#fff}}
@media (prefers-color-scheme: dark){{body{{color:#e6edf3;background:#0d1117}}}}
h1{{font-size:1.25rem}}</style></head>
<body><main id="auth-error" role="alert"><h1>This dashboard cannot be shown</h1>
<p>{reason}</p><p>Open it again from your learning platform to get a fresh link.</p>
<p lang="fr">Ce tableau de bord ne peut pas être affiché. Ouvrez-le de nouveau depuis votre
plateforme de formation pour obtenir un lien valide.</p></main></body></html>
"""
REASONS = {
    "no token": "The link has no access token.",
    "token has expired": "The access token in the link has expired.",
}


def is_guarded(path: str) -> bool:
    return path == "/explore" or any(path.startswith(p) for p in GUARDED_PREFIXES)


def denied(detail: str) -> Response:
    reason = REASONS.get(detail, "The access token in the link is not valid.")
    return Response(ERROR_PAGE.format(reason=escape(reason)), status=401, mimetype="text/html",
                    headers={"Cache-Control": "no-store"})


def init_app(server: Flask, settings: Settings) -> None:
    @server.before_request
    def check_page_token():
        if request.method not in ("GET", "HEAD") or not is_guarded(request.path):
            return None
        token = request.args.get("token")
        if not token:
            return denied("no token")
        try:
            verify_token(token, settings)
        except AuthError as exc:
            return denied(exc.detail)
        return None

    @server.after_request
    def security_headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = f"frame-ancestors {settings.frame_ancestors}"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if is_guarded(request.path) or request.path.startswith("/_dash-update-component"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
