"""Following a refresh or an erasure that the API started, through ``/api/v1/refresh/status``."""
from __future__ import annotations

import time

from tests.support.credentials import ADMIN_KEY, bearer


def wait_for_report(client, timeout: float = 60.0, after: str | None = None) -> dict:
    """The status once nothing runs and a report (other than the file ``after``) is there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get("/api/v1/refresh/status", headers=bearer(ADMIN_KEY)).get_json()
        report = status["last_report"]
        if report is not None and report["file"] != after and status["running"] is False:
            return status
        time.sleep(0.2)
    raise AssertionError(f"no new report within {timeout}s")
