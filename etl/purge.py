"""Varnish invalidation after a refresh: xkey purges of the tenants whose numbers changed.

API responses carry ``xkey: tenant-<id> snapshot-<version>`` (see
docs/api.md). After a publish, ``purge_keys`` compares each tenant's
content digest (``etl.digest``, stored in the manifest) between the previous
and the new snapshot, and only the tenants that changed, appeared or
disappeared are purged, so unchanged tenants keep their cached answers. With
no previous snapshot, or a change of ``data_as_of`` (which moves every default
date range), every tenant is purged.

Each Varnish host (``DATAVIZ_VARNISH_URLS``) gets ``PURGE /`` with an
``xkey-purge`` header and the shared secret in ``X-Purge-Token``
(``DATAVIZ_PURGE_TOKEN``: the VCL refuses a PURGE without it; the token is
never logged nor written to the pending file), retried with backoff. Keys a host could not purge are
kept in ``<snapshot root>/purge-pending.json`` and sent again at the next
refresh or watch tick, so a Varnish that was down never keeps stale numbers
for a whole ``s-maxage``.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from etl import snapshot as snapshots
from etl.http import open_url

log = logging.getLogger("dataviz.purge")
PENDING_FILE = "purge-pending.json"
KEYS_PER_REQUEST = 100  # keeps the xkey-purge header well under Varnish's 8 KB header limit
ATTEMPTS = 3
BACKOFF_SECONDS = 0.5
TIMEOUT_SECONDS = 5.0


def tenant_key(tenant: str) -> str:
    return f"tenant-{tenant}"


def snapshot_key(version: str) -> str:
    return f"snapshot-{version}"


def purge_keys(old: dict | None, new: dict) -> tuple[list[str], str]:
    """The xkeys to purge going from manifest ``old`` to ``new``, and why."""
    new_digests = new.get("tenant_digests", {})
    every_new = {tenant_key(t) for t in new_digests}
    if old is None:
        return sorted(every_new), "no previous snapshot: every tenant"
    old_digests = old.get("tenant_digests")
    if old_digests is None or not new_digests:
        return sorted(every_new | {snapshot_key(old["version"])}), \
            f"snapshot {old['version']} has no tenant digests: every tenant"
    every = every_new | {tenant_key(t) for t in old_digests}
    if old.get("data_as_of") != new.get("data_as_of"):
        return sorted(every), f"data_as_of moved from {old.get('data_as_of')} to {new.get('data_as_of')}: every tenant"
    changed = sorted(tenant_key(t) for t in set(old_digests) | set(new_digests)
                     if old_digests.get(t) != new_digests.get(t))
    return changed, f"{len(changed)} of {len(set(old_digests) | set(new_digests))} tenants changed"


@dataclass
class HostResult:
    url: str
    ok: bool
    purged: int = 0
    attempts: int = 0
    error: str | None = None

    def to_dict(self) -> dict:
        return {"url": self.url, "ok": self.ok, "purged": self.purged, "attempts": self.attempts,
                "error": self.error}


def _send(url: str, keys: list[str], timeout: float, token: str | None) -> int:
    """One PURGE request; returns the objects Varnish says it invalidated."""
    headers = {"xkey-purge": " ".join(keys)}
    if token:
        headers["X-Purge-Token"] = token
    request = urllib.request.Request(url.rstrip("/") + "/", method="PURGE", headers=headers)
    with open_url(request, timeout) as response:
        return int(response.headers.get("X-Purged") or 0)


def _detail(exc: Exception) -> str:
    """Varnish's reason for refusing a PURGE (the ``detail`` of its problem body), e.g. a missing token."""
    if not isinstance(exc, urllib.error.HTTPError):
        return ""
    try:
        return f" ({json.loads(exc.read(4096))['detail']})"
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def purge_host(url: str, keys: list[str], *, attempts: int = ATTEMPTS, backoff: float = BACKOFF_SECONDS,
               timeout: float = TIMEOUT_SECONDS, token: str | None = None) -> HostResult:
    """Purge ``keys`` on one Varnish, in batches, retrying each batch with exponential backoff."""
    result = HostResult(url, ok=True)
    for start in range(0, len(keys), KEYS_PER_REQUEST):
        batch = keys[start:start + KEYS_PER_REQUEST]
        for attempt in range(1, attempts + 1):
            result.attempts += 1
            try:
                result.purged += _send(url, batch, timeout, token)
                break
            except (urllib.error.URLError, OSError, ValueError) as exc:
                result.error = f"{exc.__class__.__name__}: {getattr(exc, 'reason', None) or exc}{_detail(exc)}"
                log.warning("purge of %d keys on %s failed (attempt %d/%d): %s",
                            len(batch), url, attempt, attempts, result.error)
                if attempt < attempts:
                    time.sleep(backoff * 2 ** (attempt - 1))
        else:
            result.ok = False
            return result
    result.error = None
    return result


def _pending_path(root: Path) -> Path:
    return Path(root) / PENDING_FILE


def load_pending(root: Path) -> dict[str, dict]:
    """``{varnish url: {"keys": [...], "since": iso, "last_error": str}}``; empty when none."""
    try:
        return json.loads(_pending_path(root).read_text())
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        log.error("cannot read %s (%s): the purges it held are lost; purge by hand if in doubt",
                  _pending_path(root), exc)
        return {}


def _save_pending(root: Path, pending: dict[str, dict]) -> None:
    path = _pending_path(root)
    if not pending:
        path.unlink(missing_ok=True)
        return
    snapshots.write_json(path, pending)


def remember(root: Path, urls: tuple[str, ...], keys: list[str]) -> None:
    """Record ``keys`` as pending on every host before the publish that needs them.

    A refresh killed between its publish and its purge would otherwise leave
    Varnish serving the old numbers for a whole ``s-maxage``; recorded first,
    they are sent by the next refresh or watcher tick. ``purge`` clears them.
    """
    if not urls or not keys:
        return
    pending = load_pending(root)
    since = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    for url in urls:
        entry = pending.setdefault(url, {"since": since, "last_error": "not sent yet"})
        entry["keys"] = sorted(set(entry.get("keys", [])) | set(keys))
    _save_pending(root, pending)


def purge(root: Path, urls: tuple[str, ...], keys: list[str], token: str | None = None, **retry) -> dict:
    """Purge ``keys`` plus any pending ones on every host, with ``token`` (``X-Purge-Token``); remember what failed.

    Returns the report section: per host results, and the keys still pending.
    Callers hold the refresh lock, so the pending file has one writer.
    """
    pending = load_pending(root)
    for url in set(pending) - set(urls):
        log.warning("dropping pending purges for %s: no longer in DATAVIZ_VARNISH_URLS", url)
        del pending[url]
    hosts = []
    for url in urls:
        wanted = sorted(set(keys) | set(pending.get(url, {}).get("keys", [])))
        if not wanted:
            continue
        result = purge_host(url, wanted, token=token, **retry)
        hosts.append(result.to_dict())
        if result.ok:
            pending.pop(url, None)
        else:
            since = pending.get(url, {}).get("since") or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
            pending[url] = {"keys": wanted, "since": since, "last_error": result.error}
    _save_pending(root, pending)
    return {"keys": len(keys), "hosts": hosts, "pending": {url: len(p["keys"]) for url, p in pending.items()}}
