"""The per-address click rate limit, shared by the HTTP click route and the WebSocket.

A fixed window per address: ``CLICK_RATE_LIMIT`` (parsed by `limits`, the library behind
Flask-Limiter, e.g. ``20/second``) clicks, then nothing until the window that began with the first
of them is over. Where it is counted depends on ``RATELIMIT_STORAGE_URI``:

- ``memory://`` (the default with one process): ``InProcessWindows`` below. `limits` has a memory
  storage too, but it starts a new timer thread every 10 ms from inside the caller's ``hit`` (to
  expire keys), and two threads can start the same timer (``RuntimeError``), so every click had to
  queue on a lock behind those thread starts; that cost a tenth of the click route's speed.
- anything else (``redis://...``, to share the count between workers and servers): `limits`'
  ``FixedWindowRateLimiter`` on that storage.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from functools import lru_cache
from typing import Protocol

from flask import Flask, current_app
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

log = logging.getLogger(__name__)
_setup_lock = threading.Lock()
SWEEP_EVERY = 60.0  # seconds between removals of finished windows (memory stays bounded)


class Windows(Protocol):
    def hit(self, item: RateLimitItem, address: str) -> tuple[bool, int]:
        """Count one click; (allowed, whole seconds until the address's window is over)."""


class InProcessWindows:
    """Fixed windows per address, in this process's memory."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}  # address -> (window ends at, clicks in it)
        self._lock = threading.Lock()
        self._next_sweep = time.monotonic() + SWEEP_EVERY

    def hit(self, item: RateLimitItem, address: str) -> tuple[bool, int]:
        now = time.monotonic()
        with self._lock:
            if now >= self._next_sweep:
                self._windows = {key: window for key, window in self._windows.items() if window[0] > now}
                self._next_sweep = now + SWEEP_EVERY
            ends, clicks = self._windows.get(address, (0.0, 0))
            if now >= ends:
                ends, clicks = now + item.get_expiry(), 0
            if clicks >= item.amount:
                return False, max(1, math.ceil(ends - now))
            self._windows[address] = (ends, clicks + 1)
        return True, 0


class SharedWindows:
    """Fixed windows counted in a `limits` storage that several processes share (Redis)."""

    def __init__(self, storage_uri: str) -> None:
        self._limiter = FixedWindowRateLimiter(storage_from_string(storage_uri))

    def hit(self, item: RateLimitItem, address: str) -> tuple[bool, int]:
        if self._limiter.hit(item, "click", address):
            return True, 0
        reset_at = self._limiter.get_window_stats(item, "click", address).reset_time
        return False, max(1, math.ceil(reset_at - time.time()))


@lru_cache(maxsize=8)
def _parsed(limit: str) -> RateLimitItem:
    return parse(limit)


def _windows(app: Flask) -> Windows:
    windows = app.extensions.get("click_rate_windows")
    if windows is None:
        with _setup_lock:
            windows = app.extensions.get("click_rate_windows")
            if windows is None:
                uri = app.config["RATELIMIT_STORAGE_URI"]
                windows = InProcessWindows() if uri.startswith("memory://") else SharedWindows(uri)
                app.extensions["click_rate_windows"] = windows
    return windows


def click_allowed(address: str) -> tuple[bool, int]:
    """Count one click for ``address``; returns (allowed, seconds until the window frees up)."""
    app = current_app._get_current_object()
    if not app.config.get("RATELIMIT_ENABLED", True):
        return True, 0
    try:
        return _windows(app).hit(_parsed(app.config["CLICK_RATE_LIMIT"]), address)
    except Exception:  # noqa: BLE001 - a failing limit storage (Redis down) must not stop clicks
        log.warning("Rate limit storage failed; letting the click through", exc_info=True)
        return True, 0
