"""After a publish: wait until the web workers serve it, clear the app cache, purge Varnish.

The order matters. Varnish is purged last, once every web worker answers from
the new snapshot: purging earlier would let Varnish fetch and keep old numbers
from a worker that has not swapped yet.

Waiting for the workers. Each ``DATAVIZ_WEB_URLS`` entry is polled with
``GET /api/v1/meta`` until it reports the new version. Behind one URL,
gunicorn spreads requests over many workers, and a poll reaches one of them;
that is enough because of how ``app.store`` swaps: a worker checks the
``CURRENT`` pointer at most ``snapshot_check_interval`` seconds apart and loads
a new snapshot before answering (concurrent requests wait for that load). So
once one answer shows the new version and that interval has passed since the
publish, any request to any worker is answered from the new snapshot. A URL
still answering another version at the timeout is a laggard: the refresh puts
the previous snapshot back rather than leave hosts disagreeing. A URL that
refuses connections serves nobody, and loads the live snapshot when it starts;
it is reported, as is one that refuses the poll's credential (401, 403).

With snapshots on S3 (``DATAVIZ_SNAPSHOT_URL``), each host publishes the new
version into its own folder when its poll of the S3 pointer sees it
(``app.snapshot_sync``), up to ``snapshot_poll_interval`` after the S3 publish.
So the wait lasts up to that interval longer, and the workers' check interval
is counted from when each host was first seen serving the version (its local
publish came before that), not from the S3 publish.
"""
from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from app.cache import AppCache
from app.config import Settings
from etl.http import open_url
from etl.purge import load_pending, purge, purge_keys, remember
from etl.snapshot_format import SnapshotError
from etl.snapshot_s3 import Published

log = logging.getLogger("dataviz.refresh")
WEB_TIMEOUT = 30.0
POLL_SECONDS = 0.1
UNREACHABLE_AFTER = 3  # refused connections in a row before a URL is given up as down


def poll_key(settings: Settings) -> str | None:
    """An API key for the polls (``/api/v1/meta`` wants a credential): an admin one if any."""
    keys = [entry.rpartition(":") for entry in settings.api_keys]
    for key, _, scope in sorted(keys, key=lambda k: k[2] != "admin"):
        if key:
            return key
    return None


def _served_version(url: str, key: str | None, timeout: float) -> str | None:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    request = urllib.request.Request(url.rstrip("/") + "/api/v1/meta", headers=headers)
    with open_url(request, timeout) as response:
        return json.loads(response.read()).get("version")


def web_timeout(settings: Settings) -> float:
    """How long a refresh waits for the web hosts: with S3, a host may see the new pointer only
    one poll interval after the publish, then downloads the snapshot."""
    return settings.web_timeout + (settings.snapshot_poll_interval if settings.snapshot_url else 0.0)


def wait_for_web(urls: tuple[str, ...], version: str, *, published_at: float | None, check_interval: float,
                 timeout: float = WEB_TIMEOUT, key: str | None = None) -> dict:
    """Poll every URL until it serves ``version``; returns who does, who lags, who is down.

    ``published_at`` is when the workers' pointer changed; ``None`` when each
    host changes its own (S3), so each host's first answer with ``version`` is used.
    """
    deadline = time.monotonic() + timeout
    seen_at: dict[str, float] = {}
    last: dict[str, str] = {}
    refused: dict[str, int] = {url: 0 for url in urls}
    waiting = list(urls)
    while waiting and time.monotonic() < deadline:
        for url in list(waiting):
            try:
                served = _served_version(url, key, timeout=min(5.0, timeout))
            except urllib.error.HTTPError as exc:
                if exc.code in (401, 403):  # no usable key: this URL cannot be checked, only waited for
                    last[url], refused[url] = f"cannot check: HTTP {exc.code} (set an API key)", UNREACHABLE_AFTER
                    waiting.remove(url)
                else:
                    last[url], refused[url] = f"HTTP {exc.code}", 0
                continue
            except ValueError:
                last[url], refused[url] = "answers no JSON meta", 0
                continue
            except (urllib.error.URLError, OSError) as exc:
                refused[url] += 1
                last[url] = f"unreachable: {getattr(exc, 'reason', None) or exc}"
                if refused[url] >= UNREACHABLE_AFTER:
                    waiting.remove(url)
                continue
            last[url], refused[url] = f"serves {served}", 0
            if served == version:
                seen_at[url] = time.monotonic()
                waiting.remove(url)
        if waiting:
            time.sleep(POLL_SECONDS)
    laggards = {url: last.get(url, "no answer") for url in waiting}
    unreachable = {url: last[url] for url in urls if url not in waiting and refused[url] >= UNREACHABLE_AFTER}
    if not laggards:
        changed_at = published_at if published_at is not None else max(seen_at.values(), default=0.0)
        time.sleep(max(0.0, changed_at + check_interval + POLL_SECONDS - time.monotonic()))
    return {"version": version, "urls": list(urls), "laggards": laggards, "unreachable": unreachable}


def clear_app_cache(settings: Settings) -> dict:
    """Clear the shared app cache the web app uses (same config), without a running web app.

    Keys carry the snapshot version, so old entries are never read again; this
    frees their room. cachelib's RedisCache deletes only ``KEY_PREFIX*`` keys.
    """
    cache = AppCache(settings)
    try:
        ok = cache.cache.clear() or cache.backend == "redis"  # Redis answers False when nothing matched
        error = None if ok else "some cache files could not be removed"
    except Exception as exc:  # a cache outage must not fail a published refresh
        ok, error = False, f"{exc.__class__.__name__}: {exc}"
    if not ok:
        log.warning("app cache clear failed (%s): entries of old snapshots stay until they expire", error)
    return {"backend": cache.backend, "ok": ok, "error": error}


@dataclass
class Propagated:
    """What the steps after ``publish`` found: each part is reported as is (``etl.report``)."""

    web: dict  # wait_for_web's answer for the new version
    purge: dict | None = None
    app_cache: dict | None = None  # clear_app_cache's answer; None when the new version was withdrawn
    web_after_restore: dict | None = None
    failure: str | None = None  # why the refresh failed (the previous snapshot is live again)

    def warnings(self) -> list[str]:
        """What went wrong without undoing the publish, one note each."""
        notes = [f"web {url} {state}" for url, state in self.web.get("unreachable", {}).items()]
        if self.app_cache is not None and not self.app_cache["ok"]:
            notes.append(f"app cache not cleared ({self.app_cache['error']})")
        notes += [f"Varnish purge of {n} keys pending on {url} (retried at the next refresh)"
                  for url, n in (self.purge or {}).get("pending", {}).items()]
        return notes


class Propagation:
    """The steps after ``publish`` (and before ``find``, the purges still pending), for one configuration."""

    def __init__(self, settings: Settings, timeout: float | None = None):
        self.settings = settings
        self.web_timeout = timeout if timeout is not None else web_timeout(settings)

    def retry_pending(self, root: Path, steps) -> dict | None:
        """Purges a previous refresh could not send, sent again (``None``: none pending)."""
        if not load_pending(root):
            return None
        with steps("retry_purges"):
            return purge(root, self.settings.varnish_urls, [], token=self.settings.purge_token)

    def _wait(self, version: str, published_at: float) -> dict:
        if self.settings.snapshot_url:  # each host swaps when its poll sees the S3 pointer; with no URL
            # to ask, a whole poll interval is all the refresh can wait (download time not included)
            published_at = None if self.settings.web_urls else published_at + self.settings.snapshot_poll_interval
        return wait_for_web(self.settings.web_urls, version, published_at=published_at,
                            check_interval=self.settings.snapshot_check_interval, timeout=self.web_timeout,
                            key=poll_key(self.settings))

    @staticmethod
    def _purge_plan(published: Published, previous: str | None, version: str) -> tuple[list[str], str]:
        new = published.read_manifest(version)
        try:
            old = published.read_manifest(previous) if previous else None
        except SnapshotError:
            old = None  # purge everything rather than trust an unreadable manifest
        return purge_keys(old, new)

    def before_publish(self, published: Published, previous: str | None, version: str) -> tuple[list[str], str]:
        """Journal the purges that publishing ``version`` calls for (``etl.purge.remember``).

        Returns the plan, (keys, why), for ``after_publish``: the keys purged are the keys journaled.
        """
        plan = self._purge_plan(published, previous, version)
        remember(published.root, self.settings.varnish_urls, plan[0])
        return plan

    def after_publish(self, published: Published, previous: str | None, version: str, published_at: float,
                      steps, plan: tuple[list[str], str], restore: bool = True) -> Propagated:
        """Run the steps; with ``restore``, web workers that never serve ``version`` put ``previous`` back."""
        root = published.root
        keys, why = plan
        with steps("wait_web"):
            web = self._wait(version, published_at)
        laggards = web["laggards"]
        if laggards and restore and previous:
            with steps("restore"):
                published.publish(previous)
                after_restore = self._wait(previous, time.monotonic())
            with steps("purge"):  # answers from the new snapshot may have been cached meanwhile
                purged = {"reason": "restored the previous snapshot", **purge(root, self.settings.varnish_urls, keys,
                                                                    token=self.settings.purge_token)}
            return Propagated(web, purged, web_after_restore=after_restore, failure=(
                f"web workers did not serve {version} within {self.web_timeout:g}s "
                f"({'; '.join(f'{u}: {s}' for u, s in laggards.items())}); {previous} is live again"))
        with steps("clear_cache"):
            cleared = clear_app_cache(self.settings)
        with steps("purge"):
            purged = {"reason": why, **purge(root, self.settings.varnish_urls, keys,
                                                                    token=self.settings.purge_token)}
        return Propagated(web, purged, cleared)
