"""The live soundboard's routes: the WebSocket (at ``/ws``, and at ``/`` where megumin.love's pages
open it) and the HTTP click, sharing one click parser and one way to record a click.

WebSocket protocol (megumin.love's): the client sends ``{"type": "click" | "sbClick",
"soundFilename": ...}``; the server sends counterUpdate, soundClick, crazyMode (to every page but
the clicker's), notification, milestone and sound changes. Malformed messages and clicks that name
no existing sound are ignored, and clicks over the address's rate limit are dropped. A click is
acknowledged, after its commit and never before, by a counterUpdate (or soundClick) sent to its
clicker at once; other pages hear of it from the fan-out within a tick.

An open page holds no thread and no database connection: under gevent it is one greenlet that
reads (blueprints/soundboard/websocket.py), and it gives its request's pooled connection back
before it waits.
"""
from __future__ import annotations

import json
import logging
from collections import Counter
from typing import Any

from flask import Blueprint, jsonify, request
from werkzeug.exceptions import TooManyRequests

from blueprints.common.auth import mark_csrf_exempt
from blueprints.common.errors import database_unavailable
from blueprints.soundboard.clicks import Click
from blueprints.soundboard.live import CLOSE_TRY_AGAIN_LATER, Live, live
from blueprints.soundboard.services import bad_request
from blueprints.soundboard.throttle import click_allowed
from blueprints.soundboard.websocket import HandshakeError, LiveSocket, TakenOver
from extensions import db

log = logging.getLogger(__name__)
BURST = 64  # messages already waiting that are handled (and counted) together, at most
CLOSE_INTERNAL_ERROR = 1011  # RFC 6455
MAX_MESSAGE_BYTES = 4096  # a click is a few dozen bytes; anything bigger closes the socket

bp = Blueprint("soundboard_live", __name__)


def parse_click(message: Any) -> Click | None:
    """The click a message asks for, or None when it is not a well-formed click."""
    if isinstance(message, (str, bytes)):
        try:
            message = json.loads(message)
        except (TypeError, ValueError):
            return None
    if not isinstance(message, dict) or message.get("type") not in ("click", "sbClick"):
        return None
    filename = message.get("soundFilename")
    if not isinstance(filename, str) or not filename or len(filename) > 64:
        return None
    return Click(message["type"], filename)


def client_address() -> str:
    """The visitor's address; behind ``TRUSTED_PROXIES`` proxies, ProxyFix has already put it here."""
    return request.remote_addr or "unknown"


# --- HTTP ------------------------------------------------------------------------------------


@bp.post("/api/soundboard/click")
@mark_csrf_exempt  # anonymous and public: a forged click is just a click, and it is rate limited
def click():
    allowed, retry_after = click_allowed(client_address())
    if not allowed:
        raise TooManyRequests(retry_after=retry_after)
    body = request.get_json(silent=True)
    if body is None:
        if request.is_json and request.get_data():
            raise bad_request("The request body is not valid JSON.")
        body = request.form.to_dict()
    if isinstance(body, dict):
        body = {"type": "click", **body}  # the type may be left out for the big button
    clicked = parse_click(body)
    if clicked is None:
        raise bad_request("A click is {\"type\": \"click\" | \"sbClick\", \"soundFilename\": <an existing sound>}.", "Invalid click")
    db.session.remove()  # the click has its own connection; give the request's back first
    result = live().record_click(clicked)
    if result is None:
        raise bad_request("soundFilename must name an existing sound.", "Invalid sound")
    response = {"counter": result.counter}
    if clicked.kind == "sbClick":
        response["sound"] = {"filename": clicked.sound_filename, "count": result.sound_counts.get(clicked.sound_filename)}
    return jsonify(response)


# --- WebSocket -------------------------------------------------------------------------------


@bp.get("/ws", websocket=True)
@bp.get("/", websocket=True, endpoint="websocket_root")
def websocket():
    state = live()
    address = client_address()
    db.session.remove()  # nothing below uses the request's session: its connection goes back now
    try:
        page = LiveSocket.accept(request.environ, MAX_MESSAGE_BYTES)
    except HandshakeError as error:
        raise bad_request(str(error), "Invalid handshake") from None
    # From here on the socket is the page's: a failure closes it with a WebSocket close code, and
    # nothing may answer over HTTP any more (an error page would corrupt the page's stream).
    try:
        slot, refusal = state.admit(address)
    except Exception as error:  # noqa: BLE001 - e.g. the database is down while reading the limits
        _close_failed(page, error)
        return TakenOver()
    if refusal is not None:
        page.close(*refusal)
        return TakenOver()
    try:
        _serve(page, state, address)
    except Exception as error:  # noqa: BLE001
        _close_failed(page, error)
    finally:
        state.leave(address, slot)
        page.drop()
    return TakenOver()


def _close_failed(page: LiveSocket, error: Exception) -> None:
    """Close an upgraded socket after a failure: 1013 (try again later) when the database is
    unavailable, so the page reconnects later, else 1011 (internal error)."""
    db.session.remove()
    if database_unavailable(error):
        log.warning("Database unavailable: a soundboard page is closed with 1013 (%s)", type(error).__name__)
        page.close(CLOSE_TRY_AGAIN_LATER, "The database is unavailable; try again shortly.")
    else:
        log.error("A soundboard page failed after its upgrade", exc_info=error)
        page.close(CLOSE_INTERNAL_ERROR, "Internal error")


def _serve(page: LiveSocket, state: Live, address: str) -> None:
    subscription = state.broadcaster.subscribe(page)
    try:
        subscription.send(state.counter_update(state.counter()))
        for burst in page.messages():
            try:
                _handle(state, subscription, address, burst)
            except Exception:  # noqa: BLE001 - a WebSocket must never turn into an HTTP error page
                log.exception("WebSocket messages could not be handled")
    finally:
        subscription.close()


def _handle(state: Live, subscription, address: str, burst: list) -> None:
    """Messages that arrived together; equal clicks among them are counted in one statement (a
    page sends a click per press, so a fast clicker or a reconnecting page sends them in bursts)."""
    clicks: Counter[Click] = Counter()
    for raw in burst:
        click = parse_click(raw)
        if click is not None and click_allowed(address)[0]:  # over the limit: dropped, silently
            clicks[click] += 1
    for click, times in clicks.items():
        try:
            result = state.record_click(Click(click.kind, click.sound_filename, times), clicker=subscription.id)
        except Exception:  # noqa: BLE001 - a failed commit is simply not acknowledged
            log.exception("A WebSocket click could not be counted")
            continue
        if result is not None:
            for message in state.acknowledgement(result):
                subscription.send(message)
