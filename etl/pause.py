"""``DATAVIZ_PAUSE_AT``: stop a refresh at a named point, for fault drills and tests.

``DATAVIZ_PAUSE_AT=publish`` (a comma-separated list: refresh steps such as
``validate``, ``write``, ``publish``, ``purge``, or ``write.rename``, just
before a written snapshot folder is renamed into place) makes the process
send itself SIGSTOP there. Whoever started it can then look at the disk, kill
it with SIGKILL to drill a crash at that exact point, or resume it with SIGCONT.
Unset, it costs one environment lookup per step.
"""
from __future__ import annotations

import logging
import os
import signal

ENV = "DATAVIZ_PAUSE_AT"
log = logging.getLogger("dataviz.refresh")


def pause_point(name: str) -> None:
    if name in (p.strip() for p in os.environ.get(ENV, "").split(",")):
        log.warning("paused at %s (%s); SIGCONT resumes", name, ENV)
        os.kill(os.getpid(), signal.SIGSTOP)
