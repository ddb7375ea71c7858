"""The shared app cache: cachelib on Redis, or on the filesystem for one host (no Flask needed).

Keys are built from primitives plus the snapshot version (``make_key``), so a
new snapshot never reads an old entry; values are serialized bytes. Every Redis
key carries ``KEY_PREFIX`` so clearing the cache never touches other data in
the same Redis database. A cache outage never fails a request: ``get``/``set``
swallow backend errors, count them and the app answers uncached. After a
failure the backend is left alone for ``RETRY_SECONDS`` (a Redis that stalls
would otherwise cost every request its socket timeout, twice), then tried
again, so the cache comes back by itself.

The web app and the ETL (which clears it after a publish) build it the same
way, ``AppCache(settings)``, so both always address the same entries.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from typing import Callable

import redis
from cachelib import BaseCache, FileSystemCache, RedisCache

from app.config import Settings

log = logging.getLogger("dataviz.cache")
KEY_PREFIX = "dataviz:"
DEFAULT_TIMEOUT = 24 * 3600
RETRY_SECONDS = 5.0
REDIS_SOCKET_TIMEOUT = 0.5  # seconds, to connect and per call: a stalled Redis costs a request this much
FILE_THRESHOLD = 20000  # entries in the cache folder before cachelib prunes


def backend(settings: Settings) -> BaseCache:
    """The cachelib backend the settings name (Redis is not contacted until first used)."""
    if settings.cache_redis_url:
        client = redis.from_url(settings.cache_redis_url, socket_timeout=REDIS_SOCKET_TIMEOUT,
                                socket_connect_timeout=REDIS_SOCKET_TIMEOUT)
        return RedisCache(host=client, key_prefix=KEY_PREFIX, default_timeout=DEFAULT_TIMEOUT)
    return FileSystemCache(settings.cache_dir, threshold=FILE_THRESHOLD, default_timeout=DEFAULT_TIMEOUT,
                           hash_method=hashlib.sha256)


def make_key(namespace: str, version: str, *parts) -> str:
    """A short key from primitives: never DataFrames or objects whose repr can change."""
    text = "\x1f".join([namespace, version, *map(repr, parts)])
    return f"{namespace}:{version}:{hashlib.sha256(text.encode()).hexdigest()[:32]}"


class AppCache:
    """A cachelib backend with failures turned into misses, and counters for /metrics."""

    def __init__(self, settings: Settings):
        self.backend = "redis" if settings.cache_redis_url else "filesystem"
        self.cache = backend(settings)
        self.hits = 0
        self.misses = 0
        self.errors = 0
        self.bypassed = 0  # lookups not even tried while the backend is down
        self.last_error: str | None = None
        self._down_until = 0.0
        self._lock = threading.Lock()

    @property
    def up(self) -> bool:
        """False from a failure until the next successful call (tried again every RETRY_SECONDS)."""
        return self.last_error is None

    def _failed(self, action: str, exc: Exception) -> None:
        with self._lock:
            self.errors += 1
        self.last_error = f"{action}: {exc.__class__.__name__}"
        self._down_until = time.monotonic() + RETRY_SECONDS
        log.warning("app cache %s failed (%s); answering uncached, next try in %gs", action, exc, RETRY_SECONDS)

    def _skip(self) -> bool:
        if time.monotonic() >= self._down_until:
            return False
        with self._lock:
            self.bypassed += 1
        return True

    def _recovered(self) -> None:
        if self.last_error is not None:
            log.info("app cache answers again")
            self.last_error = None

    def get(self, key: str):
        if self._skip():
            return None
        try:
            value = self.cache.get(key)
        except Exception as exc:  # any backend outage is a miss, never a failed request
            self._failed("get", exc)
            return None
        self._recovered()
        with self._lock:
            if value is None:
                self.misses += 1
            else:
                self.hits += 1
        return value

    def set(self, key: str, value) -> None:
        if self._skip():
            return
        try:
            self.cache.set(key, value)
        except Exception as exc:
            self._failed("set", exc)

    def probe(self) -> bool:
        """Ask the backend now (readiness), so an outage shows before a data request meets it.

        A failure marks the cache down as a failed lookup does; while down, the
        backend is asked again only after ``RETRY_SECONDS``, not per probe.
        """
        if time.monotonic() < self._down_until:
            return False
        try:
            self.cache.has(make_key("probe", "readyz"))
        except Exception as exc:
            self._failed("probe", exc)
            return False
        self._recovered()
        return True

    def get_or_compute(self, key: str, compute: Callable[[], bytes]) -> bytes:
        value = self.get(key)
        if value is None:
            value = compute()
            self.set(key, value)
        return value

    def clear(self) -> bool:
        """Delete every prefixed entry (cachelib deletes ``prefix*`` keys only)."""
        try:
            return bool(self.cache.clear())
        except Exception as exc:
            self._failed("clear", exc)
            return False
