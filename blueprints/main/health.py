"""``/healthz``: each dependency checked once, with its latency, and what the site can do without it.

The database and the media storage are required: without either the site cannot serve, and the
answer is 503 ``down``. Redis and the job queue are optional: without them the site serves from
this process (redis_link.py), and the answer is 200 ``degraded``.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import text

from blueprints.common.errors import database_unavailable
from extensions import db
from media.storage import LocalStorage, get_storage
from redis_link import app_link

log = logging.getLogger(__name__)
REQUIRED = ("database", "storage")
STORAGE_PROBE_KEY = "healthz-probe"  # a key that need not exist: its lookup proves the store answers


def _timed(check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    result = check()
    return {**result, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


def check_database() -> dict[str, Any]:
    try:
        db.session.execute(text("SELECT 1"))
        return {"status": "ok"}
    except Exception as error:  # noqa: BLE001 - any failure is the answer here, not a 500
        if not database_unavailable(error):
            log.exception("Health check: the database failed")
        return {"status": "down", "error": type(error).__name__}
    finally:
        try:
            db.session.remove()
        except Exception:  # noqa: BLE001 - a dead connection cannot roll back; the pool discards it
            pass


def check_storage() -> dict[str, Any]:
    try:
        storage = get_storage()
        if isinstance(storage, LocalStorage):
            if not (storage.root.is_dir() and os.access(storage.root, os.W_OK | os.X_OK)):
                return {"status": "down", "error": "MEDIA_ROOT is missing or not writable"}
        else:
            storage.stat(STORAGE_PROBE_KEY)
        return {"status": "ok"}
    except Exception as error:  # noqa: BLE001
        log.warning("Health check: the media storage failed: %s", error)
        return {"status": "down", "error": type(error).__name__}


def check_redis(app: Flask) -> dict[str, Any]:
    link = app_link(app)
    if link is None:
        return {"status": "off"}
    if not link.up:  # its probe pings every second meanwhile: no wait here on a silent Redis
        return {"status": "down"}
    answered, _ = link.check()
    return {"status": "ok" if answered else "down"}


def check_queue(app: Flask) -> dict[str, Any]:
    from rq import Queue, SimpleWorker
    from rq.serializers import JSONSerializer

    link = app_link(app)
    if link is None:
        return {"status": "ok", "runs": "in-process"}
    if not link.up:
        return {"status": "down", "runs": "in-process until Redis is back"}
    queue = Queue(app.config["JOBS_QUEUE"], connection=link.client, serializer=JSONSerializer)
    try:
        waiting = queue.count
        workers = SimpleWorker.count(connection=link.client, queue=queue)
    except Exception as error:  # noqa: BLE001 - Redis went away between two checks
        link.failed(error)
        return {"status": "down", "runs": "in-process until Redis is back"}
    # Jobs that wait with nobody to take them are late uploads: worth an operator's look.
    status = "degraded" if waiting and not workers else "ok"
    return {"status": status, "runs": "workers", "workers": workers, "waiting": waiting}


def health_report(app: Flask) -> tuple[dict[str, Any], int]:
    checks = {
        "database": _timed(check_database),
        "storage": _timed(check_storage),
        "redis": _timed(lambda: check_redis(app)),
        "queue": _timed(lambda: check_queue(app)),
    }
    if any(checks[name]["status"] == "down" for name in REQUIRED):
        return {"status": "down", "checks": checks}, 503
    if any(check["status"] in ("down", "degraded") for check in checks.values()):
        return {"status": "degraded", "checks": checks}, 200
    return {"status": "ok", "checks": checks}, 200
