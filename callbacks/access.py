"""Every callback starts here: re-verify the token, then resolve the view through ``app.views``.

The token comes back from the browser with each callback, so it is verified
again each time (it may have expired, or been edited). The tenant is the
token's own; only an analyst (``tenant: "*"``) may pick one, and the pick is
checked against the scope and the snapshot. Locked filters always apply:
whatever the client sends for a locked dimension is replaced by the lock
(``TenantView.for_state``). The API resolves its requests with the same
``app.views.resolve``. An analyst who names no (known) tenant lands on the one
with the most activity, not on the alphabetically first (which may hold two
completions).
"""
from __future__ import annotations

from flask import current_app

from app.auth import AuthError, verify_token
from app.extensions import get_settings, get_store
from app.views import NoSnapshot, NoTenantData, TenantView, resolve


class Unavailable(Exception):
    """No snapshot is published yet, or the scope's tenant has no data in it."""

    def __init__(self, label_key: str, locale: str = "en"):
        super().__init__(label_key)
        self.label_key = label_key
        self.locale = locale


def authorize(token, requested_tenant: str | None = None) -> TenantView:
    """Verify ``token`` (AuthError 401) and resolve the tenant to show (``Unavailable`` if none).

    The view has no range yet: ``view.for_state(state)`` gives the one a page state asks for.
    """
    server = current_app
    if not isinstance(token, str) or not token:
        raise AuthError(401, "no token")
    scope = verify_token(token, get_settings(server))
    snapshot = get_store(server).current()
    if scope.all_tenants and snapshot is not None and requested_tenant not in snapshot.tenants:
        requested_tenant = busiest_tenant(snapshot)
    try:
        return resolve(scope, snapshot, requested_tenant, pick=True)
    except NoSnapshot:
        raise Unavailable("error.unavailable", scope.locale) from None
    except NoTenantData:
        raise Unavailable("error.tenant", scope.locale) from None


def busiest_tenant(snapshot) -> str | None:
    """The tenant with the most activity: the most fact rows (user, training, day and event type), ties by name."""
    return min(snapshot.tenants, default=None,
               key=lambda t: (-(snapshot.tenants[t].facts.stop - snapshot.tenants[t].facts.start), t))


def token_look(token) -> tuple[str, str]:
    """The locale and theme a token asks for; English and light without a valid one (the page then says why)."""
    try:
        scope = verify_token(token, get_settings(current_app)) if isinstance(token, str) and token else None
    except AuthError:
        scope = None
    return (scope.locale, scope.theme) if scope else ("en", "light")


def token_locale(token) -> str:
    return token_look(token)[0]
