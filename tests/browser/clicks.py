"""Clicks that wait for the page to settle, shared by the browser tests."""
from __future__ import annotations

import time

from selenium.common.exceptions import ElementClickInterceptedException


def click_once_settled(element, timeout: float = 5) -> None:
    """Click ``element`` as a user would, once nothing lies over it any more.

    A popover is drawn, then moved into place, and a loading overlay can cover a control for a
    moment; a click aimed then would land on whatever lies over the target. Chromedriver refuses
    such a click without dispatching it, so trying again until the page has settled clicks once.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            element.click()
            return
        except ElementClickInterceptedException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
