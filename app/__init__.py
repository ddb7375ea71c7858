"""The web app factory: one Flask server carrying the Dash pages and the JSON API."""
from __future__ import annotations

import logging

from dash import Dash
from flask import Flask

from app.cache import AppCache
from app.config import Settings
from app.store import SnapshotStore

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
    server = Flask(__name__)
    server.config[SETTINGS_KEY] = settings
    server.extensions[STORE_KEY] = SnapshotStore(settings.snapshot_dir, settings.snapshot_check_interval)
    server.extensions[CACHE_KEY] = AppCache(server, settings)

    from app import api, health, metrics
    server.register_blueprint(health.blueprint)
    metrics.init_app(server)
    api.init_app(server)

    dash_app = Dash(__name__, server=server, title="Dataviz", assets_folder="../assets",
                    suppress_callback_exceptions=True)
    from layouts import home
    dash_app.layout = lambda: home.layout(get_store(server).current())
    return dash_app
