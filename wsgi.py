"""Production entry point: ``gunicorn wsgi:app``. Production refuses the development SECRET_KEY."""
import os
import sys

os.environ.setdefault("APP_ENV", "production")
# Threaded workers: a thread that gives up the GIL for I/O (every SQLite call, every socket write)
# waits up to the switch interval to get it back while other threads compute. The default 5 ms
# made database calls under load wait for milliseconds; a shorter interval forces more thread
# switches, which cost CPU. 2 ms measured best for soundboard clicks (with the benchmark's earlier
# 4-turn measure: HTTP 0.62-0.74x of /ping in six runs, median 0.65x, against 0.56-0.77x, median
# 0.60x, at 0.5 ms and 0.55-0.60x at 5 ms; the 10-turn measure reads a median of 0.58x at 2 ms,
# and the other intervals have not been measured with it).
sys.setswitchinterval(float(os.environ.get("GIL_SWITCH_INTERVAL", "0.002")))

from app import create_app  # noqa: E402

app = create_app()
