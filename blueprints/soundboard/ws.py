"""The WebSocket at /ws, speaking the original soundboard's protocol.

Client: {"type": "click", "soundFilename": ...} (big button) and {"type": "sbClick", ...} (board).
Server: counterUpdate, soundClick, crazyMode (to everyone but the clicker), notification,
soundUpload / soundModify / soundDelete. Unknown or malformed messages are ignored; clicks over the
address's rate limit are dropped. A click is acknowledged, after its commit and never before, by a
counterUpdate (or soundClick) sent to its clicker at once; other pages get theirs from the announcer.
"""
from __future__ import annotations

import json
import logging
import threading
from collections import Counter

from flask import request
from simple_websocket import ConnectionClosed

from blueprints.soundboard import services
from blueprints.soundboard.broadcast import text_frame
from blueprints.soundboard.live import live
from blueprints.soundboard.throttle import click_allowed

log = logging.getLogger(__name__)
BURST = 64  # messages already waiting that are handled (and counted) together, at most


def _address() -> str:
    return request.remote_addr or "unknown"


def websocket(ws) -> None:
    state = live()
    address = _address()
    if not state.open_connection(address):
        ws.close(reason=1008, message="Too many connections from this address.")
        return
    subscription = state.broadcaster.subscribe()
    closed = threading.Event()

    def pump() -> None:
        """Send what the broadcaster delivers to this connection, in order; whatever queued up
        meanwhile goes out in the same write (frames are self-delimiting)."""
        while not closed.is_set():
            frame = subscription.get(timeout=1.0)
            if frame is None:
                continue
            frames = [frame]
            while len(frames) < 64:
                more = subscription.get(timeout=0)
                if more is None:
                    break
                frames.append(more)
            try:
                # sendall: simple_websocket's send() uses socket.send, which can write part of a
                # frame under load and corrupt the stream.
                ws.sock.sendall(b"".join(frames))
            except (ConnectionClosed, OSError):
                closed.set()

    current = services.counter()
    # The greeting goes through the queue too: only the sender thread ever writes to the socket.
    greeting = {"type": "counterUpdate", "counter": current, "statistics": {"summary": state.summary(current)}}
    subscription.messages.put(text_frame(json.dumps(greeting)))
    sender = threading.Thread(target=pump, name="ws-sender", daemon=True)
    sender.start()
    try:
        while not closed.is_set():
            raw = ws.receive(timeout=30)
            if raw is None:
                continue
            burst = [raw]
            while len(burst) < BURST and (more := ws.receive(timeout=0)) is not None:
                burst.append(more)
            try:
                handle_messages(state, subscription, address, burst)
            except Exception:  # noqa: BLE001 - a WebSocket must never turn into an HTTP error page
                log.exception("WebSocket messages could not be handled")
    except ConnectionClosed:
        pass
    finally:
        closed.set()
        subscription.close()
        state.close_connection(address)


def parse_click(raw) -> tuple[str, str | None] | None:
    """(kind, soundFilename) of a well-formed click message; None for anything else."""
    try:
        message = json.loads(raw)
    except (TypeError, ValueError):
        return None
    if not isinstance(message, dict) or message.get("type") not in ("click", "sbClick"):
        return None
    filename = message.get("soundFilename")
    if filename is not None and not isinstance(filename, str):
        return None
    if message["type"] == "sbClick" and not filename:
        return None
    return message["type"], filename[:64] if filename else None


def handle_messages(state, subscription, address: str, burst: list) -> None:
    """Messages that arrived together; equal clicks among them are counted in one statement (a
    page sends a click per press, so a fast clicker or a reconnecting page sends them in bursts)."""
    clicks: Counter[tuple[str, str | None]] = Counter()
    for raw in burst:
        click = parse_click(raw)
        if click is not None and click_allowed(address)[0]:  # over the limit: dropped, silently
            clicks[click] += 1
    for (kind, filename), times in clicks.items():
        try:
            result = state.click(kind, filename, times)
        except Exception:  # noqa: BLE001 - a failed commit is simply not acknowledged
            log.exception("A WebSocket click could not be counted")
            continue
        for message in state.acknowledgement(result):
            subscription.send(message)
        if kind == "click" and filename:
            state.broadcaster.publish({"type": "crazyMode", "soundFilename": filename}, exclude=subscription.id)
