"""Per-address limits on the soundboard: clicks per second and open pages.

Clicks: a fixed window per address, ``CLICK_RATE_LIMIT`` (parsed by `limits`, the library behind
Flask-Limiter, e.g. ``20/second``), shared by the HTTP click route and the WebSocket. Counted in
this process's memory (``InProcessWindows``: `limits`' own memory storage starts a timer thread
from inside the caller's ``hit``, which every click had to queue behind) unless
``RATELIMIT_STORAGE_URI`` names a shared storage such as Redis.

Open pages: at most ``WS_CONNECTIONS_PER_ADDRESS`` per address, counted across every worker and
server in Redis when ``REDIS_URL`` is set (``SharedConnectionSlots``), in this process otherwise.
While Redis is unreachable both fall back to this process's own count, so the site keeps working.
"""
from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Protocol

from flask import Flask, current_app
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from redis_link import RedisLink, app_link, client_options, is_redis_uri, redis_link

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
    """Fixed windows counted in a `limits` storage that several processes share (Redis); while
    that Redis is unreachable (its ``RedisLink`` is down), in this process's memory."""

    def __init__(self, storage_uri: str, config: Mapping[str, Any] | None = None) -> None:
        config = config or {}
        redis_storage = is_redis_uri(storage_uri)
        options = client_options(config) if redis_storage else {}
        self._limiter = FixedWindowRateLimiter(storage_from_string(storage_uri, **options))
        self._link = redis_link(storage_uri, config) if redis_storage else None
        self._fallback = InProcessWindows()

    def hit(self, item: RateLimitItem, address: str) -> tuple[bool, int]:
        if self._link is None:
            return self._shared_hit(item, address)
        return self._link.call(lambda _client: self._shared_hit(item, address), lambda: self._fallback.hit(item, address))

    def _shared_hit(self, item: RateLimitItem, address: str) -> tuple[bool, int]:
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
                windows = InProcessWindows() if uri.startswith("memory://") else SharedWindows(uri, app.config)
                app.extensions["click_rate_windows"] = windows
    return windows


def click_allowed(address: str) -> tuple[bool, int]:
    """Count one click for ``address``; returns (allowed, seconds until the window frees up)."""
    from blueprints.soundboard.services import effective_live_settings  # services import this module's users

    app = current_app._get_current_object()
    if not app.config.get("RATELIMIT_ENABLED", True):
        return True, 0
    limit = effective_live_settings(app)["click_rate_limit"]
    if limit is None:
        return True, 0
    try:
        return _windows(app).hit(_parsed(limit), address)
    except Exception:  # noqa: BLE001 - a failing limit storage other than Redis must not stop clicks
        log.warning("Rate limit storage failed; letting the click through", exc_info=True)
        return True, 0


# --- open pages per address ------------------------------------------------------------------


class ConnectionSlots:
    """Open pages per address in this process. ``acquire`` returns a slot to hand back to
    ``release``, or None at the limit (a negative or None limit means no limit)."""

    def __init__(self) -> None:
        self._open: Counter[str] = Counter()
        self._lock = threading.Lock()

    def acquire(self, address: str, limit: int | None) -> str | None:
        with self._lock:
            if limit is not None and limit >= 0 and self._open[address] >= limit:
                return None
            self._open[address] += 1
            return uuid.uuid4().hex

    def release(self, address: str, slot: str) -> None:
        with self._lock:
            self._open[address] -= 1
            if self._open[address] <= 0:
                del self._open[address]

    def close(self) -> None:
        pass


# Atomic in Redis: forget expired slots, refuse at the limit, else take one.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local limit = tonumber(ARGV[3])
if limit >= 0 and redis.call('ZCARD', KEYS[1]) >= limit then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class SharedConnectionSlots:
    """Open pages per address across every process: a Redis sorted set per address whose members
    are the open pages, each with an expiry that its process renews while the page is open, so a
    killed process's pages stop counting after ``SLOT_TTL`` seconds."""

    SLOT_TTL = 60
    RENEW_EVERY = 20

    def __init__(self, link: RedisLink, prefix: str) -> None:
        self._link = link
        self._redis = link.client
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._prefix = prefix
        self._held: dict[str, str] = {}  # slot -> address, for the pages open in this process
        self._fallback = ConnectionSlots()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._renewer = threading.Thread(target=self._renew_loop, name="soundboard-slots", daemon=True)
        self._renewer.start()

    def _key(self, address: str) -> str:
        return f"{self._prefix}:ws:{address}"

    def acquire(self, address: str, limit: int | None) -> str | None:
        slot = uuid.uuid4().hex
        now = time.time()
        args = [now, now + self.SLOT_TTL, -1 if limit is None else limit, slot, self.SLOT_TTL * 2]
        taken = self._link.call(lambda _client: bool(self._acquire(keys=[self._key(address)], args=args)), lambda: None)
        if taken is None:  # Redis down: count in this process until it is back
            fallback = self._fallback.acquire(address, limit)
            return None if fallback is None else "local:" + fallback
        if not taken:
            return None
        with self._lock:
            self._held[slot] = address
        return slot

    def release(self, address: str, slot: str) -> None:
        if slot.startswith("local:"):
            self._fallback.release(address, slot)
            return
        with self._lock:
            self._held.pop(slot, None)
        self._link.call(lambda client: client.zrem(self._key(address), slot), lambda: None)  # else it expires by itself

    def _renew_loop(self) -> None:
        while not self._stopped.wait(self.RENEW_EVERY):
            with self._lock:
                held = list(self._held.items())
            self._link.call(lambda client: self._renew(client, held), lambda: None)

    def _renew(self, client, held: list[tuple[str, str]]) -> None:
        expires = time.time() + self.SLOT_TTL
        pipeline = client.pipeline(transaction=False)
        for slot, address in held:
            pipeline.zadd(self._key(address), {slot: expires}, xx=True)
            pipeline.expire(self._key(address), self.SLOT_TTL * 2)
        pipeline.execute()

    def close(self) -> None:
        self._stopped.set()


def connection_slots(app: Flask) -> ConnectionSlots | SharedConnectionSlots:
    link = app_link(app)
    if link is not None:
        return SharedConnectionSlots(link, app.config.get("SOUNDBOARD_CHANNEL") or "themeboard:soundboard")
    return ConnectionSlots()
