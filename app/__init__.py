"""The web app factory: one Flask server carrying the Dash pages and the JSON API."""
from __future__ import annotations

import logging
import os
import secrets
from dataclasses import replace
from pathlib import Path

from dash import Dash
from flask import Flask

from app.auth import check_secrets
from app.cache import AppCache
from app.config import Settings
from app.store import SnapshotStore

log = logging.getLogger("dataviz.app")
STORE_KEY = "dataviz_store"
CACHE_KEY = "dataviz_cache"
SETTINGS_KEY = "DATAVIZ_SETTINGS"


def get_store(server: Flask) -> SnapshotStore:
    return server.extensions[STORE_KEY]


def get_cache(server: Flask) -> AppCache:
    return server.extensions[CACHE_KEY]


def get_settings(server: Flask) -> Settings:
    return server.config[SETTINGS_KEY]


def create_app(settings: Settings | None = None, **overrides) -> Dash:
    """Build the Dash app (and its Flask ``server``) for one snapshot folder.

    ``settings`` defaults to the environment; keyword overrides are for tests.
    """
    settings = settings or Settings.from_env(**overrides)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.demo and not settings.embed_secret:
        settings = replace(settings, embed_secret=demo_embed_secret(settings))
    check_secrets(settings)
    server = Flask(__name__)
    server.config[SETTINGS_KEY] = settings
    server.extensions[STORE_KEY] = SnapshotStore(settings.snapshot_dir, settings.snapshot_check_interval,
                                                 sync=_snapshot_sync(settings))
    server.extensions[CACHE_KEY] = AppCache(settings)

    from app import api, health, metrics, security
    server.register_blueprint(health.blueprint)
    security.init_app(server, settings)
    metrics.init_app(server)
    api.init_app(server)
    if settings.demo:
        from app import demo
        server.register_blueprint(demo.blueprint)

    dash_app = Dash(__name__, server=server, title="Dataviz", assets_folder="../assets",
                    suppress_callback_exceptions=True)
    from callbacks import explore, overview, shell, sync
    from layouts import shell as shell_layout
    dash_app.layout = shell_layout.layout
    for module in (shell, sync, overview, explore):
        module.register(dash_app)
    security.init_dash(dash_app)
    return dash_app


def _snapshot_sync(settings: Settings):
    """With ``DATAVIZ_SNAPSHOT_URL``, this process follows the S3 pointer from a thread of its own.

    Apps are built in each gunicorn worker (no ``preload_app``), so the thread
    lives in the worker that serves, never in a master that forks.
    """
    if not settings.snapshot_url:
        return None
    from app.snapshot_sync import SnapshotSync

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
