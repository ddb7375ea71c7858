"""A tiny backend that answers like the web app (cache headers, ``xkey`` tags) and counts what reaches it.

It stands in for the web app behind a real varnishd, so that a test can tell a
Varnish HIT from a request that reached the backend.
"""
from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Backend(ThreadingHTTPServer):
    """Answers like the web app would, and counts the requests that reach it."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: Counter = Counter()
        threading.Thread(target=self.serve_forever, daemon=True).start()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.server.hits["POST " + self.path] += 1
        self._answer(200, b"{}", {"Content-Type": "application/json"})

    def do_GET(self):
        self.server.hits[self.path] += 1
        n = self.server.hits[self.path]
        cache = {"Cache-Control": "public, max-age=60, s-maxage=86400", "Content-Type": "application/json"}
        if self.path.startswith("/api/v1/tenants/missing/"):
            self._answer(404, b'{"status": 404}', cache)
        elif self.path.startswith("/api/v1/tenants/"):
            tenant = self.path.split("/")[4]
            body = json.dumps({"tenant": tenant, "auth": self.headers.get("Authorization"), "n": n}).encode()
            self._answer(200, body, {**cache, "xkey": f"tenant-{tenant} snapshot-v1"})
        elif self.path.startswith("/api/v1/"):
            self._answer(200, b'{"version": "v1"}', cache)  # meta: no xkey, so no purge could reach it
        else:
            self._answer(200, b"<html></html>", {"Content-Type": "text/html"})
