"""Production entry point: ``gunicorn wsgi:app``. Production refuses the development SECRET_KEY."""
import os
import sys

os.environ.setdefault("APP_ENV", "production")
# Threaded workers: a thread that gives up the GIL for I/O (every SQLite call, every socket write)
# waits up to the switch interval to get it back while other threads compute. The default 5 ms
# made every database call under load cost milliseconds of waiting; 0.5 ms keeps it short.
sys.setswitchinterval(float(os.environ.get("GIL_SWITCH_INTERVAL", "0.0005")))

from app import create_app  # noqa: E402

app = create_app()
