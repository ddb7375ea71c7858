"""Issue 13, item 11: a URL cannot forge or corrupt a log line (real gunicorn's access log, the app's logs).

Before: ``%0a`` in a path started a second, forged access-log line (gunicorn
logs the decoded path), and ANSI escapes and NUL bytes were written raw.
"""
from __future__ import annotations

import http.client
import logging
import re
import time

import pytest

from app.logs import SafeFormatter, escape
from tests.support import services

pytestmark = pytest.mark.services
LINE = re.compile(r'^127\.0\.0\.1 - - \[[^\]]+\] "[A-Z]+ [^"]* HTTP/1\.1" \d{3} ')
PATHS = ("/healthz%0a127.0.0.1%20-%20-%20[forged]%20%22GET%20/admin%20HTTP/1.1%22%20200", "/x%1b[31mred%1b[0m",
         "/x%00nul", "/x%0d%0aCR", "/x%22quote", "/x%c2%9bc1")


def raw_get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_logs001_the_access_log_has_one_plain_line_per_request(service_logs, tmp_path):
    env = {"DATAVIZ_SNAPSHOT_DIR": str(tmp_path / "snapshots"), "DATAVIZ_CACHE_DIR": str(tmp_path / "cache")}
    web = services.start_gunicorn(service_logs, env, workers=1)
    try:
        for path in PATHS:
            raw_get(web.port, path)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and web.access_log.read_text().count('"GET /x') < len(PATHS) - 1:
            time.sleep(0.1)
    finally:
        web.stop()
    text = web.access_log.read_text(errors="replace")
    lines = [line for line in text.splitlines() if '"GET /healthz HTTP/1.1"' not in line]  # the start-up wait's
    assert len(lines) == len(PATHS), lines  # one line per request
    assert all(LINE.match(line) for line in lines), lines
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text)
    assert "/healthz\\x0a127.0.0.1 - - [forged] \\x22GET /admin HTTP/1.1\\x22 200" in text
    assert "/x\\x1b[31mred\\x1b[0m" in text and "/x\\x00nul" in text


def test_logs002_the_apps_messages_are_escaped_but_tracebacks_keep_their_lines():
    formatter = SafeFormatter("%(levelname)s %(message)s")
    record = logging.LogRecord("dataviz.api", logging.ERROR, __file__, 1, "unexpected error on %s %s",
                               ("GET", "/a\nINFO forged\x1b[2J\x00"), None)
    assert formatter.format(record) == "ERROR unexpected error on GET /a\\x0aINFO forged\\x1b[2J\\x00"
    try:
        raise ValueError("boom")
    except ValueError:
        import sys
        record = logging.LogRecord("dataviz.api", logging.ERROR, __file__, 1, "failed %s", ("x\ny",), sys.exc_info())
    out = formatter.format(record)
    assert out.startswith("ERROR failed x\\x0ay\nTraceback") and "ValueError: boom" in out
    assert escape("a\\x0a") == "a\\\\x0a"  # a literal backslash cannot pass for an escape
