"""gunicorn settings for the web app (``gunicorn -c deploy/gunicorn.conf.py app.wsgi:server``).

Every value can be overridden by the usual ``GUNICORN_CMD_ARGS`` or the
``DATAVIZ_BIND`` / ``DATAVIZ_WORKERS`` / ``DATAVIZ_CONTROL_SOCKET`` variables.

Production shape: gunicorn listens on loopback only (with several web hosts,
a private address only the Varnish nodes reach), behind Varnish
(deploy/varnish/default.vcl), which reads every request body whole (at most
1 MB) before passing it on. Its gthread workers block on a slow client, so
they must never face one directly (docs/security.md, "Edge limits").
"""
import ipaddress
import multiprocessing
import os
import re
import sys
from pathlib import Path

from gunicorn.glogging import Logger

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for app.allocator and app.logs
from app.allocator import limit_malloc_arenas  # noqa: E402  (after the path)
from app.logs import escape  # noqa: E402

# In the master, before it starts a thread (its control socket's): the workers it forks inherit the cap, and
# no arena made before it (app.allocator; app.wsgi sets it again for servers that do not read this file).
limit_malloc_arenas()

bind = os.environ.get("DATAVIZ_BIND", "127.0.0.1:8050")


def exposure(address: str) -> str | None:
    """Why gunicorn listening on ``address`` would face clients without Varnish in between, or None.

    Allowed: a unix socket or an inherited descriptor, loopback, and a private address (several web
    hosts behind Varnish nodes on a private network). Refused: every interface (``0.0.0.0``, ``::``,
    no host), a public address, and a host name, which cannot be told apart from a public one.
    """
    if address.startswith(("unix:", "fd://")):
        return None
    host = address[1:address.find("]")] if address.startswith("[") else address.rsplit(":", 1)[0]
    if host == "localhost":
        return None
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return "every interface" if host in ("", "*") else "a host name: give the address itself"
    if ip.is_unspecified:
        return "every interface"
    return None if ip.is_loopback or (ip.is_private and not ip.is_global) else "a public address"


def on_starting(server):
    """Refuse to start on an address a client could reach directly (whatever set it: DATAVIZ_BIND,
    GUNICORN_CMD_ARGS or --bind): a gthread worker stays pinned by a client that sends slowly, so
    only Varnish, which reads each request whole first, may talk to gunicorn (docs/security.md)."""
    refused = [f"{address} ({why})" for address in server.cfg.bind if (why := exposure(address))]
    if refused:
        raise RuntimeError("refusing to listen on " + ", ".join(refused) + ": gunicorn must sit behind "
                           "Varnish, on loopback, a unix socket or a private address (DATAVIZ_BIND)")
workers = int(os.environ.get("DATAVIZ_WORKERS", max(2, multiprocessing.cpu_count())))
worker_class = "gthread"
threads = int(os.environ.get("DATAVIZ_THREADS", 4))
timeout = 60
graceful_timeout = 30
keepalive = 5
# Workers load the snapshot themselves (after fork), so a new snapshot and a
# restarted worker behave the same way; max_requests bounds slow leaks.
preload_app = False
max_requests = 20000
max_requests_jitter = 2000
accesslog = os.environ.get("DATAVIZ_ACCESS_LOG", "-")
# The path without its query string: embed tokens travel in ?token= and must never reach a log.
access_log_format = '%(h)s - - %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(M)sms'


class SafeAccessLogger(Logger):
    """Every text atom of the access log escaped (``app.logs.escape``): ``%(U)s`` is the decoded path,
    so a ``%0a`` in it used to forge a second line, and ANSI escapes and NUL bytes were logged raw."""

    def atoms(self, resp, req, environ, request_time):
        return {name: escape(value) if isinstance(value, str) else value
                for name, value in super().atoms(resp, req, environ, request_time).items()}


logger_class = SafeAccessLogger

# gunicorn 25.1+ opens a control socket for ``gunicornc``, by default at one
# path per user ($XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl):
# a second instance on the host would silently take the first one's over.
# One per instance, named after its bind address (two instances cannot share one).
_runtime_dir = os.environ.get("XDG_RUNTIME_DIR") or ""
if not os.path.isdir(_runtime_dir):
    _runtime_dir = os.path.join(os.path.expanduser("~"), ".gunicorn")
control_socket = os.environ.get("DATAVIZ_CONTROL_SOCKET") or os.path.join(
    _runtime_dir, "dataviz-" + re.sub(r"[^A-Za-z0-9.]+", "-", bind).strip("-")[-60:] + ".ctl")
control_socket_mode = 0o600

errorlog = "-"
loglevel = os.environ.get("DATAVIZ_LOG_LEVEL", "info")
