"""The app factory: ``create_app`` builds the Flask server, the JSON API and the Dash pages.

It is the only module that imports ``callbacks/`` and ``layouts/``; the shared
objects it builds (store, cache, settings) are registered on the server through
``app.extensions``, which everything else reads. The allowed imports are in
docs/architecture.md.
"""
from __future__ import annotations

import logging
import os
import secrets
from dataclasses import replace
from pathlib import Path

from dash import Dash
from flask import Flask

from app import api, demo, extensions, health, prometheus, security
from app.auth import check_secrets
from app.cache import AppCache
from app.config import Settings
from app.logs import SafeFormatter
from app.snapshot_sync import SnapshotSync
from app.store import SnapshotStore
from callbacks import explore, overview, shell, sync
from layouts import shell as shell_layout

log = logging.getLogger("dataviz.app")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def create_app(settings: Settings | None = None, **overrides) -> Dash:
    """Build the Dash app (and its Flask ``server``) for one snapshot folder.

    ``settings`` defaults to the environment; keyword overrides are for tests.
    """
    settings = settings or Settings.from_env(**overrides)
    configure_logging(settings)
    check_secrets(settings)
    if settings.demo:
        settings = replace(settings, embed_secret=demo_embed_secret(settings))
    server = Flask(__name__)
    extensions.register(server, settings,
                        SnapshotStore(settings.snapshot_dir, settings.snapshot_check_interval,
                                      sync=_snapshot_sync(settings)),
                        AppCache(settings))

    server.register_blueprint(health.blueprint)
    security.init_app(server, settings)
    prometheus.init_app(server)
    api.init_app(server)
    if settings.demo:
        server.register_blueprint(demo.blueprint)

    dash_app = Dash(__name__, server=server, title="Dataviz", assets_folder="../assets",
                    suppress_callback_exceptions=True)
    dash_app.layout = shell_layout.layout
    for module in (shell, sync, overview, explore):
        module.register(dash_app)
    security.init_dash(dash_app)
    return dash_app


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
