"""Entry point for gunicorn: ``gunicorn wsgi:app``."""

from webui import create_app

app = create_app()
