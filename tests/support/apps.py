"""The one way the tests build the product's app: ``make_app``.

Every test app carries the credentials of ``tests.support.credentials``; a test passes
only what it is about (snapshot folder, cache folder, tenants with keys, setting overrides).
"""
from __future__ import annotations

from pathlib import Path

from app.factory import create_app
from tests.support.credentials import ANALYST_SECRET, EMBED_SECRET, api_keys


def make_app(snapshot_dir: Path | str, cache_dir: Path | str, tenants=(), **overrides):
    """A Dash app over ``snapshot_dir``; ``tenants`` get a key each (``credentials.tenant_key``)."""
    settings = {"snapshot_dir": str(snapshot_dir), "api_keys": api_keys(tenants), "embed_secret": EMBED_SECRET,
                "analyst_secret": ANALYST_SECRET, "cache_dir": str(cache_dir), **overrides}
    return create_app(**settings)
