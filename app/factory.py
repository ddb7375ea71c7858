"""The app factory: ``create_app`` builds the Flask server, the JSON API and the Dash pages.

It is the only module that imports ``callbacks/`` and ``layouts/``; the shared
objects it builds (store, cache, settings) are registered on the server through
``app.extensions``, which everything else reads. The allowed imports are in
docs/architecture.md.
"""
from __future__ import annotations

import html
import logging
import os
import re
import secrets
import sys
import threading
from dataclasses import replace
from pathlib import Path

import plotly.io as pio
from dash import Dash
from dash.fingerprint import check_fingerprint
from flask import Flask, Response, current_app, request
from flask_compress import Compress
from werkzeug.security import safe_join

from app import api, demo, extensions, health, prometheus, security
from app.auth import AuthError, check_secrets, verify_token
from app.cache import AppCache
from app.config import Settings
from app.logs import SafeFormatter
from app.precompressed import PrecompressedFiles
from app.snapshot_sync import SnapshotSync
from app.store import SnapshotStore
from callbacks import explore, learners, overview, shell, sync

log = logging.getLogger("dataviz.app")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def create_app(settings: Settings | None = None, **overrides) -> Dash:
    """Build the Dash app (and its Flask ``server``) for one snapshot folder.

    ``settings`` defaults to the environment; keyword overrides are for tests.
    """
    settings = settings or Settings.from_env(**overrides)
    configure_logging(settings)
    # Dash writes every layout and callback answer with plotly.io's JSON writer. Its default engine here is orjson,
    # behind a pure-Python pass that cleans each value first: the overview's first layout took 26 ms to write
    # that way against 11 ms with the standard library's encoder (the same JSON once parsed; issue 12).
    pio.json.config.default_engine = "json"
    check_secrets(settings)
    if settings.demo:
        settings = replace(settings, embed_secret=demo_embed_secret(settings))
    server = Flask(__name__)
    server.config.update(COMPRESSION)
    Compress(server)
    extensions.register(server, settings,
                        SnapshotStore(settings.snapshot_dir, settings.snapshot_check_interval,
                                      sync=_snapshot_sync(settings)),
                        AppCache(settings), PrecompressedFiles(settings.precompressed_dir))

    server.register_blueprint(health.blueprint)
    security.init_app(server, settings)
    prometheus.init_app(server)
    api.init_app(server)
    if settings.demo:
        server.register_blueprint(demo.blueprint)

    dash_app = DatavizDash(__name__, server=server, title="Dataviz", assets_folder="../assets",
                           suppress_callback_exceptions=True)
    dash_app.layout = shell.initial_layout
    for module in (shell, sync, overview, explore, learners):
        module.register(dash_app)
    security.init_dash(dash_app)
    server.after_request(asset_headers)
    return dash_app


# Brotli for browsers (every current one), gzip for the rest; zstd is left out because Varnish
# keeps one object per encoding and normalises Accept-Encoding to these two (deploy/varnish/default.vcl).
# Quality 5 and level 6: the 1.3 MB Plotly bundle takes about 20 ms, once per file per Varnish.
# The large fingerprinted scripts are sent at brotli 11 / gzip 9 instead when `make precompressed`
# has written their copies (app.precompressed, docs/operations.md): 10-12 % fewer bytes, too slow per request.
COMPRESSION = {
    "COMPRESS_ALGORITHM": ["br", "gzip"],
    "COMPRESS_BR_LEVEL": 5,
    "COMPRESS_LEVEL": 6,
    "COMPRESS_MIN_SIZE": 500,
    "COMPRESS_MIMETYPES": ["text/html", "text/css", "text/plain", "text/csv", "text/javascript",
                           "application/javascript", "application/json", "application/problem+json",
                           "image/svg+xml"],
}
GRID_PAGES = ("/explore",)
# AG Grid is not a script of any page: on a page with grids, assets/deferred-grids.js loads it from the URL
# <html data-grid> names once the page's chart is drawn, and mounts the grids then.
GRID_SCRIPT = re.compile(r'<script src="([^"]*/_dash-component-suites/dash_ag_grid/[^"]*)"></script>\s*')
# Dash names dash_table's bundle in every page (``import dash`` registers it); no page draws a DataTable.
DATA_TABLE_SCRIPT = re.compile(r'<script src="[^"]*/_dash-component-suites/dash/dash_table/[^"]*"></script>\s*')
# @babel/polyfill (core-js 2) for browsers Dash 4 no longer supports: in a current browser it replaces
# native functions it judges non-conforming (String.prototype.trim among them) with slower ones, and
# its setImmediate becomes React's scheduler. Of it, Dash's bundles need only regeneratorRuntime,
# which assets/regenerator-runtime.js defines.
POLYFILL_SCRIPT = re.compile(r'<script src="[^"]*/_dash-component-suites/dash/deps/polyfill@[^"]*"></script>\s*')
# Plotly (1.3 MB, 100 to 270 ms to evaluate) is not a script of the page: dcc.Graph loads it when a graph first
# renders, from the URL <html data-plotly> names (assets/plotly-draw.js), so that the page's first render (its
# numbers) waits neither for its download nor for its evaluation.
PLOTLY_SCRIPT = re.compile(r'<script src="([^"]*/assets/plotly-dataviz\.min\.js[^"]*)"></script>\s*')
IMMUTABLE = "public, max-age=31536000, immutable"


class DatavizDash(Dash):
    """Dash whose HTML shell is marked with the viewer's language and loads only what its page uses.

    Dash puts a script tag in every page for every component library imported in
    the process: the overview would download AG Grid (1.3 MB) although only explore
    draws a grid. Both pages are entry points loaded on their own (a token in the
    URL, no link between them), so no page loads AG Grid with it: explore names its URL
    for its own code to load after the chart, and the others never load it. No page
    draws a DataTable, so none loads dash_table.
    """

    def __init__(self, *args, **kwargs):
        self._setup_lock = threading.Lock()
        self._setup_done = False
        super().__init__(*args, **kwargs)

    def _setup_server(self):
        """Dash's first-request setup, once per process, with the other threads waiting for its end.

        Dash runs it before every request and marks it done as it starts: in a gthread worker, a
        request on another thread meanwhile (a fresh worker receives the page's scripts at once)
        skipped it and found no component library registered yet, and its script got
        ``"dash" is not a registered library``. Its setup also renders the layout, which, with
        a page's ``Referer``, is the whole page: a window of tens of milliseconds.
        """
        if self._setup_done:
            return
        with self._setup_lock:
            if not self._setup_done:
                super()._setup_server()
                self._setup_done = True

    def interpolate_index(self, **kwargs) -> str:
        kwargs["scripts"] = POLYFILL_SCRIPT.sub("", DATA_TABLE_SCRIPT.sub("", kwargs.get("scripts", "")))
        grid = GRID_SCRIPT.search(kwargs["scripts"]) if request.path.rstrip("/") in GRID_PAGES else None
        bundle = PLOTLY_SCRIPT.search(kwargs["scripts"])
        kwargs["scripts"] = PLOTLY_SCRIPT.sub("", GRID_SCRIPT.sub("", kwargs["scripts"]))
        index = super().interpolate_index(**kwargs)
        locale, theme = page_look(self.server)
        urls = "".join(f' data-{name}="{html.escape(found.group(1))}"'
                       for name, found in (("plotly", bundle), ("grid", grid)) if found)
        return index.replace("<html>", f'<html lang="{locale}" class="theme-{theme}"{urls}>', 1)


def page_look(server: Flask) -> tuple[str, str]:
    """The language and theme of the page being served: the token's, English and light without a (valid) token.

    On ``<html>``, the theme colours the page before its scripts run, and Dash's popups with it
    (assets/dataviz.css).
    """
    token = request.args.get("token")
    if not token:
        return "en", "light"
    try:
        claims = verify_token(token, extensions.get_settings(server))
    except AuthError:
        return "en", "light"
    return claims.locale, claims.theme


def asset_headers(response: Response) -> Response:
    """Fingerprinted files are cached for a year and never revalidated (browsers and Varnish alike).

    Dash names its component files with their version (``.v4_4_1m1700000000.min.js``)
    and asks for assets with their modification time (``?m=1700000000.0``): a deploy
    that changes a file changes its URL, so the old answer can be kept for good.
    Other assets keep Flask's ``no-cache`` (revalidated), and pages and data their own rules.
    Fingerprinted files with a precompressed copy are sent as that copy (``app.precompressed``).
    """
    if response.status_code != 200:
        return response
    path = request.path
    precompressed = extensions.get_precompressed(current_app)
    if path.startswith("/assets/"):
        fingerprinted = bool(request.args.get("m"))
        if fingerprinted:
            response.headers["Cache-Control"] = IMMUTABLE
        if not (fingerprinted and precompressed.respond(response, asset_file(), request)):
            # Flask streams static files, and flask-compress (which runs after this) would then skip gzip.
            response.direct_passthrough = False
            response.set_data(response.get_data())
    elif path.startswith("/_dash-component-suites/") and check_fingerprint(path.rsplit("/", 1)[-1])[1]:
        response.headers["Cache-Control"] = IMMUTABLE
        precompressed.respond(response, component_suite_file(), request)
    return response


def asset_file() -> Path:
    """The file an asset route served: its blueprint's folder (Flask checked the name against it)."""
    folder = current_app.blueprints[request.blueprint].static_folder
    return Path(safe_join(folder, request.view_args["filename"]))


def component_suite_file() -> Path:
    """The file Dash served for a component suite route (Dash checked it is a registered path)."""
    package = sys.modules[request.view_args["package_name"]]
    return Path(package.__file__).parent / check_fingerprint(request.view_args["fingerprinted_path"])[0]


def configure_logging(settings: Settings) -> None:
    """The app's loggers (``dataviz.*``) at ``DATAVIZ_LOG_LEVEL``, the level gunicorn's own logs use too."""
    level = settings.log_level.upper()
    logging.basicConfig(level=level, format=LOG_FORMAT)
    for handler in logging.getLogger().handlers:  # request text in a message cannot forge or colour a line
        handler.setFormatter(SafeFormatter(LOG_FORMAT))
    logging.getLogger("dataviz").setLevel(level)


def _snapshot_sync(settings: Settings):
    """With ``DATAVIZ_SNAPSHOT_URL``, this process follows the S3 pointer from a thread of its own.

    Apps are built in each gunicorn worker (no ``preload_app``), so the thread
    lives in the worker that serves, never in a master that forks.
    """
    if not settings.snapshot_url:
        return None
    return SnapshotSync(settings.snapshot_url, settings.snapshot_dir, settings.snapshot_poll_interval,
                        settings.s3_timeout).start()


def demo_embed_secret(settings: Settings) -> str:
    """An embed secret for the demo when none is configured, shared by the workers of one host.

    Each gunicorn worker builds its own app, so a secret drawn per process would
    reject tokens minted by another worker: the first one writes it next to the
    cache folder (mode 0600) and the others read it.
    """
    path = Path(settings.cache_dir).parent / "demo-embed-secret"
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f"{path.name}.{os.getpid()}")
    draft.write_text(secrets.token_urlsafe(32))
    draft.chmod(0o600)
    try:
        os.link(draft, path)  # atomic: exactly one worker's draft wins
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    secret = path.read_text().strip()
    log.warning("demo mode: no DATAVIZ_EMBED_SECRET, using a generated demo embed secret (kept in %s)", path)
    return secret
