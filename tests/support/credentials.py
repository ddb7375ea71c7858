"""The one set of test credentials: one embed secret, one analyst secret, one set of API keys.

Every app a test builds (``tests.support.apps.make_app``), every token it mints and every
service it starts with ``DATAVIZ_*`` credentials takes them from here, so a test never
depends on which builder made the app it talks to.
"""
from __future__ import annotations

import datetime as dt

from app.auth import mint_token

EMBED_SECRET = "embed-secret-for-tests-0123456789abcdef"
ANALYST_SECRET = "analyst-secret-for-tests-0123456789abcdef"
OTHER_SECRET = "not-the-server-secret-0123456789abcdefg"  # signs tokens the server must refuse
ADMIN_KEY = "admin-key-0123456789abcdef"
ALL_KEY = "all-tenants-key-0123456789"
ERASURE_KEY = "erasure-key-for-tests-0123456789abcdef"  # DATAVIZ_ERASURE_KEY: 32 bytes or more

TENANT = "globex"  # a tenant of the generated export, for the dashboards' tokens
OTHER_TENANT = "hooli"


def tenant_key(tenant: str) -> str:
    return f"key-for-{tenant}-0123456789abcdef"


def api_keys(tenants=()) -> tuple[str, ...]:
    """``DATAVIZ_API_KEYS`` entries: the admin key, the all-tenants key, one key per tenant."""
    return (f"{ADMIN_KEY}:admin", f"{ALL_KEY}:*", *(f"{tenant_key(t)}:{t}" for t in tenants))


def service_env(tenants=()) -> dict[str, str]:
    """The same credentials as environment variables, for a server started as a process."""
    return {"DATAVIZ_API_KEYS": ",".join(api_keys(tenants)), "DATAVIZ_EMBED_SECRET": EMBED_SECRET,
            "DATAVIZ_ANALYST_SECRET": ANALYST_SECRET}


def bearer(credential: str) -> dict:
    return {"Authorization": f"Bearer {credential}"}


def embed_token(tenant: str = TENANT, secret: str = EMBED_SECRET, **claims) -> str:
    return mint_token(secret, tenant, **claims)


def analyst_token(**claims) -> str:
    return mint_token(ANALYST_SECRET, "*", **claims)


def expired_token(tenant: str = TENANT) -> str:
    return mint_token(EMBED_SECRET, tenant, now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2))


def embed(tenant: str, **claims) -> dict:
    """Request headers carrying an embed token for ``tenant``."""
    return bearer(embed_token(tenant, **claims))


def analyst() -> dict:
    """Request headers carrying an analyst token (every tenant)."""
    return bearer(analyst_token())
