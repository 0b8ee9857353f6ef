"""Per-process live machinery: the click counter, its announcer and the broadcaster, made on first use."""
from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

from flask import Flask, current_app

from blueprints.soundboard import services
from blueprints.soundboard.broadcast import InProcessBroadcaster, make_broadcaster
from blueprints.soundboard.clicks import Announcer, Click, ClickCounter, ClickResult
from extensions import db

SUMMARY_MAX_AGE = 1.0  # seconds: the summary rides on counterUpdate without a query per click
ANNOUNCE_EVERY = 0.05  # seconds: open pages see clicks at most this late, in one message however many


class Live:
    def __init__(self, app: Flask):
        self.app = app
        self.broadcaster: InProcessBroadcaster = make_broadcaster(app.config.get("REDIS_URL"), app.config.get("SOUNDBOARD_CHANNEL"))
        with app.app_context():
            database_url = db.engine.url  # the URL object itself: no password written out and parsed again
        self.click_counter = ClickCounter(
            database_url, dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})), connections=app.config["CLICK_DB_CONNECTIONS"]
        )
        self.announcer = Announcer(self._announce, interval=ANNOUNCE_EVERY)
        self._summary: dict[str, Any] | None = None
        self._summary_days = 1
        self._summary_at = 0.0
        self._connections: Counter[str] = Counter()
        self._lock = threading.Lock()

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
            current["average"] = round(counter / self._summary_days, 2)
        return current

    def acknowledgement(self, result: ClickResult) -> list[dict[str, Any]]:
        """What the protocol says about committed clicks: the counter, and the clicked sounds' counts."""
        update = {"type": "counterUpdate", "counter": result.counter, "statistics": {"summary": self.summary(result.counter)}}
        return [update] + [{"type": "soundClick", "soundFilename": name, "count": count} for name, count in result.sound_counts.items()]

    def _announce(self, result: ClickResult) -> None:
        for message in self.acknowledgement(result):
            self.broadcaster.publish(message)
        for milestone in result.milestones:
            self.broadcaster.publish(
                {"type": "notification", "text": f"Milestone reached: {milestone['count']:,} clicks!", "duration": 10, "milestone": milestone}
            )

    def click(self, kind: str, sound_filename: str | None, times: int = 1) -> ClickResult:
        """Counted (committed) when this returns; every open page hears of it within
        ``ANNOUNCE_EVERY`` seconds (the clicker is told by its own response or acknowledgement)."""
        result = self.click_counter.count(Click(kind, sound_filename, times))
        self.announcer.committed(result)
        return result

    def close(self) -> None:
        """Announce what is left and let go of the database (tests build many apps in one process)."""
        self.announcer.close()
        self.click_counter.close()

    def open_connection(self, address: str) -> bool:
        limit = self.app.config["WS_CONNECTIONS_PER_ADDRESS"]
        with self._lock:
            if self._connections[address] >= limit:
                return False
            self._connections[address] += 1
            return True

    def close_connection(self, address: str) -> None:
        with self._lock:
            self._connections[address] -= 1
            if self._connections[address] <= 0:
                del self._connections[address]


_create_lock = threading.Lock()


def live() -> Live:
    app = current_app._get_current_object()
    if "soundboard_live" not in app.extensions:
        with _create_lock:
            if "soundboard_live" not in app.extensions:
                app.extensions["soundboard_live"] = Live(app)
    return app.extensions["soundboard_live"]


def announce(kind: str, **payload: Any) -> None:
    """soundUpload / soundModify / soundDelete / notification to every open page."""
    live().broadcaster.publish({"type": kind, **payload})
