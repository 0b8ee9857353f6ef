"""Per-process live machinery, made on first use: the click counter, its announcer, the fan-out to
open pages, and who may open one."""
from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app

from blueprints.soundboard import services
from blueprints.soundboard.broadcast import InProcessBroadcaster, make_broadcaster
from blueprints.soundboard.clicks import Announcer, Click, ClickCounter, ClickResult
from blueprints.soundboard.throttle import connection_slots
from blueprints.soundboard.websocket import PING
from extensions import db

SUMMARY_MAX_AGE = 1.0  # seconds: the summary rides on counterUpdate without a query per click
ASAP = 0.01  # seconds: the shortest response interval, for "respond immediately"
CLOSE_TRY_AGAIN_LATER = 1013  # RFC 6455: the server is at capacity
CLOSE_POLICY_VIOLATION = 1008


class Live:
    def __init__(self, app: Flask):
        self.app = app
        self.broadcaster: InProcessBroadcaster = make_broadcaster(
            app.config.get("REDIS_URL"), app.config.get("SOUNDBOARD_CHANNEL"), min_tick=self.response_interval, config=app.config
        )
        with app.app_context():
            database_url = db.engine.url  # the URL object itself: no password written out and parsed again
        self.click_counter = ClickCounter(
            database_url, dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})), connections=app.config["CLICK_DB_CONNECTIONS"]
        )
        self.announcer = Announcer(self._announce, interval=self.response_interval)
        self.slots = connection_slots(app)
        self._summary: dict[str, Any] | None = None
        self._summary_days = 1
        self._summary_at = 0.0
        self._admitting = threading.Lock()
        self._open = 0
        self._stopped = threading.Event()
        if app.config.get("WS_HEARTBEAT_SECONDS"):
            threading.Thread(target=self._heartbeat, name="soundboard-heartbeat", daemon=True).start()

    def current_notification(self) -> dict[str, Any] | None:
        """The admin's latest notification while its duration lasts (every process hears of it
        through the broadcaster), for the pages that have no live socket."""
        notice = self.broadcaster.fanout.notice
        if notice is None:
            return None
        note, arrived = notice
        if time.monotonic() - arrived > float(note.get("duration") or 0):
            return None
        return note

    def response_interval(self) -> float:
        """Seconds between two updates to the open pages at least: the configured or admin-set
        response interval (megumin.love's ``responseInterval``), "as soon as possible" being 10 ms."""
        milliseconds = services.effective_live_settings(self.app)["response_interval_ms"]
        return ASAP if milliseconds is None else milliseconds / 1000

    # --- counting ------------------------------------------------------------------------------

    def record_click(self, click: Click, *, clicker: str | None = None) -> ClickResult | None:
        """Every click, HTTP or WebSocket, is recorded here. Counted (committed) when this returns,
        or None when the click names no existing sound (ignored). Every other open page hears of
        it within a tick: the counts, and crazyMode for the clicked sound (for either kind, like
        the original); the clicker (``clicker``, its subscription) is told by its own answer."""
        result = self.click_counter.count(click)
        if result is not None:
            self.announcer.committed(replace(result, crazy=((click.sound_filename, clicker),)))
        return result

    def counter(self) -> int:
        return self.click_counter.read()

    def summary(self, counter: int | None = None) -> dict[str, Any]:
        if self._summary is None or time.monotonic() - self._summary_at > SUMMARY_MAX_AGE:
            with self.app.app_context():
                self._summary, self._summary_days = services.summary_and_days()
            self._summary_at = time.monotonic()
        current = dict(self._summary)
        if counter is not None:
            # Big-button clicks since the cached summary was read all count for today (the
            # trigger), so every period grows by them too: no page is left showing an old "today".
            grown = max(0, counter - current["alltime"])
            for period in ("daily", "weekly", "monthly", "yearly"):
                current[period] += grown
            current["alltime"] = counter
            current["average"] = services.daily_average(current["monthly"], self._summary_days)
        return current

    def counter_update(self, counter: int) -> dict[str, Any]:
        summary = self.summary(counter)
        this_month = {"month": datetime.now(UTC).strftime("%Y-%m"), "count": summary["monthly"]}
        return {"type": "counterUpdate", "counter": counter, "statistics": {"summary": summary, "newChartData": this_month}}

    def acknowledgement(self, result: ClickResult) -> list[dict[str, Any]]:
        """What the protocol says about committed clicks: the counter, and the clicked sounds' counts."""
        sounds = [{"type": "soundClick", "soundFilename": name, "count": count} for name, count in result.sound_counts.items()]
        return [self.counter_update(result.counter)] + sounds

    def _announce(self, result: ClickResult) -> None:
        for message in self.acknowledgement(result):
            self.broadcaster.publish(message)
        for filename, clicker in result.crazy:
            self.broadcaster.publish({"type": "crazyMode", "soundFilename": filename}, exclude=clicker)
        for milestone in result.milestones:  # the original's milestone_json shape
            readable = f"{milestone['count']:,}".replace(",", ".")
            text = f"Milestone {milestone['id']} of {readable} clicks has been reached!"
            self.broadcaster.publish({"type": "notification", "notification": {"text": text, "duration": 3}})
            self.broadcaster.publish({"type": "milestoneUpdate", "milestone": milestone})

    # --- open pages ----------------------------------------------------------------------------

    def admit(self, address: str) -> tuple[str | None, tuple[int, str] | None]:
        """(the page's slot, None) when a new page from ``address`` may open, else (None, the close
        code and reason)."""
        with self._admitting:
            if self._open >= self.app.config["WS_MAX_CONNECTIONS"]:
                return None, (CLOSE_TRY_AGAIN_LATER, "The server is at capacity; try again later.")
            self._open += 1
        slot = self.slots.acquire(address, services.effective_live_settings(self.app)["ws_connections_per_address"])
        if slot is not None:
            return slot, None
        with self._admitting:
            self._open -= 1
        return None, (CLOSE_POLICY_VIOLATION, "Too many connections from this address.")

    def leave(self, address: str, slot: str) -> None:
        self.slots.release(address, slot)
        with self._admitting:
            self._open -= 1

    def _heartbeat(self) -> None:
        """A ping to every open page each interval (one pre-framed frame, sent without waiting);
        a page heard of neither a pong nor anything else for two intervals is closed."""
        interval = float(self.app.config["WS_HEARTBEAT_SECONDS"])
        while not self._stopped.wait(interval):
            silent_since = time.monotonic() - 2 * interval
            for page in self.broadcaster.fanout.pages():
                if page.last_heard < silent_since:
                    page.drop()
                else:
                    page.send_frames(PING)

    def close(self) -> None:
        """Announce what is left and let go of the database (tests build many apps in one process)."""
        self._stopped.set()
        self.announcer.close()
        self.broadcaster.close()
        self.slots.close()
        self.click_counter.close()


_create_lock = threading.Lock()


def live() -> Live:
    app = current_app._get_current_object()
    if "soundboard_live" not in app.extensions:
        with _create_lock:
            if "soundboard_live" not in app.extensions:
                app.extensions["soundboard_live"] = Live(app)
    return app.extensions["soundboard_live"]


def announce(kind: str, **payload: Any) -> None:
    """soundUpload / soundModify / soundDelete / notification / milestone changes to every open page."""
    live().broadcaster.publish({"type": kind, **payload})
