"""Credentials in, scope out: API keys and signed JWTs become a ``Scope``.

Nothing downstream reads a tenant from unverified input: routes and callbacks
ask ``scope.check_tenant(tenant)`` and apply ``scope.narrow(filters)``.

* API keys (``DATAVIZ_API_KEYS`` = ``key:scope,...``; scope ``*``, ``admin`` or
  ``t1|t2``) are compared in constant time against every configured key.
* Embed tokens: HS256 JWTs signed with ``DATAVIZ_EMBED_SECRET`` by the LMS, for
  one tenant, with ``exp`` (30 s leeway, at most ``MAX_TOKEN_LIFETIME`` ahead),
  optional locked ``filters``, ``locale``, ``theme`` and ``learners`` (``true``:
  it may see learner lists, which name people; docs/embedding.md).
* Analyst tokens: ``tenant: "*"``, signed with the separate
  ``DATAVIZ_ANALYST_SECRET`` (never with the embed secret).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import jwt

from app.catalog import DIMENSION_NAMES
from app.config import Settings, secret_list

LEEWAY_SECONDS = 30
MIN_SECRET_BYTES = 32  # HS256 signs with a 256-bit key: a shorter secret is guessable offline from one token
MIN_API_KEY_LENGTH = 24  # characters: 144 bits from secrets.token_urlsafe(18); docs/api.md advises 32
MIN_PURGE_TOKEN_LENGTH = 32  # characters: what deploy/varnish/default.vcl requires of X-Purge-Token
MAX_TOKEN_LIFETIME = 24 * 3600
MAX_TOKEN_LENGTH = 4096  # characters; real tokens are a few hundred, so a forged huge one costs nothing
LOCALES = ("en", "fr")
THEMES = ("light", "dark")
FILTER_DIMENSIONS = DIMENSION_NAMES  # a token may lock any filter
ALL = "*"


class AuthError(Exception):
    """A credential problem: ``status`` is 401 (who are you?) or 403 (not yours)."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Scope:
    """What one verified credential may read, and how pages should look for it."""

    kind: str  # api_key | embed | analyst
    subject: str  # a stable, non-secret id of the credential (for logs and cache keys)
    tenants: frozenset[str] | None  # None: every tenant
    admin: bool = False
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # locked filters
    locale: str = "en"
    theme: str = "light"
    expires: float | None = None  # a token's exp (epoch seconds); an API key lasts until it is removed
    learners_claim: bool = False  # an embed token's "learners": true

    @property
    def sees_learners(self) -> bool:
        """Whether learner-level answers (which name people) are allowed: API keys and analyst tokens, and
        embed tokens only when the LMS said so (``"learners": true``)."""
        return self.kind != "embed" or self.learners_claim

    def check_learners(self) -> None:
        """Raise 403 unless this credential may see learners."""
        if not self.sees_learners:
            raise AuthError(403, "this embed token does not allow learner lists: the LMS must issue it with "
                                 "the claim \"learners\": true")

    @property
    def credential_tag(self) -> str:
        """The xkey of every answer this credential fetched, so that revoking it can purge them."""
        return f"cred-{self.subject}"

    @property
    def all_tenants(self) -> bool:
        return self.tenants is None

    def check_tenant(self, tenant: str) -> None:
        """Raise 403 unless this credential covers ``tenant`` (exact, case-sensitive match)."""
        if self.tenants is not None and tenant not in self.tenants:
            raise AuthError(403, "this credential does not give access to that tenant")

    def narrow(self, requested: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
        """The filters to apply: the request's, within the locked ones (which always apply).

        A request may narrow a locked filter to a subset of its values; asking
        for a value outside it is refused (403) rather than silently widened.
        """
        out = {dim: tuple(values) for dim, values in requested.items() if values}
        for dim, locked in self.filters.items():
            asked = out.get(dim)
            if not asked:
                out[dim] = tuple(locked)
                continue
            outside = [v for v in asked if v not in locked]
            if outside:
                raise AuthError(403, f"filter {dim!r} is locked by the credential to {', '.join(locked)}; "
                                     f"{', '.join(outside)} is outside it")
        return {dim: tuple(sorted(set(values))) for dim, values in sorted(out.items())}

    def cache_key(self) -> str:
        """Everything about this scope that changes what data it sees, as a stable string."""
        tenants = ALL if self.tenants is None else "|".join(sorted(self.tenants))
        locked = ";".join(f"{d}={','.join(v)}" for d, v in sorted(self.filters.items()))
        return f"{tenants}#{locked}"


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def _key_id(key: str) -> str:
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def parse_api_keys(entries: Sequence[str]) -> list[tuple[bytes, Scope]]:
    """``key:scope`` entries → (digest of the key, scope). Raises ValueError on a malformed entry."""
    keys = []
    for entry in entries:
        key, sep, scope = entry.rpartition(":")
        if not sep or not key or not scope:
            raise ValueError("DATAVIZ_API_KEYS entries must look like key:scope (scope: *, admin or t1|t2)")
        if scope == "admin":
            parsed = Scope("api_key", _key_id(key), None, admin=True)
        elif scope == ALL:
            parsed = Scope("api_key", _key_id(key), None)
        else:
            parsed = Scope("api_key", _key_id(key), frozenset(t for t in scope.split("|") if t))
        keys.append((_digest(key), parsed))
    return keys


def _clean_filters(claim) -> dict[str, tuple[str, ...]]:
    if claim is None:
        return {}
    if not isinstance(claim, dict):
        raise AuthError(401, "token claim 'filters' must be an object of lists")
    out = {}
    for dim, values in claim.items():
        if dim not in FILTER_DIMENSIONS:
            raise AuthError(401, f"token claim 'filters' names an unknown filter {dim!r}")
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise AuthError(401, f"token claim 'filters.{dim}' must be a non-empty list of strings")
        out[dim] = tuple(sorted(set(values)))
    return out


def verify_token(token: str, settings: Settings, now: float | None = None) -> Scope:
    """Verify an embed or analyst JWT and return its scope (AuthError 401 otherwise).

    The length is checked before anything is decoded: a forged 40 MB token
    used to cost 9.7 s of CPU per request.
    """
    if len(token) > MAX_TOKEN_LENGTH:
        raise AuthError(401, f"token is longer than {MAX_TOKEN_LENGTH} characters")
    secrets = [(s, kind) for value, kind in ((settings.embed_secret, "embed"), (settings.analyst_secret, "analyst"))
               for s in secret_list(value)]
    if not secrets:
        raise AuthError(401, "token authentication is not configured on this server")
    claims, kind = None, None
    expired = False
    for secret, candidate in secrets:
        try:
            claims = jwt.decode(token, secret, algorithms=["HS256"], leeway=LEEWAY_SECONDS,
                                options={"require": ["exp", "tenant"]})
            kind = candidate
            break
        except jwt.ExpiredSignatureError:
            expired = True
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(401, f"token is missing the required claim {exc.claim!r}") from None
        except jwt.InvalidTokenError:
            continue
    if claims is None:
        raise AuthError(401, "token has expired" if expired else "token signature is invalid")
    now = time.time() if now is None else now
    exp = claims["exp"]
    if not isinstance(exp, (int, float)) or exp - now > MAX_TOKEN_LIFETIME + LEEWAY_SECONDS:
        raise AuthError(401, f"token lifetime exceeds the maximum of {MAX_TOKEN_LIFETIME // 3600} hours")
    tenant = claims["tenant"]
    if not isinstance(tenant, str) or not tenant:
        raise AuthError(401, "token claim 'tenant' must be a non-empty string")
    if (tenant == ALL) != (kind == "analyst"):
        raise AuthError(401, "all-tenant tokens must be signed with the analyst secret"
                        if tenant == ALL else "analyst-signed tokens must be for every tenant ('*')")
    locale = claims.get("locale", "en")
    theme = claims.get("theme", "light")
    if locale not in LOCALES:
        raise AuthError(401, f"token claim 'locale' must be one of {', '.join(LOCALES)}")
    if theme not in THEMES:
        raise AuthError(401, f"token claim 'theme' must be one of {', '.join(THEMES)}")
    learners = claims.get("learners", False)
    if not isinstance(learners, bool):
        raise AuthError(401, "token claim 'learners' must be true or false")
    subject = "tok-" + hashlib.sha256(token.encode()).hexdigest()[:12]
    return Scope(kind, subject, None if tenant == ALL else frozenset([tenant]),
                 filters=_clean_filters(claims.get("filters")), locale=locale, theme=theme, expires=float(exp),
                 learners_claim=learners)


def check_secrets(settings: Settings) -> None:
    """Refuse, at start-up and with a clear message, a configuration that would open the data.

    * Demo mode with a configured embed secret: ``/demo`` would mint tokens
      signed with it for any tenant, to anyone (demo mode makes its own).
    * A signing secret under ``MIN_SECRET_BYTES`` or an API key under
      ``MIN_API_KEY_LENGTH``: guessable (the app once started with ``a``,
      ``b`` and ``k:*``).
    * One value in two roles: an embed secret that is also an analyst secret
      would let the LMS mint all-tenant tokens (and, tried first, refuse real
      analyst tokens); an API key that is also a secret lets the key's holder
      mint tokens; a key listed twice has two scopes; the purge token, sent
      with every purge, must be none of them, nor may the erasure key (which
      must be as long as a signing secret: ``etl.erasure``).
    The messages name the setting, never the value.
    """
    if settings.demo and settings.embed_secret:
        raise ValueError("DATAVIZ_DEMO=1 refuses a configured DATAVIZ_EMBED_SECRET: /demo would mint tokens signed "
                         "with it for any tenant, to anyone. Unset DATAVIZ_EMBED_SECRET for a demo (it makes its "
                         "own), or DATAVIZ_DEMO in production")
    embed, analyst = secret_list(settings.embed_secret), secret_list(settings.analyst_secret)
    for name, values in (("DATAVIZ_EMBED_SECRET", embed), ("DATAVIZ_ANALYST_SECRET", analyst)):
        if any(len(value.encode()) < MIN_SECRET_BYTES for value in values):
            raise ValueError(f"{name}: every secret must be at least {MIN_SECRET_BYTES} bytes; make one with "
                             "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'")
    if set(embed) & set(analyst):
        raise ValueError("DATAVIZ_EMBED_SECRET and DATAVIZ_ANALYST_SECRET must differ: they share a secret")
    keys = [entry.rpartition(":")[0] for entry in settings.api_keys]
    if any(len(key) < MIN_API_KEY_LENGTH for key in keys):
        raise ValueError(f"DATAVIZ_API_KEYS: every key must be at least {MIN_API_KEY_LENGTH} characters; make one "
                         "with python3 -c 'import secrets; print(secrets.token_urlsafe(32))'")
    if len(set(keys)) != len(keys):
        raise ValueError("DATAVIZ_API_KEYS: a key is listed twice; give each key one scope")
    if set(keys) & (set(embed) | set(analyst)):
        raise ValueError("DATAVIZ_API_KEYS: a key is also a signing secret (DATAVIZ_EMBED_SECRET or "
                         "DATAVIZ_ANALYST_SECRET): its holder could mint tokens; use separate values")
    erasure = settings.erasure_key
    if erasure is not None and len(erasure.encode()) < MIN_SECRET_BYTES:
        raise ValueError(f"DATAVIZ_ERASURE_KEY: must be at least {MIN_SECRET_BYTES} bytes (it keys the hashes of "
                         "erased learners); make one with "
                         "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'")
    if erasure is not None and erasure in set(keys) | set(embed) | set(analyst):
        raise ValueError("DATAVIZ_ERASURE_KEY is also an API key or a signing secret: use a separate value")
    purge = settings.purge_token
    if purge is not None and len(purge) < MIN_PURGE_TOKEN_LENGTH:
        raise ValueError(f"DATAVIZ_PURGE_TOKEN: must be at least {MIN_PURGE_TOKEN_LENGTH} characters "
                         "(the VCL refuses a shorter one)")
    if purge is not None and purge in set(keys) | set(embed) | set(analyst):
        raise ValueError("DATAVIZ_PURGE_TOKEN is also an API key or a signing secret: it travels in every purge "
                         "request, and whoever sees one could read data or mint tokens; use a separate value")


def verify_api_key(key: str, settings: Settings) -> Scope:
    digest = _digest(key)
    match = None
    for candidate, scope in parse_api_keys(settings.api_keys):
        if hmac.compare_digest(candidate, digest):  # no early exit: constant time over all keys
            match = scope
    if match is None:
        raise AuthError(401, "unknown API key")
    return match


def looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2


def verify_bearer(header: str | None, settings: Settings) -> Scope:
    """The scope of an ``Authorization: Bearer ...`` header (API key or JWT)."""
    if not header:
        raise AuthError(401, "missing credential: send Authorization: Bearer <API key or token>")
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise AuthError(401, "the Authorization header must be 'Bearer <API key or token>'")
    if looks_like_jwt(credential):
        return verify_token(credential, settings)
    return verify_api_key(credential, settings)


def mint_token(secret: str, tenant: str, *, filters: Mapping[str, Sequence[str]] | None = None,
               locale: str = "en", theme: str = "light", ttl_seconds: int = 3600,
               now: dt.datetime | None = None, learners: bool = False) -> str:
    """Sign an embed token (or, with the analyst secret and tenant ``*``, an analyst token); ``learners`` lets
    it see learner lists."""
    now = now or dt.datetime.now(dt.timezone.utc)
    claims = {"tenant": tenant, "exp": int(now.timestamp()) + ttl_seconds, "iat": int(now.timestamp()),
              "locale": locale, "theme": theme}
    if filters:
        claims["filters"] = {dim: list(values) for dim, values in filters.items()}
    if learners:
        claims["learners"] = True
    return jwt.encode(claims, secret, algorithm="HS256")
