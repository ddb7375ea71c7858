"""gunicorn settings for the web app (``gunicorn -c deploy/gunicorn.conf.py app.wsgi:server``).

Every value can be overridden by the usual ``GUNICORN_CMD_ARGS`` or the
``DATAVIZ_BIND`` / ``DATAVIZ_WORKERS`` variables.
"""
import multiprocessing
import os

bind = os.environ.get("DATAVIZ_BIND", "127.0.0.1:8050")
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

errorlog = "-"
loglevel = os.environ.get("DATAVIZ_LOG_LEVEL", "info")
