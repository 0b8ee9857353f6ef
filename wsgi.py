"""Production entry point: ``gunicorn wsgi:app``. Production refuses the development SECRET_KEY."""
import os

os.environ.setdefault("APP_ENV", "production")

from app import create_app  # noqa: E402

app = create_app()
