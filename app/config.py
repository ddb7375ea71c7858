"""Settings, read once from ``DATAVIZ_*`` environment variables (see docs/operations.md).

Tests and scripts pass overrides to ``Settings.from_env(**overrides)`` instead of
touching the process environment.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace


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


@dataclass(frozen=True)
class Settings:
    source: str = "var/exports"
    snapshot_dir: str = "var/snapshots"  # with snapshot_url: this host's local copy
    snapshot_url: str | None = None  # s3://bucket/prefix shared by many web hosts (etl.snapshot_s3)
    snapshot_poll_interval: float = 15.0  # seconds between two looks at the S3 pointer, per web worker
    api_keys: tuple[str, ...] = ()
    embed_secret: str | None = None
    analyst_secret: str | None = None
    frame_ancestors: str = "'self'"
    cache_redis_url: str | None = None
    cache_dir: str = "var/cache"
    varnish_urls: tuple[str, ...] = ()
    purge_token: str | None = field(default=None, repr=False)  # X-Purge-Token of each PURGE; never printed
    web_urls: tuple[str, ...] = ()
    web_timeout: float = 30.0  # how long a refresh waits for web_urls, plus the poll interval with S3
    max_reject_ratio: float = 0.01
    etl_engine: str = "pandas"  # or "dask" (etl.dask_engine), for exports too big for one machine
    dask_scheduler: str | None = None  # tcp://host:8786; none: a LocalCluster sized to the machine
    max_export_bytes: int = 20 * 10**9  # per file, uncompressed: what a gzip bomb may inflate to
    s3_timeout: float = 30.0  # seconds a connection or a read from S3 may stall before it is retried
    demo: bool = False
    snapshot_check_interval: float = 1.0
    app_cache: bool = True  # off (DATAVIZ_APP_CACHE=0) to benchmark the queries themselves
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        # shared/spec/configuration.md foresaw DATAVIZ_SNAPSHOT_DIR=s3://...: it means the S3 store, with the
        # default local folder as this host's copy, however the settings were built (environment,
        # ``--snapshot-dir``, ``replace``)
        if self.snapshot_dir.startswith("s3://") and not self.snapshot_url:
            object.__setattr__(self, "snapshot_url", self.snapshot_dir)
            object.__setattr__(self, "snapshot_dir", type(self).snapshot_dir)

    @classmethod
    def from_env(cls, env: dict | None = None, **overrides) -> "Settings":
        env = os.environ if env is None else env
        ratio = env.get("DATAVIZ_MAX_REJECT_RATIO")
        poll = env.get("DATAVIZ_SNAPSHOT_POLL_INTERVAL")
        web_timeout = env.get("DATAVIZ_WEB_TIMEOUT")
        max_bytes = env.get("DATAVIZ_MAX_EXPORT_BYTES")
        s3_timeout = env.get("DATAVIZ_S3_TIMEOUT")
        settings = cls(
            source=env.get("DATAVIZ_SOURCE") or cls.source,
            snapshot_dir=env.get("DATAVIZ_SNAPSHOT_DIR") or cls.snapshot_dir,
            snapshot_url=env.get("DATAVIZ_SNAPSHOT_URL") or None,
            snapshot_poll_interval=float(poll) if poll else cls.snapshot_poll_interval,
            api_keys=_split(env.get("DATAVIZ_API_KEYS")),
            embed_secret=env.get("DATAVIZ_EMBED_SECRET") or None,
            analyst_secret=env.get("DATAVIZ_ANALYST_SECRET") or None,
            frame_ancestors=env.get("DATAVIZ_FRAME_ANCESTORS") or cls.frame_ancestors,
            cache_redis_url=env.get("DATAVIZ_CACHE_REDIS_URL") or None,
            cache_dir=env.get("DATAVIZ_CACHE_DIR") or cls.cache_dir,
            varnish_urls=_split(env.get("DATAVIZ_VARNISH_URLS")),
            purge_token=env.get("DATAVIZ_PURGE_TOKEN") or None,
            web_urls=_split(env.get("DATAVIZ_WEB_URLS")),
            web_timeout=float(web_timeout) if web_timeout else cls.web_timeout,
            max_reject_ratio=float(ratio) if ratio else cls.max_reject_ratio,
            etl_engine=env.get("DATAVIZ_ETL_ENGINE") or cls.etl_engine,
            dask_scheduler=env.get("DATAVIZ_DASK_SCHEDULER") or None,
            max_export_bytes=int(max_bytes) if max_bytes else cls.max_export_bytes,
            s3_timeout=float(s3_timeout) if s3_timeout else cls.s3_timeout,
            demo=env.get("DATAVIZ_DEMO", "") == "1",
            app_cache=env.get("DATAVIZ_APP_CACHE", "1") != "0",
        )
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        return replace(settings, **overrides)
