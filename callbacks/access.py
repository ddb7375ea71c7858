"""Every callback starts here: re-verify the token, then take the tenant from the scope.

The token comes back from the browser with each callback, so it is verified
again each time (it may have expired, or been edited). The tenant is the
token's own; only an analyst (``tenant: "*"``) may pick one, and the pick is
checked against the scope and the snapshot. Locked filters always apply:
whatever the client sends for a locked dimension is replaced by the lock.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from app.extensions import get_cache, get_settings, get_store
from app.auth import AuthError, Scope, verify_token
from app.cache import AppCache
from app.store import Snapshot
from app.view_state import ViewState


class Unavailable(Exception):
    """No snapshot is published yet, or the scope's tenant has no data in it."""

    def __init__(self, label_key: str, locale: str = "en"):
        super().__init__(label_key)
        self.label_key = label_key
        self.locale = locale


@dataclass(frozen=True)
class Access:
    scope: Scope
    snapshot: Snapshot
    cache: AppCache
    tenant: str

    @property
    def locale(self) -> str:
        return self.scope.locale

    @property
    def theme(self) -> str:
        return self.scope.theme

    def tenants(self) -> list[str]:
        """The tenants this viewer may pick from (one, unless an analyst)."""
        return sorted(self.snapshot.tenants) if self.scope.all_tenants else [self.tenant]

    def filters(self, state: ViewState) -> dict[str, tuple[str, ...]]:
        """The filters to query with: the state's, with every locked dimension set to its lock."""
        requested = {dim: values for dim, values in state.filters.items() if dim not in self.scope.filters}
        return self.scope.narrow(requested)


def authorize(token, requested_tenant: str | None = None) -> Access:
    """Verify ``token`` (AuthError 401) and resolve the tenant to show (``Unavailable`` if none)."""
    server = current_app
    if not isinstance(token, str) or not token:
        raise AuthError(401, "no token")
    scope = verify_token(token, get_settings(server))
    snapshot = get_store(server).current()
    if snapshot is None:
        raise Unavailable("error.unavailable", scope.locale)
    if scope.all_tenants:
        tenant = requested_tenant if requested_tenant in snapshot.tenants else min(snapshot.tenants, default=None)
        if tenant is None:
            raise Unavailable("error.unavailable", scope.locale)
    else:
        (tenant,) = scope.tenants
    scope.check_tenant(tenant)
    if tenant not in snapshot.tenants:
        raise Unavailable("error.tenant", scope.locale)
    return Access(scope, snapshot, get_cache(server), tenant)
