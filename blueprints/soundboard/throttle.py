"""The per-address click rate limit, shared by the HTTP click route and the WebSocket.

Counted with `limits` (the library behind Flask-Limiter) in ``RATELIMIT_STORAGE_URI``: memory
per process, or Redis so that several workers share one count. Flask-Limiter itself is not used:
clicks are its only limit, and its before-request hook cost every request of the app about a
tenth of its time to find that out.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from functools import lru_cache

from flask import Flask, current_app
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

log = logging.getLogger(__name__)
_setup_lock = threading.Lock()
# The in-memory storage of `limits` starts its expiry timer without a lock; two threads hitting it
# at once could start the same timer twice and fail. One lock per process avoids that.
_memory_lock = threading.Lock()


@lru_cache(maxsize=8)
def _parsed(limit: str) -> RateLimitItem:
    return parse(limit)


def _limiter(app: Flask) -> FixedWindowRateLimiter:
    limiter = app.extensions.get("click_rate_limiter")
    if limiter is None:
        with _setup_lock:
            limiter = app.extensions.get("click_rate_limiter")
            if limiter is None:
                storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
                limiter = app.extensions["click_rate_limiter"] = FixedWindowRateLimiter(storage)
    return limiter


def click_allowed(address: str) -> tuple[bool, int]:
    """Count one click for ``address``; returns (allowed, seconds until the window frees up)."""
    app = current_app._get_current_object()
    if not app.config.get("RATELIMIT_ENABLED", True):
        return True, 0
    item = _parsed(app.config["CLICK_RATE_LIMIT"])
    try:
        limiter = _limiter(app)
        if isinstance(limiter.storage, MemoryStorage):
            with _memory_lock:
                allowed = limiter.hit(item, "click", address)
        else:
            allowed = limiter.hit(item, "click", address)
        if allowed:
            return True, 0
        reset_at = limiter.get_window_stats(item, "click", address).reset_time
        return False, max(1, math.ceil(reset_at - time.time()))
    except Exception:  # noqa: BLE001 - a failing limit storage (Redis down) must not stop clicks
        log.warning("Rate limit storage failed; letting the click through", exc_info=True)
        return True, 0
