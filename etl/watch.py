"""``python -m etl watch``: refresh whenever a new complete export appears, until SIGTERM.

Each tick runs the production chain (``refresh_with_settings``): when the
newest export is already live it only lists the source and retries pending
Varnish purges, so a short interval is cheap. An export that was rejected is
not read again until it changes (the export identity carries a fingerprint of
its files, so a fixed upload under the same date is read at once), a newer
one appears, or an hour has passed. SIGTERM or SIGINT ends the loop
after the refresh in progress, if any: a refresh is atomic, so a process
manager that loses patience and kills it leaves the old snapshot live.
"""
from __future__ import annotations

import logging
import signal
import threading
import time

from app.config import Settings
from etl.refresh import refresh_with_settings

log = logging.getLogger("dataviz.watch")
RETRY_REJECTED_SECONDS = 3600


def watch(settings: Settings, interval: float) -> int:
    """Loop until SIGTERM or SIGINT; returns the exit code."""
    stop = threading.Event()

    def on_signal(signum, _frame):
        log.info("watch: %s received, stopping after the current tick", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info("watch: polling %s every %gs", settings.source, interval)
    rejected: dict | None = None
    rejected_at = 0.0
    while not stop.is_set():
        if rejected is not None and time.monotonic() - rejected_at > RETRY_REJECTED_SECONDS:
            rejected = None
        try:
            result = refresh_with_settings(settings, skip_export=rejected)
        except Exception:  # a watcher that dies stops every later refresh: log, and try again next tick
            log.exception("watch: refresh crashed")
        else:
            if result.outcome == "rejected":
                rejected, rejected_at = result.report.get("export"), time.monotonic()
            elif result.outcome == "published":
                rejected = None
        stop.wait(interval)
    log.info("watch: stopped")
    return 0
