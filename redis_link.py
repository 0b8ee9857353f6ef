"""Redis is optional: what uses it (click limits, open-page counts, live updates, notifications, the
job queue) falls back to this process while it is unreachable, and goes back to it by itself.

One ``RedisLink`` per Redis URL and process holds a client with short socket timeouts
(``REDIS_CONNECT_TIMEOUT``, ``REDIS_SOCKET_TIMEOUT``), so a Redis that stops answering costs one
caller at most those seconds. The first failure marks the link down (logged once); from then on
callers take their fallback at once, without touching the network, while a background probe pings
Redis every ``PROBE_EVERY`` seconds and marks the link up again when it answers (logged once).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

log = logging.getLogger(__name__)
T = TypeVar("T")
PROBE_EVERY = 1.0  # seconds between two pings while Redis is down
# What a Redis that is down or not answering raises (redis-py wraps most, not every, socket error).
UNREACHABLE = (RedisError, OSError)


def client_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """What every Redis client of the app is made with: the socket timeouts (seconds), and no
    retries, which redis-py otherwise makes three of (with backoff) on each timeout."""
    return {
        "socket_connect_timeout": float(config.get("REDIS_CONNECT_TIMEOUT") or 1.0),
        "socket_timeout": float(config.get("REDIS_SOCKET_TIMEOUT") or 1.0),
        "retry": Retry(NoBackoff(), 0),
    }


def is_redis_uri(uri: str | None) -> bool:
    return bool(uri) and uri.split("://", 1)[0] in ("redis", "rediss", "unix")


class RedisLink:
    def __init__(self, url: str, options: Mapping[str, Any]):
        self.url = url
        self.client = redis.Redis.from_url(url, health_check_interval=30, **options)
        self._up = True
        self._lock = threading.Lock()
        self._probe: threading.Thread | None = None
        self._closed = threading.Event()

    @property
    def up(self) -> bool:
        return self._up

    def call(self, use: Callable[[redis.Redis], T], fallback: Callable[[], T]) -> T:
        """``use(client)``, or ``fallback()`` while Redis is down or when this call finds it so."""
        if not self._up:
            return fallback()
        try:
            return use(self.client)
        except UNREACHABLE as error:
            self.failed(error)
            return fallback()

    def failed(self, error: BaseException) -> None:
        """Redis did not answer: callers fall back until the probe hears from it again."""
        with self._lock:
            if not self._up:
                return
            self._up = False
            self._probe = threading.Thread(target=self._wait_for_redis, name="redis-probe", daemon=True)
            self._probe.start()
        log.warning(
            "Redis is unreachable (%s: %s): click limits, open-page counts, live updates, notifications and "
            "jobs are handled in this process until it is back.", type(error).__name__, error,
        )

    def _wait_for_redis(self) -> None:
        while not self._closed.wait(PROBE_EVERY):
            try:
                self.client.ping()
            except UNREACHABLE:
                continue
            with self._lock:
                self._up = True
            log.warning("Redis is back: limits, open pages, live updates and jobs are shared again.")
            return

    def check(self) -> tuple[bool, float]:
        """(answered, milliseconds) of one ping, for /healthz; a failure marks the link down."""
        started = time.perf_counter()
        try:
            self.client.ping()
        except UNREACHABLE as error:
            self.failed(error)
            return False, round((time.perf_counter() - started) * 1000, 1)
        return True, round((time.perf_counter() - started) * 1000, 1)

    def close(self) -> None:
        self._closed.set()


_links: dict[str, RedisLink] = {}
_links_lock = threading.Lock()


def redis_link(url: str, config: Mapping[str, Any]) -> RedisLink:
    """This process's link to ``url`` (shared by every user of that Redis, so one outage is one log line)."""
    options = client_options(config)
    key = f"{url} {options['socket_connect_timeout']} {options['socket_timeout']}"
    link = _links.get(key)
    if link is None:
        with _links_lock:
            link = _links.get(key)
            if link is None:
                link = _links[key] = RedisLink(url, options)
    return link


def app_link(app) -> RedisLink | None:
    """The link to the app's ``REDIS_URL``, or None without one."""
    url = app.config.get("REDIS_URL")
    return redis_link(url, app.config) if url else None
