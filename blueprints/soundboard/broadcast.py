"""Live updates: one small interface, two implementations.

``InProcessBroadcaster`` fans messages out to the connections of this process (one worker, the
default). ``RedisBroadcaster`` publishes on a Redis channel and every process fans out what it
receives to its own connections (several workers or servers; set REDIS_URL). WebSocket handlers
only ever call ``subscribe``/``publish``; nothing else knows which one runs.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from typing import Any

log = logging.getLogger(__name__)
QUEUE_SIZE = 256  # a client this far behind gets dropped messages rather than slowing everyone


def text_frame(text: str) -> bytes:
    """One unmasked, unfragmented WebSocket text frame (RFC 6455, section 5.2).

    A broadcast is framed once and the same bytes go to every connection: letting the WebSocket
    library frame (and, with permessage-deflate, compress) it again per connection made the
    fan-out the soundboard's bottleneck. An uncompressed frame is valid under permessage-deflate.
    """
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
    def __init__(self, broadcaster: "InProcessBroadcaster"):
        self.id = uuid.uuid4().hex
        self.messages: queue.Queue[bytes] = queue.Queue(maxsize=QUEUE_SIZE)  # framed once, sent as is
        self._broadcaster = broadcaster

    def get(self, timeout: float | None = None) -> bytes | None:
        try:
            if timeout == 0:
                return self.messages.get_nowait()
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            return None

    def send(self, message: dict[str, Any]) -> None:
        """To this connection only (a click's acknowledgement to its clicker)."""
        self.put(text_frame(json.dumps(message)))

    def put(self, frame: bytes) -> None:
        try:
            self.messages.put_nowait(frame)
        except queue.Full:
            pass  # this far behind, a client misses messages rather than slowing everyone

    def close(self) -> None:
        self._broadcaster._remove(self)


class InProcessBroadcaster:
    def __init__(self) -> None:
        self._subscriptions: dict[str, Subscription] = {}
        self._lock = threading.Lock()

    def subscribe(self) -> Subscription:
        subscription = Subscription(self)
        with self._lock:
            self._subscriptions[subscription.id] = subscription
        return subscription

    def _remove(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions.pop(subscription.id, None)

    def publish(self, message: dict[str, Any], *, exclude: str | None = None) -> None:
        self._deliver(json.dumps(message), exclude)

    def _deliver(self, message: str, exclude: str | None) -> None:
        """``message`` is already JSON; it is framed once here, not once per connection."""
        with self._lock:
            targets = [s for key, s in self._subscriptions.items() if key != exclude]
        frame = text_frame(message)
        for subscription in targets:
            subscription.put(frame)

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._subscriptions)


class RedisBroadcaster(InProcessBroadcaster):
    def __init__(self, url: str, channel: str = "themeboard:soundboard") -> None:
        super().__init__()
        import redis

        self.channel = channel
        self._redis = redis.Redis.from_url(url)
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(channel)
        self._thread = threading.Thread(target=self._listen, name="soundboard-redis", daemon=True)
        self._thread.start()

    def publish(self, message: dict[str, Any], *, exclude: str | None = None) -> None:
        self._redis.publish(self.channel, json.dumps({"message": json.dumps(message), "exclude": exclude}))

    def _listen(self) -> None:
        while True:
            try:
                for item in self._pubsub.listen():
                    envelope = json.loads(item["data"])
                    self._deliver(envelope["message"], envelope.get("exclude"))
            except Exception:  # noqa: BLE001 - keep listening through a Redis restart
                log.exception("Redis subscription lost; reconnecting")
                threading.Event().wait(1)
                try:
                    self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                    self._pubsub.subscribe(self.channel)
                except Exception:  # noqa: BLE001
                    pass


def make_broadcaster(redis_url: str | None, channel: str | None = None) -> InProcessBroadcaster:
    if redis_url:
        return RedisBroadcaster(redis_url, channel or "themeboard:soundboard")
    return InProcessBroadcaster()
