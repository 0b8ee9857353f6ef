"""Production entry point: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Production refuses the development SECRET_KEY; ``make run`` sets APP_ENV=development.
"""
import os

os.environ.setdefault("APP_ENV", "production")

from app import create_app  # noqa: E402

app = create_app()
