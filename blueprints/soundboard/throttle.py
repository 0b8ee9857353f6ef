"""The per-address click rate limit, shared by the HTTP click route and the WebSocket.

It asks Flask-Limiter's storage (memory, or Redis when configured) directly instead of going
through the route decorator: clicks are the hottest path in the app, and the decorator's
bookkeeping (header stats, limit resolution per request) cost a third of an HTTP click's time.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from functools import lru_cache

from flask import current_app
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage

from extensions import limiter

log = logging.getLogger(__name__)
# The in-memory storage of `limits` starts its expiry timer without a lock; two threads hitting it
# at once could start the same timer twice and fail. One lock per process avoids that.
_memory_lock = threading.Lock()


@lru_cache(maxsize=8)
def _parsed(limit: str) -> RateLimitItem:
    return parse(limit)


def click_allowed(address: str) -> tuple[bool, int]:
    """Count one click for ``address``; returns (allowed, seconds until the window frees up)."""
    config = current_app.config
    if not config.get("RATELIMIT_ENABLED", True):
        return True, 0
    item = _parsed(config["CLICK_RATE_LIMIT"])
    strategy = limiter.limiter
    try:
        if isinstance(strategy.storage, MemoryStorage):
            with _memory_lock:
                allowed = strategy.hit(item, "click", address)
        else:
            allowed = strategy.hit(item, "click", address)
        if allowed:
            return True, 0
        reset_at = strategy.get_window_stats(item, "click", address).reset_time
        return False, max(1, math.ceil(reset_at - time.time()))
    except Exception:  # noqa: BLE001 - a failing limit storage (Redis down) must not stop clicks
        log.warning("Rate limit storage failed; letting the click through", exc_info=True)
        return True, 0
