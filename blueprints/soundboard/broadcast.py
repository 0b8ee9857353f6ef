"""Live updates: one small interface, two transports, one fan-out per process.

``InProcessBroadcaster`` hands published messages straight to this process's fan-out (one worker,
the default). ``RedisBroadcaster`` publishes on a Redis channel, and every process hands what it
receives to its own fan-out (several workers or servers; set REDIS_URL). WebSocket handlers only
call ``subscribe``/``publish``; nothing else knows which transport runs.

The fan-out (``Fanout``) coalesces what arrives between two ticks (the highest counter, each
sound's highest count, events in order), encodes each frame once and hands the same bytes to every
page. Its tick adapts to the audience: it waits about twice as long as the last delivery took,
between ``MIN_TICK`` and ``MAX_TICK``, so a large audience costs a bounded share of the CPU and no
page's counter is more than about ``MAX_TICK`` plus one delivery stale.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from redis_link import UNREACHABLE, RedisLink, redis_link

log = logging.getLogger(__name__)
MIN_TICK = 0.05
MAX_TICK = 0.5
CRAZY_PER_TICK = 8  # crazyMode sounds passed on per tick at most; a page cannot play more at once
COALESCED = {"counterUpdate", "soundClick"}


def text_frame(text: str) -> bytes:
    """One unmasked, unfragmented WebSocket text frame (RFC 6455, section 5.2), framed once and sent
    as the same bytes to every page (no per-message compression is agreed)."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = bytes([0x81, size])
    elif size < 1 << 16:
        header = bytes([0x81, 126]) + size.to_bytes(2, "big")
    else:
        header = bytes([0x81, 127]) + size.to_bytes(8, "big")
    return header + payload


class Subscription:
    """One open page as the fan-out sees it: where its frames go (a ``LiveSocket``, or anything
    with ``send_frames``), written at once without waiting for the page to read them."""

    def __init__(self, fanout: "Fanout", page):
        self.id = uuid.uuid4().hex
        self.page = page
        self._fanout = fanout

    def put(self, frames: bytes) -> None:
        self.page.send_frames(frames)

    def send(self, message: dict[str, Any]) -> None:
        """To this page only (a click's acknowledgement, the greeting)."""
        self.put(text_frame(json.dumps(message)))

    def close(self) -> None:
        self._fanout.remove(self)


class Fanout:
    """This process's pages, and what is to be sent to them at the next tick."""

    def __init__(self, min_tick: Callable[[], float] = lambda: MIN_TICK) -> None:
        self._subscriptions: dict[str, Subscription] = {}
        self._lock = threading.Lock()
        self._pending = threading.Condition(threading.Lock())
        self._counter_update: dict[str, Any] | None = None
        self._sound_counts: dict[str, int] = {}
        self._events: list[tuple[str, str | None]] = []  # (JSON, subscription id to leave out)
        self._crazy: list[tuple[str, str | None]] = []
        # The latest notification and when it arrived: pages without a socket show it while it lasts.
        self.notice: tuple[dict[str, Any], float] | None = None
        self._min_tick = min_tick
        self.last_delivery_seconds = 0.0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="soundboard-fanout", daemon=True)
        self._thread.start()

    def subscribe(self, page) -> Subscription:
        subscription = Subscription(self, page)
        with self._lock:
            self._subscriptions[subscription.id] = subscription
        return subscription

    def remove(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions.pop(subscription.id, None)

    @property
    def connections(self) -> int:
        return len(self._subscriptions)

    def pages(self) -> list:
        with self._lock:
            return [subscription.page for subscription in self._subscriptions.values()]

    def stage(self, message: str, exclude: str | None = None) -> None:
        """A published message (JSON text) for the next tick, merged with what is waiting."""
        decoded = json.loads(message)
        kind = decoded.get("type")
        with self._pending:
            if kind == "counterUpdate":
                if self._counter_update is None or decoded.get("counter", 0) >= self._counter_update.get("counter", 0):
                    self._counter_update = decoded
            elif kind == "soundClick":
                name = decoded.get("soundFilename")
                self._sound_counts[name] = max(decoded.get("count") or 0, self._sound_counts.get(name, 0))
            elif kind == "crazyMode":
                if len(self._crazy) < CRAZY_PER_TICK:
                    self._crazy.append((message, exclude))
            else:
                if kind == "notification" and isinstance(decoded.get("notification"), dict):
                    self.notice = (decoded["notification"], time.monotonic())
                self._events.append((message, exclude))
            self._pending.notify()

    def _take_pending(self) -> list[tuple[bytes, str | None]]:
        frames: list[tuple[bytes, str | None]] = [(text_frame(text), exclude) for text, exclude in self._events]
        if self._counter_update is not None:
            frames.append((text_frame(json.dumps(self._counter_update)), None))
        for name, count in self._sound_counts.items():
            frames.append((text_frame(json.dumps({"type": "soundClick", "soundFilename": name, "count": count})), None))
        frames.extend((text_frame(text), exclude) for text, exclude in self._crazy)
        self._events, self._crazy, self._sound_counts, self._counter_update = [], [], {}, None
        return frames

    def _has_pending(self) -> bool:
        return bool(self._events or self._crazy or self._sound_counts or self._counter_update is not None)

    def _run(self) -> None:
        while True:
            with self._pending:
                while not self._has_pending() and not self._closed:
                    self._pending.wait()
                if self._closed:
                    return
                frames = self._take_pending()
            started = time.monotonic()
            try:
                self._deliver(frames)
            except Exception:  # noqa: BLE001 - one failed delivery must not stop the next ones
                log.exception("Delivering soundboard updates failed")
            self.last_delivery_seconds = time.monotonic() - started
            tick = min(MAX_TICK, max(self._min_tick(), 2 * self.last_delivery_seconds))
            time.sleep(tick)

    def _deliver(self, frames: list[tuple[bytes, str | None]]) -> None:
        """One write's worth of bytes per page and tick: a page that keeps up never has more than
        a tick's frames waiting, however many messages the tick carried."""
        with self._lock:
            targets = list(self._subscriptions.values())
        everything = b"".join(frame for frame, _ in frames)
        left_out = {exclude for _, exclude in frames if exclude is not None}
        for subscription in targets:
            data = everything
            if subscription.id in left_out:
                data = b"".join(frame for frame, exclude in frames if exclude != subscription.id)
            if data:
                subscription.put(data)

    def close(self) -> None:
        with self._pending:
            self._closed = True
            self._pending.notify()
        self._thread.join(timeout=5)


class InProcessBroadcaster:
    """Publishes to this process's pages only."""

    def __init__(self, fanout: Fanout) -> None:
        self.fanout = fanout

    def subscribe(self, page) -> Subscription:
        return self.fanout.subscribe(page)

    def publish(self, message: dict[str, Any], *, exclude: str | None = None) -> None:
        self.fanout.stage(json.dumps(message), exclude)

    @property
    def connections(self) -> int:
        return self.fanout.connections

    def close(self) -> None:
        self.fanout.close()


class RedisBroadcaster(InProcessBroadcaster):
    """Publishes on a Redis channel that every process listens to; while Redis is unreachable
    (redis_link.py: logged once), messages reach this process's pages only, and the listener
    subscribes again once it is back."""

    def __init__(self, fanout: Fanout, link: RedisLink, channel: str = "themeboard:soundboard") -> None:
        super().__init__(fanout)
        self.channel = channel
        self._link = link
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="soundboard-redis", daemon=True)
        self._thread.start()

    def publish(self, message: dict[str, Any], *, exclude: str | None = None) -> None:
        text = json.dumps(message)
        envelope = json.dumps({"message": text, "exclude": exclude})
        # Redis down: this process's pages still hear of it.
        self._link.call(lambda client: client.publish(self.channel, envelope), lambda: self.fanout.stage(text, exclude))

    def _listen(self) -> None:
        while not self._stopped.is_set():
            if not self._link.up:
                self._stopped.wait(0.2)
                continue
            pubsub = self._link.client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.channel)
                # A subscription made before an outage may be silently dead after it: start anew.
                while not self._stopped.is_set() and self._link.up:
                    item = pubsub.get_message(timeout=1.0)
                    if item is not None:
                        envelope = json.loads(item["data"])
                        self.fanout.stage(envelope["message"], envelope.get("exclude"))
            except UNREACHABLE as error:
                self._link.failed(error)
            finally:
                try:
                    pubsub.close()
                except UNREACHABLE:
                    pass

    def close(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        super().close()


def make_broadcaster(
    redis_url: str | None,
    channel: str | None = None,
    min_tick: Callable[[], float] = lambda: MIN_TICK,
    config: Mapping[str, Any] | None = None,
) -> InProcessBroadcaster:
    fanout = Fanout(min_tick)
    if redis_url:
        return RedisBroadcaster(fanout, redis_link(redis_url, config or {}), channel or "themeboard:soundboard")
    return InProcessBroadcaster(fanout)
