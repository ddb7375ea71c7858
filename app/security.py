"""Response headers for embedding, and the token check in front of the dashboard pages.

* Every response says who may frame it (``frame-ancestors`` from
  ``DATAVIZ_FRAME_ANCESTORS``), that it must not be MIME-sniffed, and that a
  ``Referer`` (the token travels in the URL) goes to our own origin only: the
  page's first layout is rendered from it (``callbacks.shell``), no other site
  ever sees it.
* A page request for ``/embed/...`` or ``/explore`` is checked here, before
  Dash serves its HTML shell, so a missing, forged or expired token gets a
  plain 401 page: no data, no stack trace. The callbacks verify it again.
* Every response also carries a content policy: scripts only from our own
  files and Dash's inline renderer script (by hash), so no injected markup runs.
* A callback request (``POST /_dash-update-component``) must have the shape
  the Dash renderer sends for a registered callback (``guard_callbacks``):
  Dash itself answers a malformed one with a 500 and a traceback in the log.
"""
from __future__ import annotations

import json
from html import escape

from dash.exceptions import DependencyException
from flask import Flask, Response, jsonify, request

from app.auth import AuthError, verify_token
from app.config import Settings
from app.problems import problem_response

GUARDED_PREFIXES = ("/embed/", "/explore/")
MAX_BODY_BYTES = 1024 * 1024  # the edge's cap too (docs/security.md, "Edge limits")
ERROR_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dataviz: access denied</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px system-ui,sans-serif;margin:2rem;color:#1f2328;background:#fff}}
@media (prefers-color-scheme: dark){{body{{color:#e6edf3;background:#0d1117}}}}
h1{{font-size:1.25rem}}</style></head>
<body><main id="auth-error"><h1>This dashboard cannot be shown</h1>
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


def body_too_large(_exc=None) -> Response:
    return problem_response(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")


def cap_bodies(server: Flask) -> None:
    """Refuse a body over ``MAX_BODY_BYTES`` before anything reads it (JSON parse, token check).

    A declared ``Content-Length`` over the cap is refused from the headers
    alone. A body of unknown length (chunked) is read up to the cap
    (Werkzeug's ``MAX_CONTENT_LENGTH`` stops there and keeps it for the views)
    and refused when one more byte follows. Registered first, so no other
    hook runs on such a request.
    """
    server.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    server.register_error_handler(413, body_too_large)

    @server.before_request
    def check_body_length():
        if request.content_length is not None:
            return body_too_large() if request.content_length > MAX_BODY_BYTES else None
        if request.environ.get("wsgi.input_terminated"):
            body = request.get_data(cache=True)
            if len(body) >= MAX_BODY_BYTES and request.environ["wsgi.input"].read(1):
                return body_too_large()
        return None


def init_app(server: Flask, settings: Settings) -> None:
    cap_bodies(server)

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
        policy = server.extensions.get(CSP_KEY, "") + f"frame-ancestors {settings.frame_ancestors}"
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        if is_guarded(request.path) or request.path.startswith((CALLBACK_PATH, LAYOUT_PATH)):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


CALLBACK_PATH = "/_dash-update-component"
LAYOUT_PATH = "/_dash-layout"  # holds the page's data, for the token in its Referer
CSP_KEY = "dataviz_csp"


def content_policy(dash_app) -> str:
    """What pages may load and run: our own files, and Dash's one inline script by its hash.

    Markup that slips into the data could then not run a script even if some
    component rendered it as HTML. Styles may be inline (Dash and Plotly set
    style attributes); a view that needs another policy sets its own header.
    """
    scripts = " ".join(["'self'", *dash_app.csp_hashes()])
    return ("default-src 'self'; " f"script-src {scripts}; " "style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; font-src 'self' data:; worker-src 'self' blob:; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; ")


def _matches(item, spec: dict) -> bool:
    """One input, state or output as sent by the renderer, against its declaration in the callback map.

    A dict id is declared as its JSON; with a wildcard (``["ALL"]``) the
    renderer sends a list of the matching components, else that one component
    (``["MATCH"]``: any value). An output several callbacks write
    (``allow_duplicate``) is declared ``property@hash``.
    """
    prop = spec["property"].split("@", 1)[0]

    def same_property(one) -> bool:
        return isinstance(one.get("property"), str) and one["property"].split("@", 1)[0] == prop

    if not spec["id"].startswith("{"):
        return isinstance(item, dict) and item.get("id") == spec["id"] and same_property(item)
    pattern = json.loads(spec["id"])

    def same(one) -> bool:
        found = one.get("id") if isinstance(one, dict) else None
        return (isinstance(found, dict) and found.keys() == pattern.keys() and same_property(one)
                and all(isinstance(found[k], (str, int, float)) if v == ["MATCH"] else found[k] == v
                        for k, v in pattern.items() if v != ["ALL"]))

    if ["ALL"] in pattern.values():
        return isinstance(item, list) and all(same(one) for one in item)
    return same(item)


def declared_outputs(callback_id: str) -> dict | list[dict]:
    """The outputs a callback map key declares: one ``{"id", "property"}``, or a list of them.

    Dash keys a single-output callback ``id.property`` and a multi-output one
    ``..id1.prop1...id2.prop2..``; ids may hold dots (pattern ids are JSON),
    properties never do. This is the renderer's wire format, parsed here
    rather than through Dash's private helpers.
    """
    if callback_id.startswith(".."):
        return [declared_outputs(one) for one in callback_id[2:-2].split("...")]
    component, prop = callback_id.rsplit(".", 1)
    return {"id": component, "property": prop}


def callback_problem(body, callback_map: dict) -> str | None:
    """Why ``body`` is not a callback request the renderer could send, or None when it is."""
    if not isinstance(body, dict) or not isinstance(body.get("output"), str):
        return "the body must be a JSON object naming its output"
    spec = callback_map.get(body["output"])
    if spec is None:
        return "no such callback"
    if "callback" not in spec:  # a browser callback (clientside_callback): the server has nothing to run
        return "this callback runs in the browser"
    for part in ("inputs", "state"):
        items = body.get(part, [])
        if not isinstance(items, list) or len(items) != len(spec[part]):
            return f"{part}: expected {len(spec[part])} items"
        if not all(_matches(item, declared) for item, declared in zip(items, spec[part])):
            return f"{part}: not the declared components"
    declared = declared_outputs(body["output"])
    outputs = body.get("outputs")
    if isinstance(declared, dict):
        if not _matches(outputs, declared):
            return "outputs: not the declared component"
    elif not isinstance(outputs, list) or len(outputs) != len(declared) or not all(
            _matches(item, spec) for item, spec in zip(outputs, declared)):
        return f"outputs: expected the {len(declared)} declared components"
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        return "changedPropIds: expected a list of strings"
    return None


def init_dash(dash_app) -> None:
    """Once the pages and callbacks are registered: the content policy, the callback request check, and
    a 404 for a component-suite path Dash does not serve (Dash raises, which was a 500)."""
    dash_app.server.extensions[CSP_KEY] = content_policy(dash_app)
    guard_callbacks(dash_app)
    dash_app.server.register_error_handler(DependencyException, lambda exc: problem_response(404, str(exc)))


def guard_callbacks(dash_app) -> None:
    """Answer 400 to a callback request that is not shaped like the renderer's."""
    @dash_app.server.before_request
    def check_callback_request():
        if request.path != CALLBACK_PATH or request.method != "POST":
            return None
        try:
            body = request.get_json(silent=True)
        except RecursionError:  # nested deeper than the parser's stack: not a renderer's body
            body = None
        problem = callback_problem(body, dash_app.callback_map)
        if problem is None:
            return None
        response = jsonify(error=f"malformed callback request: {problem}")
        response.status_code = 400
        return response
