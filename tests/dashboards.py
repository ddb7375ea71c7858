"""Helpers shared by the dashboard tests: an app over the generated snapshot, and tokens."""
from __future__ import annotations

import datetime as dt

from app.auth import mint_token
from app.factory import create_app

EMBED_SECRET = "test-embed-secret-0123456789abcdefghij"
ANALYST_SECRET = "test-analyst-secret-0123456789abcdefgh"
OTHER_SECRET = "not-the-server-secret-0123456789abcdefg"
TENANT = "globex"
OTHER_TENANT = "hooli"


def make_app(snapshot_dir, cache_dir, **overrides):
    settings = {"snapshot_dir": str(snapshot_dir), "embed_secret": EMBED_SECRET, "analyst_secret": ANALYST_SECRET,
                "cache_dir": str(cache_dir), "snapshot_check_interval": 60.0, **overrides}
    return create_app(**settings)


def embed_token(tenant: str = TENANT, secret: str = EMBED_SECRET, **claims) -> str:
    return mint_token(secret, tenant, **claims)


def analyst_token() -> str:
    return mint_token(ANALYST_SECRET, "*")


def expired_token(tenant: str = TENANT) -> str:
    return mint_token(EMBED_SECRET, tenant, now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2))
