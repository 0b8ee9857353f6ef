"""Counting clicks durably and fast: group commit.

Every click (HTTP or WebSocket) is handed to this process's ``ClickRecorder`` and its caller waits
until the transaction holding it has committed; only then is it acknowledged. A single committer
thread takes everything that queued up while the previous transaction ran and applies it as one
transaction of atomic ``UPDATE ... SET count = count + n`` statements, so under load many clicks
share one commit (and one fsync) without any acknowledged click ever living only in memory.
Several workers or servers stay correct because each increment is atomic in the database.
"""
from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from extensions import db
from models.soundboard import DailyStatistic, GlobalCounter, Milestone, Sound

log = logging.getLogger(__name__)
MAX_BATCH = 2000


@dataclass(frozen=True)
class Click:
    kind: str  # "click" (big button) or "sbClick" (a board button)
    sound_filename: str | None


@dataclass(frozen=True)
class BatchResult:
    counter: int
    sound_counts: dict[str, int]  # filename -> new count, for the sounds clicked in the batch
    milestones: list[dict]  # milestones reached by this batch


class ClickRecorder:
    def __init__(self, app: Flask, on_commit=None):
        self.app = app
        self.on_commit = on_commit  # called with each BatchResult after its commit
        self._queue: queue.Queue[tuple[Click, Future]] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="click-committer", daemon=True)
        self._thread.start()

    def record(self, click: Click, timeout: float = 30.0) -> BatchResult:
        """Blocks until the click is committed; raises if the commit failed."""
        future: Future = Future()
        self._queue.put((click, future))
        return future.result(timeout=timeout)

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                with self.app.app_context():
                    result = apply_clicks([click for click, _ in batch])
            except Exception as error:  # noqa: BLE001 - every waiter must hear about it
                log.exception("Could not commit %d clicks", len(batch))
                for _, future in batch:
                    future.set_exception(error)
                continue
            for _, future in batch:
                future.set_result(result)
            if self.on_commit is not None:
                try:
                    self.on_commit(result)
                except Exception:  # noqa: BLE001
                    log.exception("Broadcasting a click batch failed")


def _today():
    return datetime.now(UTC).date()


def ensure_counter_row() -> None:
    if db.session.get(GlobalCounter, 1) is None:
        try:
            db.session.add(GlobalCounter(id=1, count=0))
            db.session.commit()
        except IntegrityError:
            db.session.rollback()


def apply_clicks(clicks: list[Click]) -> BatchResult:
    """One transaction for a batch of clicks; atomic increments only."""
    big = sum(1 for click in clicks if click.kind == "click")
    per_sound = Counter(click.sound_filename for click in clicks if click.kind == "sbClick" and click.sound_filename)
    session = db.session
    ensure_counter_row()
    if big:
        session.execute(update(GlobalCounter).where(GlobalCounter.id == 1).values(count=GlobalCounter.count + big))
        today = _today()
        changed = session.execute(update(DailyStatistic).where(DailyStatistic.date == today).values(count=DailyStatistic.count + big)).rowcount
        if not changed:
            try:
                with session.begin_nested():
                    session.execute(insert(DailyStatistic).values(date=today, count=big))
            except IntegrityError:  # another worker created today's row first
                session.execute(update(DailyStatistic).where(DailyStatistic.date == today).values(count=DailyStatistic.count + big))
    for filename, amount in per_sound.items():
        session.execute(update(Sound).where(Sound.filename == filename).values(count=Sound.count + amount))
    counter = session.scalar(select(GlobalCounter.count).where(GlobalCounter.id == 1)) or 0
    reached = []
    if big:
        rows = session.scalars(
            select(Milestone).where(Milestone.reached.is_(False), Milestone.count <= counter).order_by(Milestone.count)
        ).all()
        now = datetime.now(UTC)
        for milestone in rows:
            milestone.reached, milestone.reached_at = True, now
            reached.append({"id": milestone.id, "count": milestone.count})
    sound_counts = {}
    if per_sound:
        rows = session.execute(select(Sound.filename, Sound.count).where(Sound.filename.in_(list(per_sound))))
        sound_counts = {filename: count for filename, count in rows}
    session.commit()
    return BatchResult(counter=counter, sound_counts=sound_counts, milestones=reached)
