"""Where the app's shared objects live on the Flask server, and the leaf accessors that read them.

``app.factory`` registers the store, the cache, the settings and the precompressed files once per app;
everything else (API routes, callbacks, probes) asks for them here. This
module imports nothing of the project at run time, so any module may use it
without an import circle.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from app.cache import AppCache
    from app.config import Settings
    from app.precompressed import PrecompressedFiles
    from app.store import SnapshotStore

STORE_KEY = "dataviz_store"
CACHE_KEY = "dataviz_cache"
SETTINGS_KEY = "DATAVIZ_SETTINGS"
PRECOMPRESSED_KEY = "dataviz_precompressed"


def register(server: Flask, settings: Settings, store: SnapshotStore, cache: AppCache,
             precompressed: PrecompressedFiles) -> None:
    server.config[SETTINGS_KEY] = settings
    server.extensions[STORE_KEY] = store
    server.extensions[CACHE_KEY] = cache
    server.extensions[PRECOMPRESSED_KEY] = precompressed


def get_store(server: Flask) -> SnapshotStore:
    return server.extensions[STORE_KEY]


def get_cache(server: Flask) -> AppCache:
    return server.extensions[CACHE_KEY]


def get_settings(server: Flask) -> Settings:
    return server.config[SETTINGS_KEY]


def get_precompressed(server: Flask) -> PrecompressedFiles:
    return server.extensions[PRECOMPRESSED_KEY]
