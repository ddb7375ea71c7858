"""The edge limits of deploy/varnish/default.vcl (issue 13), on a real varnishd.

Each test starts varnishd with the shipped VCL on a free loopback port, in
front of a small recording backend (or of real gunicorn running the app, for
the slow-client test), and shows one limit from the outside: request bodies,
slow clients, rate limits, what is never cached, what is never answered,
who may PURGE or BAN, and which requests are retried.
"""
from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from deploy import stack
from tests.support import credentials, services

pytestmark = pytest.mark.services

PURGE_TOKEN = "edge-test-purge-token-0123456789abcdef"


class Recorder(ThreadingHTTPServer):
    """Answers like the web app would on a few paths, and records what reaches it."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: Counter = Counter()
        self.bodies: dict[str, int] = {}
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server_address[1]


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _answer(self, status: int, body: bytes = b"{}", headers: dict | None = None) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self):
        self.server.hits[f"{self.command} {self.path}"] += 1
        path = self.path
        if path.startswith("/reset"):
            self.connection.shutdown(socket.SHUT_RDWR)  # a worker killed mid-request: no answer at all
            return
        if path.startswith("/slow"):
            time.sleep(1.5)
            return self._answer(200)
        if path.startswith(("/assets/missing", "/_dash-component-suites/dash/missing")):
            return self._answer(404, b"not found", {"Content-Type": "text/plain"})
        if path.startswith("/assets/boom"):
            return self._answer(500, b"boom", {"Content-Type": "text/plain"})
        if path.startswith("/assets/"):
            return self._answer(200, b"body{}", {"Content-Type": "text/css"})
        if path.startswith("/api/v1/boom"):
            return self._answer(503, b"{}", {"Cache-Control": "public, s-maxage=86400", "xkey": "tenant-a"})
        if path.startswith("/api/v1/tenants/"):
            if self.headers.get("Authorization", "").startswith("Bearer bad"):
                return self._answer(401, b'{"status": 401}', {"Cache-Control": "no-store"})
            tenant = path.split("/")[4]
            return self._answer(200, json.dumps({"tenant": tenant}).encode(),
                                {"Cache-Control": "public, s-maxage=86400", "xkey": f"tenant-{tenant}"})
        return self._answer(200, b"operators only" if "metrics" in path or "readyz" in path else b"{}")

    def do_GET(self):
        self._route()

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.server.bodies[self.path] = len(self.rfile.read(length)) if length else 0
        self._route()


def start_varnish(log_dir, backend_port: int, env: dict | None = None, vcl_text: str | None = None, tmp=None):
    """varnishd with the shipped VCL (or ``vcl_text``), ``env`` in its environment: the VCL's own
    rate limits unless ``env`` sets them (not the suite's raised ones)."""
    vcl = services.VCL
    if vcl_text is not None:
        vcl = tmp / "edge.vcl"
        vcl.write_text(vcl_text)
    return services.start_varnish(log_dir, backend_port, vcl=vcl, env=env or {})


@pytest.fixture(scope="module")
def edge(service_logs):
    backend = Recorder()
    proxy = start_varnish(service_logs, backend.port, {"DATAVIZ_PURGE_TOKEN": PURGE_TOKEN})
    yield proxy, backend
    proxy.stop()
    backend.shutdown()


def request(port: int, method: str, path: str, headers: dict | None = None, body=None,
            source: str | None = None, timeout: float = 10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def assert_problem(answer, status: int) -> dict:
    code, headers, body = answer
    assert code == status, (code, body[:200])
    assert headers["Content-Type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == status and problem["type"] == "about:blank" and problem["detail"]
    return problem


def raw_exchange(port: int, data: bytes, source: str, timeout: float = 5) -> tuple[int, dict, bytes]:
    """Send ``data`` as is and read one answer: for bodies http.client would not send."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0)) as sock:
        sock.sendall(data)
        received = b""
        while b"\r\n\r\n" not in received:
            piece = sock.recv(65536)
            if not piece:
                break
            received += piece
    if not received:
        raise ConnectionAbortedError("closed without an answer")
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    length = int(headers.get("Content-Length", len(body)))
    return int(lines[0].split()[1]), headers, body[:length]


def test_edge001_request_bodies_over_1_mb_are_refused_before_the_backend(edge):
    proxy, backend = edge
    # 90 MB announced (the reproduction): refused from the headers alone, nothing read, nothing forwarded
    head = (b"POST /_dash-update-component?announced HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 94371840\r\n\r\n")
    problem = assert_problem(raw_exchange(proxy.port, head, "127.0.0.11"), 413)
    assert "1 MB" in problem["detail"]
    # chunked, no length announced: Varnish stops reading one byte past 1 MB and closes the connection
    # (Varnish 7.1 answers nothing once a body read has failed)
    chunk = b"%x\r\n%s\r\n" % (256 * 1024, b"x" * 256 * 1024)
    with pytest.raises(ConnectionError):
        raw_exchange(proxy.port, b"POST /_dash-update-component?chunked HTTP/1.1\r\nHost: x\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n" + chunk * 4 + b"1\r\nx\r\n", "127.0.0.11")
    assert not [k for k in backend.hits if "announced" in k or "chunked" in k]
    # up to 1 MB goes through whole, chunked or not (the app's largest callback is 42 KB)
    status, _, _ = request(proxy.port, "POST", "/_dash-update-component?fits", {"Content-Type": "application/json"},
                           b"x" * 1_000_000, source="127.0.0.11")
    assert status == 200 and backend.bodies["/_dash-update-component?fits"] == 1_000_000
    status, _, _ = request(proxy.port, "POST", "/_dash-update-component?fits-chunked", {}, iter([b"x" * 500_000] * 2),
                           source="127.0.0.11")
    assert status == 200 and backend.bodies["/_dash-update-component?fits-chunked"] == 1_000_000


def test_edge010_errors_of_static_files_and_5xx_are_not_cached(edge):
    proxy, backend = edge
    for path in ("/assets/missing.css", "/assets/boom.js", "/_dash-component-suites/dash/missing.js?v=1",
                 "/api/v1/boom"):
        first = request(proxy.port, "GET", path, source="127.0.0.12")
        second = request(proxy.port, "GET", path, source="127.0.0.12")
        assert first[0] == second[0] and first[0] >= 400, path
        assert second[1]["X-Cache"] == "MISS" and backend.hits[f"GET {path}"] == 2, path
    # a file that exists is still kept, whoever asks
    assert request(proxy.port, "GET", "/assets/style.css", source="127.0.0.12")[1]["X-Cache"] == "MISS"
    assert request(proxy.port, "GET", "/assets/style.css", source="127.0.0.13")[1]["X-Cache"] == "HIT"


def test_edge012_metrics_and_readyz_are_not_answered_through_varnish(edge):
    proxy, backend = edge
    for path in ("/metrics", "/readyz", "/metrics/", "//metrics", "/METRICS", "/%6Detrics", "/readyz?x=1",
                 "/%72eadyz", "http://example.com/metrics"):
        assert_problem(request(proxy.port, "GET", path, source="127.0.0.14"), 404)
    assert not [k for k in backend.hits if "metrics" in k.lower() or "eadyz" in k]
    assert request(proxy.port, "GET", "/healthz", source="127.0.0.14")[0] == 200  # liveness stays public


def test_edge013_purge_and_ban_need_the_token_and_a_failed_ban_is_not_200(edge):
    proxy, backend = edge
    path = "/api/v1/tenants/p/kpis"
    request(proxy.port, "GET", path)
    assert request(proxy.port, "GET", path)[1]["X-Cache"] == "HIT"
    for headers in ({"xkey-purge": "tenant-p"}, {"xkey-purge": "tenant-p", "X-Purge-Token": "guess"}):
        assert_problem(request(proxy.port, "PURGE", "/", headers), 403)  # from loopback, inside the ACL
    assert_problem(request(proxy.port, "BAN", "/", {"X-Ban-Url": "."}), 403)
    assert request(proxy.port, "GET", path)[1]["X-Cache"] == "HIT"
    # the ACL still applies with the token
    assert_problem(request(proxy.port, "PURGE", "/", {"xkey-purge": "tenant-p", "X-Purge-Token": PURGE_TOKEN},
                           source="127.0.0.2"), 403)
    status, headers, _ = request(proxy.port, "PURGE", "/", {"xkey-purge": "tenant-p", "X-Purge-Token": PURGE_TOKEN})
    assert (status, headers["X-Purged"]) == (200, "1")
    assert request(proxy.port, "GET", path)[1]["X-Cache"] == "MISS"
    # a BAN Varnish cannot apply is an error, not "200 Banned"
    for bad in ("(", 'x" || obj.status != 0 || "', "^/a b"):
        problem = assert_problem(request(proxy.port, "BAN", "/", {"X-Ban-Url": bad, "X-Purge-Token": PURGE_TOKEN}),
                                 400)
        assert "ban" in problem["detail"].lower()
    assert request(proxy.port, "GET", path)[1]["X-Cache"] == "HIT"
    assert request(proxy.port, "BAN", "/", {"X-Ban-Url": "^/api/v1/tenants/p/", "X-Purge-Token": PURGE_TOKEN})[0] == 200
    assert request(proxy.port, "GET", path)[1]["X-Cache"] == "MISS"


def test_edge014_only_quick_failures_of_get_are_retried(service_logs, tmp_path):
    backend = Recorder()
    vcl = services.VCL.read_text().replace("first_byte_timeout = 60s;", "first_byte_timeout = 1s;")
    proxy = start_varnish(service_logs, backend.port, vcl_text=vcl, tmp=tmp_path)
    try:
        assert request(proxy.port, "GET", "/slow")[0] == 503
        assert backend.hits["GET /slow"] == 1  # not three times 1 s of a worker
        assert request(proxy.port, "POST", "/reset", {}, b"{}")[0] == 503
        assert backend.hits["POST /reset"] == 1  # a callback is never sent twice
        assert request(proxy.port, "GET", "/reset")[0] == 503
        assert backend.hits["GET /reset"] == 3  # a broken connection: asked again, twice
    finally:
        proxy.stop()
        backend.shutdown()


def assert_throttled(answer, retry_after: str) -> None:
    assert_problem(answer, 429)
    assert answer[1]["Retry-After"] == retry_after


def test_edge007_a_flooding_client_gets_429_and_others_do_not(edge):
    """The default limit: 300 requests reaching the backend per client address in 10 s (30/s refilled)."""
    proxy, backend = edge
    flooder, other = "127.0.0.31", "127.0.0.32"
    request(proxy.port, "GET", "/assets/flood.css", source=other)  # cached before the flood
    answers = []
    for n in range(420):
        answers.append(request(proxy.port, "GET", f"/explore?n={n}", source=flooder))
        if answers[-1][0] == 429:
            break
        if n % 50 == 0:
            assert request(proxy.port, "GET", "/explore?other", source=other)[0] == 200
    assert answers[-1][0] == 429 and 300 <= len(answers) < 420, len(answers)
    assert_throttled(answers[-1], "10")
    assert sum(1 for k in backend.hits if k.startswith("GET /explore?n=")) == len(answers) - 1
    # blocked for 10 s whatever it asks of gunicorn, but cache hits are still served to it
    assert_throttled(request(proxy.port, "GET", "/api/v1/tenants/x/kpis", source=flooder), "10")
    assert request(proxy.port, "GET", "/assets/flood.css", source=flooder)[:2][0] == 200
    assert request(proxy.port, "GET", "/assets/flood.css", source=flooder)[1]["X-Cache"] == "HIT"
    for _ in range(5):
        assert request(proxy.port, "GET", "/explore?other", source=other)[0] == 200


def test_edge007_credential_and_failed_credential_limits(service_logs):
    """Lower limits set through varnishd's environment: per credential, and per address for 401/403s."""
    backend = Recorder()
    proxy = start_varnish(service_logs, backend.port, {"DATAVIZ_EDGE_CREDENTIAL_LIMIT": "20",
                                                       "DATAVIZ_EDGE_FAILURE_LIMIT": "10"})
    try:
        def sources():
            while True:
                yield from (f"127.0.0.{n}" for n in range(41, 49))

        # one API key used from eight addresses: limited as one; another key from the same addresses is not
        spread = sources()
        codes = [request(proxy.port, "GET", f"/api/v1/tenants/t{n}/kpis", {"Authorization": "Bearer k-flood"},
                         source=next(spread))[0] for n in range(40)]
        assert codes[:20] == [200] * 20 and codes[-1] == 429, codes
        assert_throttled(request(proxy.port, "GET", "/api/v1/tenants/t99/kpis", {"Authorization": "Bearer k-flood"},
                                 source="127.0.0.49"), "10")
        assert request(proxy.port, "GET", "/api/v1/tenants/t1/kpis", {"Authorization": "Bearer k-other"},
                       source="127.0.0.41")[0] == 200
        # the same for an embed token in the page URL
        codes = [request(proxy.port, "GET", f"/embed/overview?token=tok-flood&n={n}", source=next(spread))[0]
                 for n in range(40)]
        assert codes[:20] == [200] * 20 and codes[-1] == 429, codes
        assert request(proxy.port, "GET", "/embed/overview?token=tok-other", source="127.0.0.41")[0] == 200

        # credential guessing: after 10 refusals in 60 s, the address gets 429 even with a good key
        codes = [request(proxy.port, "GET", "/api/v1/tenants/g/kpis", {"Authorization": f"Bearer bad-{n}"},
                         source="127.0.0.51")[0] for n in range(12)]
        assert codes[:10] == [401] * 10 and codes[-1] == 429, codes
        assert_throttled(request(proxy.port, "GET", "/api/v1/tenants/g2/kpis", {"Authorization": "Bearer good"},
                                 source="127.0.0.51"), "60")
        assert request(proxy.port, "GET", "/api/v1/tenants/g2/kpis", {"Authorization": "Bearer good"},
                       source="127.0.0.52")[0] == 200
    finally:
        proxy.stop()
        backend.shutdown()


class Trickle(threading.Thread):
    """A client that sends its request head (or, with ``body``, a POST's body) one byte at a time."""

    def __init__(self, port: int, source: str, body: bool, seconds: float, gap: float = 0.5):
        super().__init__(daemon=True)
        self.port, self.source, self.body, self.seconds, self.gap = port, source, body, seconds, gap
        self.cut = False  # Varnish closed the connection before the client was done

    def run(self):
        if self.body:
            head, rest = b"POST /_dash-update-component HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" \
                         b"Content-Length: 200\r\n\r\n", b"{" * 200
        else:
            head, rest = b"", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"x" * 200
        deadline = time.monotonic() + self.seconds
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5,
                                          source_address=(self.source, 0)) as sock:
                sock.sendall(head)
                for byte in rest:
                    if time.monotonic() > deadline:
                        return
                    sock.sendall(bytes([byte]))
                    time.sleep(self.gap)
        except OSError:
            self.cut = True


def test_edge002_slow_clients_do_not_pin_gunicorn_workers(service_logs, tmp_path):
    """12 slow clients (8 trickling a callback body, 4 their headers) for 9 s, in front of real gunicorn
    (the app, 1 worker of 2 threads): normal requests through Varnish answer while
    they are all still connected.

    Varnish with deploy/stack.py's parameters: headers must arrive whole within 5 s (timeout_idle).
    """
    env = {"DATAVIZ_THREADS": "2", "DATAVIZ_SNAPSHOT_DIR": str(tmp_path / "snapshots"),
           "DATAVIZ_CACHE_DIR": str(tmp_path / "cache"), "DATAVIZ_ACCESS_LOG": "-", **credentials.service_env()}
    web = services.start_gunicorn(service_logs, env, workers=1)
    proxy = services.start_varnish(service_logs, web.port, params=stack.VARNISH_PARAMS)
    try:
        assert request(proxy.port, "GET", "/healthz", source="127.0.0.61")[0] == 200
        slow = [Trickle(proxy.port, f"127.0.0.{70 + n}", body=n < 8, seconds=9) for n in range(12)]
        began = time.monotonic()
        for client in slow:
            client.start()
        time.sleep(1.5)  # every slow client is connected and trickling
        for n in range(4):
            # answered while every slow body still holds its connection (they trickle for 9 s): not queued
            # behind them. The long timeout only guards against a hang; the order is what is checked.
            status, _, _ = request(proxy.port, "GET", f"/healthz?n={n}", source="127.0.0.62", timeout=30)
            assert status == 200 and all(client.is_alive() for client in slow[:8]), n
            time.sleep(0.5)
        time.sleep(max(0.0, began + 6.5 - time.monotonic()))
        assert all(client.is_alive() for client in slow[:8])  # still trickling: the bodies were not cut short
        assert not any(client.is_alive() for client in slow[8:])  # headers not whole within 5 s: closed
        assert all(client.cut for client in slow[8:])
        for client in slow:
            client.join(10)
    finally:
        proxy.stop()
        web.stop()
