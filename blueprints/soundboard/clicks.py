"""Counting clicks durably: each click is one committed, atomic increment before it is acknowledged.

A click is one autocommitted ``UPDATE ... SET count = count + n`` (n is 1, or the size of a
WebSocket burst or of a PostgreSQL group): atomic in the database, so any number of threads,
workers and servers count correctly, and committed before the caller hears back, so a ``kill -9``
loses nothing that was acknowledged. Today's statistics row is bumped by a trigger on the counter
(``models.soundboard.COUNT_CLICKS_TODAY``) inside that same statement: the counter and the
statistics can never disagree, and no transaction spans two statements.

A big-button click counts only when its ``soundFilename`` names an existing sound and a board
click only for an existing sound, as in the original soundboard; anything else is ignored. The
check is part of the counting statement itself, so it costs no extra round trip.

Why one statement and not a transaction: between two statements a thread may give up the GIL (or
a greenlet its turn) while the database's write lock is still held, and every other writer queues
behind it. ``UPDATE ... RETURNING`` is that trap on SQLite (the commit happens on the next step),
so the counter is read by a second statement after the commit. On PostgreSQL, where each commit
waits for its WAL flush on the counter's one row, the clicks that wait meanwhile are counted
together (``GroupCommit``). bench/README.md has the measurements behind these choices.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, create_engine, insert, select, update
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import IntegrityError

from concurrency import cooperative
from config import is_sqlite
from models.base import utcnow
from models.soundboard import GlobalCounter, Milestone, Sound

log = logging.getLogger(__name__)
MILESTONE_REFRESH_SECONDS = 2.0
SQLITE_LOCK_WAIT_SECONDS = 10.0  # as long as the app's own busy_timeout
CRAZY_PER_ANNOUNCEMENT = 8  # a page plays at most this many other people's sounds at once


@dataclass(frozen=True)
class Click:
    kind: str  # "click" (big button) or "sbClick" (a board button)
    sound_filename: str | None
    times: int = 1  # the same click repeated (a WebSocket client's burst), counted in one statement


@dataclass(frozen=True)
class ClickResult:
    counter: int
    sound_counts: dict[str, int]  # filename -> count after the click, for a board click
    milestones: list[dict]  # milestones this click reached
    crazy: tuple[tuple[str, str | None], ...] = ()  # (sound, clicker's page) for other pages to play

    def merged_with(self, later: ClickResult) -> ClickResult:
        """Both results as one announcement: the highest counts, every milestone, a few sounds."""
        counts = dict(self.sound_counts)
        for filename, count in later.sound_counts.items():
            counts[filename] = max(count, counts.get(filename, 0))
        crazy = (self.crazy + later.crazy)[-CRAZY_PER_ANNOUNCEMENT:]
        return ClickResult(max(self.counter, later.counter), counts, self.milestones + later.milestones, crazy)


_SOUND_EXISTS = select(Sound.id).where(Sound.filename == bindparam("clicked")).exists()
_BUMP_COUNTER = update(GlobalCounter).where(GlobalCounter.id == 1, _SOUND_EXISTS).values(count=GlobalCounter.count + bindparam("times"))
_READ_COUNTER = select(GlobalCounter.count).where(GlobalCounter.id == 1)
_BUMP_SOUND = update(Sound).where(Sound.filename == bindparam("clicked")).values(count=Sound.count + bindparam("times"))
_READ_SOUND = select(Sound.count).where(Sound.filename == bindparam("clicked"))


class _DriverStatement:
    """A Core statement compiled once for one database and run on the driver's own cursor.

    Clicks are the hottest path of the app, and SQLAlchemy's per-execution work (execution
    context, result object, connection proxy) cost more than the statement itself. The SQL is
    still written in Core against the typed models and compiled for the dialect in use.
    """

    def __init__(self, statement, dialect):
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        # The statement's own literals (``id == 1``) are bound here, once; a click supplies only
        # its named parameters.
        self._literals = {name: bind.value for bind, name in compiled.bind_names.items() if not bind.required}
        self._order = tuple(compiled.positiontup) if compiled.positional else None

    def params(self, **values: Any):
        bound = {**self._literals, **values}
        return bound if self._order is None else tuple(map(bound.__getitem__, self._order))

    def run(self, cursor, **values: Any):
        cursor.execute(self.sql, self.params(**values))
        return cursor


def click_engine(database_uri: str | URL, engine_options: dict[str, Any], connections: int) -> Engine:
    """An engine whose connections commit every statement (AUTOCOMMIT)."""
    if is_sqlite(database_uri):
        # A SQLite connection is an open file, kept for good (see ClickCounter._cursor); no
        # pre-ping: a file does not go away like a server does.
        return create_engine(database_uri, isolation_level="AUTOCOMMIT", pool_reset_on_return=None)
    # A fixed set of server connections and no overflow: a click waits a moment for a free one
    # rather than opening a server process for a burst (more only queue on the counter's row).
    options = {**engine_options, "pool_size": connections, "max_overflow": 0}
    return create_engine(database_uri, **options, isolation_level="AUTOCOMMIT", pool_reset_on_return=None)


class ClickCounter:
    """Counts clicks on its own autocommit engine; safe to call from any number of threads or
    greenlets. The one path by which the app reads and writes the counter."""

    def __init__(self, database_uri: str | URL, engine_options: dict[str, Any], connections: int = 8):
        self.engine = click_engine(database_uri, engine_options, connections)
        sqlite = is_sqlite(database_uri)
        # SQLite: under gevent every greenlet of the process shares one connection (a statement
        # runs to its end without a switch); with threads, each thread keeps its own.
        self._per_thread = (types.SimpleNamespace() if cooperative() else threading.local()) if sqlite else None
        dialect = self.engine.dialect
        self._bump_counter = _DriverStatement(_BUMP_COUNTER, dialect)
        self._read_counter = _DriverStatement(_READ_COUNTER, dialect)
        self._bump_sound = _DriverStatement(_BUMP_SOUND, dialect)
        self._read_sound = _DriverStatement(_READ_SOUND, dialect)
        # (when milestones were last read, the lowest count not yet reached): read again at most
        # every 2 s, or as soon as the counter passes it.
        self._next_milestone: tuple[float, int | None] = (0.0, None)
        self._milestone_check = threading.Lock()  # one thread reads them; the others click on
        # PostgreSQL: each commit waits for its WAL flush while holding the counter row's lock, so
        # the clicks that pile up meanwhile are counted in one statement. SQLite commits without
        # a flush, where the hand-offs would cost more than they save.
        # Under gevent, SQLite's own lock wait would freeze the worker's event loop (every page
        # and request of the process) while another process holds the write lock: the click
        # connection waits cooperatively instead, and the clicks that pile up meanwhile are
        # counted together by the next group, as on PostgreSQL.
        self._wait_cooperatively = sqlite and cooperative()
        self._group_commit = GroupCommit(self._count_now) if not sqlite or self._wait_cooperatively else None
        self._ensure_counter_row()

    def count(self, click: Click) -> ClickResult | None:
        """Commits the click, then returns the counts as they are now (ours included); None when
        the click names no existing sound and so was not counted."""
        if self._group_commit is not None:
            return self._group_commit.count(click)
        return self._count_now(click)

    def read(self) -> int:
        """The counter as committed now."""
        if self._per_thread is None:
            pooled = self.engine.raw_connection()
            try:
                return self._read_counter.run(pooled.cursor()).fetchone()[0]
            finally:
                pooled.close()
        return self._read_counter.run(self._cursor()).fetchone()[0]

    def _count_now(self, click: Click) -> ClickResult | None:
        if self._per_thread is None:
            pooled = self.engine.raw_connection()  # pre-pinged, for this click only
            try:
                counted = self._run_statements(pooled.cursor(), click)
            finally:
                pooled.close()  # back to the pool
        elif self._wait_cooperatively:
            counted = self._run_when_unlocked(click)
        else:
            counted = self._run_statements(self._cursor(), click)
        if counted is None:
            return None
        counter, sound_counts = counted
        reached = self._reach_milestones(counter, click.sound_filename) if click.kind == "click" else []
        return ClickResult(counter, sound_counts, reached)

    def _run_statements(self, cursor, click: Click) -> tuple[int, dict[str, int]] | None:
        """Each statement commits by itself (AUTOCOMMIT); returns the counter and the sound's
        count, or None when the click's sound does not exist (nothing was counted)."""
        if not click.sound_filename:
            return None
        sound_counts: dict[str, int] = {}
        if click.kind == "click":
            if not self._bump_counter.run(cursor, clicked=click.sound_filename, times=click.times).rowcount:
                return None
        elif self._bump_sound.run(cursor, clicked=click.sound_filename, times=click.times).rowcount:
            row = self._read_sound.run(cursor, clicked=click.sound_filename).fetchone()
            if row is not None:  # deleted between the two statements: counted, its count gone with it
                sound_counts[click.sound_filename] = row[0]
        else:
            return None
        return self._read_counter.run(cursor).fetchone()[0], sound_counts

    def _run_when_unlocked(self, click: Click) -> tuple[int, dict[str, int]] | None:
        """SQLite under gevent: the statements with no lock wait of SQLite's own; while another
        process writes, this greenlet sleeps (the loop serves everything else) and tries again."""
        deadline = time.monotonic() + SQLITE_LOCK_WAIT_SECONDS
        pause = 0.0005
        while True:
            try:
                return self._run_statements(self._cursor(), click)
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error) or time.monotonic() > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.02)

    def _cursor(self):
        """SQLite: a cursor on a connection kept for good by this thread (or, under gevent, by the
        process), not a pool checkout per click, whose lock every request would share."""
        cursor = getattr(self._per_thread, "cursor", None)
        if cursor is None:
            connection = self._per_thread.connection = self.engine.raw_connection()
            connection.detach()  # out of the pool: closed when this thread (or this counter) goes
            cursor = self._per_thread.cursor = connection.dbapi_connection.cursor()
            if self._wait_cooperatively:
                cursor.execute("PRAGMA busy_timeout = 0")  # see _run_when_unlocked
        return cursor

    def close(self) -> None:
        if self._per_thread is not None and getattr(self._per_thread, "connection", None) is not None:
            self._per_thread.connection.close()  # the calling thread's; other threads' close as they end
            self._per_thread.connection = self._per_thread.cursor = None
        self.engine.dispose()

    def _ensure_counter_row(self) -> None:
        try:
            with self.engine.connect() as connection:
                if connection.execute(_READ_COUNTER).first() is None:
                    connection.execute(insert(GlobalCounter).values(id=1, count=0))
        except IntegrityError:
            pass  # another process made it first

    def _reach_milestones(self, counter: int, sound_filename: str | None) -> list[dict]:
        refreshed_at, threshold = self._next_milestone
        if time.monotonic() - refreshed_at < MILESTONE_REFRESH_SECONDS and (threshold is None or counter < threshold):
            return []
        # Every request thread would find the refresh due at the same moment; one does it. A
        # milestone it does not reach stays below the threshold, so the next click checks again.
        if not self._milestone_check.acquire(blocking=False):
            return []
        try:
            return self._flip_reached_milestones(counter, sound_filename)
        finally:
            self._milestone_check.release()

    def _flip_reached_milestones(self, counter: int, sound_filename: str | None) -> list[dict]:
        reached_at = utcnow()
        sound_id = select(Sound.id).where(Sound.filename == sound_filename).scalar_subquery()
        with self.engine.connect() as connection:
            # One statement: each milestone is flipped, and so announced, by exactly one click.
            rows = connection.execute(
                update(Milestone)
                .where(Milestone.reached.is_(False), Milestone.count <= counter)
                .values(reached=True, reached_at=reached_at, sound_id=sound_id)
                .returning(Milestone.id, Milestone.count, Milestone.sound_id)
            ).all()
            upcoming = connection.execute(select(Milestone.count).where(Milestone.reached.is_(False)).order_by(Milestone.count).limit(1)).scalar()
        self._next_milestone = (time.monotonic(), upcoming)
        timestamp = int(reached_at.timestamp() * 1000)
        return [
            {"id": row.id, "count": row.count, "reached": 1, "timestamp": timestamp, "sound_id": row.sound_id}
            for row in sorted(rows, key=lambda r: r.count)
        ]


@dataclass(eq=False)
class _Waiting:
    click: Click
    ready: threading.Event = field(default_factory=threading.Event)
    leads: bool = False  # woken to commit the next group rather than with its result
    result: ClickResult | None = None
    answered: bool = False  # its group's commit ran to the end (result None: an unknown sound)
    error: BaseException | None = None

    def outcome(self) -> ClickResult | None:
        if self.error is not None:
            raise self.error
        if not self.answered:  # its group's commit was cut short by something that was no Exception
            raise RuntimeError("The click was not counted.")
        return self.result


class GroupCommit:
    """Clicks that arrive while a commit is running are counted together by the next one.

    The caller that finds no commit running commits every click waiting (its own included), with
    one ``count`` per distinct click (the same button pressed n times is one ``Click`` with
    ``times=n``), answers each waiting caller, then wakes the first of those that arrived
    meanwhile to commit the next group: nobody commits for others for longer than one group.
    """

    def __init__(self, count: Callable[[Click], ClickResult | None]):
        self._count = count
        self._lock = threading.Lock()
        self._waiting: list[_Waiting] = []
        self._committing = False

    def count(self, click: Click) -> ClickResult | None:
        mine = _Waiting(click)
        with self._lock:
            self._waiting.append(mine)
            leads, self._committing = not self._committing, True
        if not leads:
            mine.ready.wait()
            if not mine.leads:
                return mine.outcome()
        with self._lock:
            group, self._waiting = self._waiting, []
        try:
            self._commit(group)
        finally:  # whatever happened, the next group gets its committer
            with self._lock:
                if self._waiting:
                    self._waiting[0].leads = True
                    self._waiting[0].ready.set()
                else:
                    self._committing = False
        return mine.outcome()

    def _commit(self, group: list[_Waiting]) -> None:
        alike: dict[tuple[str, str | None], list[_Waiting]] = {}
        for waiting in group:
            alike.setdefault((waiting.click.kind, waiting.click.sound_filename), []).append(waiting)
        try:
            for (kind, filename), waitings in alike.items():
                try:
                    result = self._count(Click(kind, filename, sum(w.click.times for w in waitings)))
                except Exception as error:  # noqa: BLE001 - handed to each caller, who sees it raised
                    for waiting in waitings:
                        waiting.error = error
                    continue
                # One caller carries the milestones, so each is announced once.
                for number, waiting in enumerate(waitings):
                    waiting.answered = True
                    if result is not None:
                        waiting.result = result if number == 0 else ClickResult(result.counter, result.sound_counts, [])
        finally:
            for waiting in group:
                waiting.ready.set()


class Announcer:
    """Hands committed clicks to ``publish`` on its own thread, at most once every ``interval``
    seconds, merged: the highest counts and every milestone reached since the last time.

    Clickers are acknowledged by their own commit (HTTP response, WebSocket reply); everyone else
    hears from here. Publishing per click would wake a thread per click and make the fan-out grow
    with clicks times pages; merged, it costs the same at 10 clicks a second as at 10,000.
    """

    def __init__(self, publish, interval: float | Callable[[], float]):
        self._publish = publish
        self._interval = interval if callable(interval) else (lambda: interval)
        self._pending: ClickResult | None = None
        self._changed = threading.Condition(threading.Lock())
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="click-announcer", daemon=True)
        self._thread.start()

    def committed(self, result: ClickResult) -> None:
        with self._changed:
            if self._pending is None:
                self._pending = result
                self._changed.notify()
            else:
                self._pending = self._pending.merged_with(result)

    def close(self) -> None:
        """Publishes what is pending, then stops."""
        self._closed.set()
        with self._changed:
            self._changed.notify()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._changed:
                while self._pending is None and not self._closed.is_set():
                    self._changed.wait()
                if self._pending is None:
                    return
                result, self._pending = self._pending, None
            try:
                self._publish(result)
            except Exception:  # noqa: BLE001 - one failed broadcast must not stop the next ones
                log.exception("Announcing clicks failed")
            # Commits meanwhile merge into one announcement, without waking this thread.
            self._closed.wait(self._interval())
