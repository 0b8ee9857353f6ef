"""Counting clicks durably: the click types and the transaction that counts a batch of them.

A click is acknowledged only once the transaction holding it has committed. Clicks that arrive
together share one transaction of atomic increments (``UPDATE ... SET count = count + n``, and an
upsert for today's row): group commit. Several workers or servers stay correct because each
increment is atomic in the database. On SQLite the writers of several worker processes queue on a
file lock instead of SQLite's busy handler, which sleeps in steps of milliseconds.

``ClickTransaction`` runs inside the click writer process (see ``writer.py``).
"""
from __future__ import annotations

import fcntl
import logging
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from models.soundboard import DailyStatistic, GlobalCounter, Milestone, Sound

log = logging.getLogger(__name__)
MILESTONE_REFRESH_SECONDS = 2.0


@dataclass(frozen=True)
class Click:
    kind: str  # "click" (big button) or "sbClick" (a board button)
    sound_filename: str | None


@dataclass(frozen=True)
class BatchResult:
    counter: int
    sound_counts: dict[str, int]  # filename -> new count, for the sounds clicked in the batch
    milestones: list[dict]  # milestones reached by this batch

    def to_json(self) -> dict[str, Any]:
        return {"counter": self.counter, "sound_counts": self.sound_counts, "milestones": self.milestones}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchResult:
        return cls(counter=data["counter"], sound_counts=data["sound_counts"], milestones=data["milestones"])


# Built once: constructing a statement costs several times what SQLite needs to run it, and the
# writer runs these hundreds of times a second.
_BUMP_COUNTER = (
    update(GlobalCounter)
    .where(GlobalCounter.id == 1)
    .values(count=GlobalCounter.count + bindparam("amount"))
    .returning(GlobalCounter.count)
)
_READ_COUNTER = select(GlobalCounter.count).where(GlobalCounter.id == 1)
_BUMP_SOUND = (
    update(Sound)
    .where(Sound.filename == bindparam("clicked"))
    .values(count=Sound.count + bindparam("amount"))
    .returning(Sound.count)
)
_BUMP_TODAY = update(DailyStatistic).where(DailyStatistic.date == bindparam("day")).values(count=DailyStatistic.count + bindparam("amount"))
_INSERT_TODAY = insert(DailyStatistic).values(date=bindparam("day"), count=bindparam("amount"))


def _upsert_today(dialect: str):
    """``INSERT ... ON CONFLICT (date) DO UPDATE`` where the database has it, else None."""
    if dialect not in ("sqlite", "postgresql"):
        return None
    statement = (sqlite_insert if dialect == "sqlite" else pg_insert)(DailyStatistic).values(date=bindparam("day"), count=bindparam("amount"))
    return statement.on_conflict_do_update(index_elements=[DailyStatistic.date], set_={"count": DailyStatistic.count + statement.excluded.count})


class ClickTransaction:
    """Counts batches of clicks on one long-lived connection (a pool checkout with its pre-ping per
    batch cost as much as the batch itself)."""

    def __init__(self, engine: Engine, lock_path: Path | None):
        self.engine = engine
        self._connection: Connection | None = None
        self._upsert_today = _upsert_today(engine.dialect.name)
        self._next_milestone: tuple[float, int | None] = (0.0, None)
        self._lock_file = open(lock_path, "a") if lock_path is not None else None  # noqa: SIM115 - held for the process's life

    @contextmanager
    def writer_lock(self):
        """On SQLite, one writer at a time across processes, waiting in the kernel."""
        if self._lock_file is None:
            yield
            return
        fcntl.flock(self._lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    def ensure_counter_row(self) -> None:
        try:
            with self.engine.begin() as connection:
                if connection.execute(_READ_COUNTER).first() is None:
                    connection.execute(insert(GlobalCounter).values(id=1, count=0))
        except IntegrityError:
            pass  # another process made it first

    def apply(self, clicks: list[Click]) -> BatchResult:
        """One transaction; retried once on a fresh connection if the old one had died (the
        database restarted): nothing of a failed transaction is kept, so nothing is counted twice."""
        try:
            return self._apply_on(self._connect(), clicks)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            self._connection = None
            return self._apply_on(self._connect(), clicks)

    def _connect(self) -> Connection:
        if self._connection is None or self._connection.invalidated or self._connection.closed:
            self._connection = self.engine.connect()
        return self._connection

    def _apply_on(self, connection: Connection, clicks: list[Click]) -> BatchResult:
        big = sum(1 for click in clicks if click.kind == "click")
        per_sound = Counter(click.sound_filename for click in clicks if click.kind == "sbClick" and click.sound_filename)
        with connection.begin():  # one transaction: committed on leaving the block
            if big:
                counter = connection.execute(_BUMP_COUNTER, {"amount": big}).scalar_one()
                self._add_to_today(connection, big)
            else:
                counter = connection.execute(_READ_COUNTER).scalar_one()
            sound_counts: dict[str, int] = {}
            for filename, amount in per_sound.items():
                new_count = connection.execute(_BUMP_SOUND, {"clicked": filename, "amount": amount}).scalar_one_or_none()
                if new_count is not None:
                    sound_counts[filename] = new_count
            reached = self._reach_milestones(connection, counter) if big else []
        return BatchResult(counter=counter, sound_counts=sound_counts, milestones=reached)

    def _add_to_today(self, connection, amount: int) -> None:
        values = {"day": datetime.now(UTC).date(), "amount": amount}
        if self._upsert_today is not None:
            connection.execute(self._upsert_today, values)
        elif not connection.execute(_BUMP_TODAY, values).rowcount:
            connection.execute(_INSERT_TODAY, values)

    def _reach_milestones(self, connection, counter: int) -> list[dict]:
        """Query milestones only when the counter may have crossed one (checked every 2 s otherwise)."""
        refreshed_at, threshold = self._next_milestone
        if time.monotonic() - refreshed_at < MILESTONE_REFRESH_SECONDS and (threshold is None or counter < threshold):
            return []
        now = datetime.now(UTC)
        rows = connection.execute(
            update(Milestone)
            .where(Milestone.reached.is_(False), Milestone.count <= counter)
            .values(reached=True, reached_at=now)
            .returning(Milestone.id, Milestone.count)
        ).all()
        upcoming = connection.execute(select(Milestone.count).where(Milestone.reached.is_(False)).order_by(Milestone.count).limit(1)).scalar()
        self._next_milestone = (time.monotonic(), upcoming)
        return [{"id": row.id, "count": row.count} for row in sorted(rows, key=lambda r: r.count)]


def sqlite_lock_path(uri: str) -> Path | None:
    if not uri.startswith("sqlite:///") or uri in ("sqlite://", "sqlite:///:memory:"):
        return None
    return Path(uri[len("sqlite:///"):] + ".clicks.lock")

