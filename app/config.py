"""Settings, read once from ``DATAVIZ_*`` environment variables (the table in docs/operations.md).

Each setting is declared once, as a dataclass field made by ``setting``: its
name, type and default, the variable it is read from and how the text is
parsed; ``Settings.from_env`` is derived from those declarations. An unset or
empty variable means the default. Tests and scripts pass overrides to
``Settings.from_env(**overrides)`` instead of touching the process environment.

This module imports nothing of the app, so the ETL reads its settings without
loading Flask or Dash.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import Callable

ENV = "env"
PARSE = "parse"


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def signing_secret(value: str | None) -> str | None:
    """The secret to sign with: the first of a comma-separated list (the others are still accepted).

    Rotation: set ``new,old`` on the server, move the signer to ``new``, and
    once the old tokens have expired (24 h at most) remove ``old``.
    """
    secrets = secret_list(value)
    return secrets[0] if secrets else None


def secret_list(value: str | None) -> tuple[str, ...]:
    """Every secret of a comma-separated setting (secrets never hold commas)."""
    return _split(value)


def setting(env: str, default=None, parse: Callable[[str], object] = str, repr: bool = True):
    """A field read from the variable ``env`` with ``parse`` (its errors propagate), ``default`` when unset.

    ``repr=False`` keeps a secret out of the settings' printed form (logs, tracebacks).
    """
    return field(default=default, repr=repr, metadata={ENV: env, PARSE: parse})


def _flag_on(text: str) -> bool:
    return text == "1"


def _flag_not_off(text: str) -> bool:
    return text != "0"


@dataclass(frozen=True)
class Settings:
    source: str = setting("DATAVIZ_SOURCE", "var/exports")
    # with snapshot_url: this host's local copy
    snapshot_dir: str = setting("DATAVIZ_SNAPSHOT_DIR", "var/snapshots")
    # s3://bucket/prefix shared by many web hosts (etl.snapshot_s3)
    snapshot_url: str | None = setting("DATAVIZ_SNAPSHOT_URL")
    # seconds between two looks at the S3 pointer, per web worker
    snapshot_poll_interval: float = setting("DATAVIZ_SNAPSHOT_POLL_INTERVAL", 15.0, float)
    api_keys: tuple[str, ...] = setting("DATAVIZ_API_KEYS", (), _split)
    embed_secret: str | None = setting("DATAVIZ_EMBED_SECRET")
    analyst_secret: str | None = setting("DATAVIZ_ANALYST_SECRET")
    frame_ancestors: str = setting("DATAVIZ_FRAME_ANCESTORS", "'self'")
    cache_redis_url: str | None = setting("DATAVIZ_CACHE_REDIS_URL")
    cache_dir: str = setting("DATAVIZ_CACHE_DIR", "var/cache")
    # brotli-11 and gzip-9 copies of the static files (app.precompressed; `make precompressed` writes them)
    precompressed_dir: str = setting("DATAVIZ_PRECOMPRESSED_DIR", "var/precompressed")
    varnish_urls: tuple[str, ...] = setting("DATAVIZ_VARNISH_URLS", (), _split)
    # X-Purge-Token of each PURGE and BAN; never printed
    purge_token: str | None = setting("DATAVIZ_PURGE_TOKEN", repr=False)
    web_urls: tuple[str, ...] = setting("DATAVIZ_WEB_URLS", (), _split)
    # how long a refresh waits for web_urls, plus the poll interval with S3
    web_timeout: float = setting("DATAVIZ_WEB_TIMEOUT", 30.0, float)
    max_reject_ratio: float = setting("DATAVIZ_MAX_REJECT_RATIO", 0.01, float)
    # or "dask" (etl.dask_engine), for exports too big for one machine
    etl_engine: str = setting("DATAVIZ_ETL_ENGINE", "pandas")
    # tcp://host:8786; none: a LocalCluster sized to the machine
    dask_scheduler: str | None = setting("DATAVIZ_DASK_SCHEDULER")
    # per file, uncompressed: what a gzip bomb may inflate to
    max_export_bytes: int = setting("DATAVIZ_MAX_EXPORT_BYTES", 20 * 10**9, int)
    # seconds a connection or a read from S3 may stall before it is retried
    s3_timeout: float = setting("DATAVIZ_S3_TIMEOUT", 30.0, float)
    # keys the hashes of erased learners (etl.erasure); never printed
    erasure_key: str | None = setting("DATAVIZ_ERASURE_KEY", repr=False)
    demo: bool = setting("DATAVIZ_DEMO", False, _flag_on)
    # off (DATAVIZ_APP_CACHE=0) to benchmark the queries themselves: the API and the dashboards alike
    app_cache: bool = setting("DATAVIZ_APP_CACHE", True, _flag_not_off)
    # the app's own log level; gunicorn reads the same variable for its logs (deploy/gunicorn.conf.py)
    log_level: str = setting("DATAVIZ_LOG_LEVEL", "info", str.lower)
    snapshot_check_interval: float = 1.0  # tests only: how often the store stats the pointer
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        # DATAVIZ_SNAPSHOT_DIR=s3://... means the S3 store (docs/operations.md), with the default local
        # folder as this host's copy, however the settings were built (environment, ``--snapshot-dir``,
        # ``replace``)
        if self.snapshot_dir.startswith("s3://") and not self.snapshot_url:
            object.__setattr__(self, "snapshot_url", self.snapshot_dir)
            object.__setattr__(self, "snapshot_dir", type(self).snapshot_dir)

    @classmethod
    def from_env(cls, env: dict | None = None, **overrides) -> "Settings":
        env = os.environ if env is None else env
        values = {}
        for f in fields(cls):
            if ENV in f.metadata:
                text = env.get(f.metadata[ENV])
                values[f.name] = f.metadata[PARSE](text) if text else f.default
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        return replace(cls(**values), **overrides)
