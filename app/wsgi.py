"""Entry point for gunicorn: ``gunicorn app.wsgi:server``."""
from app.factory import create_app

app = create_app()
server = app.server
