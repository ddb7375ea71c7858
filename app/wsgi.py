"""Entry point for gunicorn: ``gunicorn app.wsgi:server``.

Each worker imports it after the fork. The C allocator's arenas are capped
(``app.allocator``) first, before any import starts a thread that would take an
arena of its own.
"""
from app.allocator import limit_malloc_arenas

limit_malloc_arenas()

from app.factory import create_app  # noqa: E402  (after the cap)

app = create_app()
server = app.server
