"""Log lines that a request cannot forge: control characters in logged text are escaped.

A ``%0a`` in a URL path (decoded by gunicorn) used to start a new, forged
access-log line, and ANSI escapes and NUL bytes were written raw (a terminal
running ``tail`` would obey them). Every character below 0x20, DEL, the C1
controls and the double quote (which delimits the request in the access log)
become ``\\xNN``; the backslash becomes ``\\\\``, so an escape in the log always
means one in the request. Used by the app's log formatter and by
deploy/gunicorn.conf.py's access log.
"""
from __future__ import annotations

import logging
import re

_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f"\\]')


def escape(text: str) -> str:
    return _UNSAFE.sub(lambda m: "\\\\" if m[0] == "\\" else f"\\x{ord(m[0]):02x}", text)


class SafeFormatter(logging.Formatter):
    """The message (with its arguments) escaped; a traceback keeps its lines (the app's own text)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        safe = logging.makeLogRecord(record.__dict__)
        safe.message = escape(record.message)
        return super().formatMessage(safe)
