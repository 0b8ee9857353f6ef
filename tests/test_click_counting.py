"""Counting clicks: one committed statement per click, today's row kept by the database, and the
announcer that tells every open page about committed clicks."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select, text

from blueprints.soundboard.clicks import Announcer, Click, ClickResult, GroupCommit
from blueprints.soundboard.live import live
from extensions import db
from models.soundboard import DailyStatistic, GlobalCounter, Sound
from tests.conftest import TEST_DATABASE_URL


BIG = Click("click", "boom")  # a big-button click counts only for a sound that exists


@pytest.fixture(autouse=True)
def _a_sound(app):
    with app.app_context():
        db.session.add(Sound(filename="boom", displayname="Boom", source="Season 1"))
        db.session.commit()


def _today_count() -> int | None:
    today = datetime.now(UTC).date()
    db.session.remove()  # read what is committed, not what this session saw before
    return db.session.scalar(select(DailyStatistic.count).where(DailyStatistic.date == today))


def test_big_button_clicks_are_committed_and_counted_for_today(app):
    with app.app_context():
        results = [live().record_click(BIG) for _ in range(3)]
        assert [r.counter for r in results] == [1, 2, 3]
        # Committed: a separate connection sees them at once.
        with db.engine.connect() as connection:
            assert connection.execute(select(GlobalCounter.count)).scalar_one() == 3
        assert _today_count() == 3


def test_a_board_click_counts_for_its_sound_only(app):
    with app.app_context():
        live().record_click(BIG)
        result = live().record_click(Click("sbClick", "boom"))
        assert result.sound_counts == {"boom": 1} and result.counter == 1
        assert live().record_click(Click("sbClick", "no-such-sound")) is None  # ignored, as the original does
        assert live().record_click(Click("click", "no-such-sound")) is None
        assert _today_count() == 1  # board clicks are not big-button clicks


def test_today_follows_any_increase_of_the_counter_in_the_same_statement(app):
    # The trigger lives in the database: even SQL that knows nothing of the app keeps the two
    # totals together, and lowering the counter (an operator's correction) takes nothing away.
    with app.app_context():
        live().record_click(BIG)
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE global_counter SET count = count + 5 WHERE id = 1"))
        assert _today_count() == 6
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE global_counter SET count = 0 WHERE id = 1"))
        assert _today_count() == 6


def _big_button_clicks_from_16_threads(app, clicks: int) -> list[int]:
    """The counter each click saw, clicked from 16 threads sharing the app's click counter."""
    with app.app_context():
        live()  # made once, before the threads share it

    def click(_):
        with app.app_context():
            return live().record_click(BIG).counter

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(click, range(clicks)))


def test_concurrent_clicks_from_many_threads_are_all_counted(app):
    counters = _big_button_clicks_from_16_threads(app, 400)
    # Every click saw a count that includes itself, and none was lost.
    assert max(counters) == 400 and min(counters) >= 1
    with app.app_context():
        assert db.session.scalar(select(GlobalCounter.count)) == 400
        assert _today_count() == 400


def test_clicks_from_many_threads_share_a_fixed_set_of_server_connections(app_factory):
    app = app_factory(CLICK_DB_CONNECTIONS=3)
    with app.app_context():
        engine = live().click_counter.engine
    opened = []
    event.listen(engine, "connect", lambda *_: opened.append(1))
    counters = _big_button_clicks_from_16_threads(app, 300)
    assert max(counters) == 300 and min(counters) >= 1
    if TEST_DATABASE_URL:
        # A burst queues for the three kept connections instead of opening (and closing) more.
        assert len(opened) <= 3
    else:
        assert len(opened) <= 16  # SQLite: each clicking thread opens its own file once


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="a server connection to lose needs PostgreSQL (the CI runs this on it)")
def test_clicks_go_on_after_the_database_drops_every_connection(app):
    with app.app_context():
        assert live().record_click(BIG).counter == 1
        with db.engine.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database()"))
        # The click engine's pooled connection is dead; its pre-ping replaces it, and the click
        # is counted once.
        assert live().record_click(BIG).counter == 2


def test_the_announcer_merges_what_piles_up_while_it_publishes():
    published: list[ClickResult] = []
    first_started, release = threading.Event(), threading.Event()

    def publish(result: ClickResult) -> None:
        published.append(result)
        first_started.set()
        release.wait(5)

    announcer = Announcer(publish, interval=0.01)
    announcer.committed(ClickResult(1, {}, []))
    assert first_started.wait(5)
    # While the first announcement is out, three more commits land: they become one.
    announcer.committed(ClickResult(3, {"boom": 2}, [{"id": 1, "count": 3}]))
    announcer.committed(ClickResult(2, {"boom": 1, "bang": 1}, []))
    announcer.committed(ClickResult(4, {}, [{"id": 2, "count": 4}]))
    release.set()
    announcer.close()  # delivers what is pending, then stops
    assert published == [
        ClickResult(1, {}, []),
        ClickResult(4, {"boom": 2, "bang": 1}, [{"id": 1, "count": 3}, {"id": 2, "count": 4}]),
    ]


def test_the_announcer_publishes_at_most_once_per_interval():
    published: list[ClickResult] = []
    announcer = Announcer(published.append, interval=0.05)
    started = time.monotonic()
    for counter in range(1, 201):
        announcer.committed(ClickResult(counter, {}, []))
        time.sleep(0.001)
    elapsed = time.monotonic() - started
    announcer.close()
    assert len(published) <= elapsed / 0.05 + 2  # not one per commit
    assert published[-1].counter == 200  # and the last word is the latest count


def test_the_summary_on_counter_updates_includes_clicks_since_it_was_cached(app):
    with app.app_context():
        state = live()
        state.record_click(BIG)
        assert state.summary()["daily"] == 1  # read from the database, and now cached for a second
        counter = [state.record_click(BIG).counter for _ in range(3)][-1]
        summary = state.summary(counter)
        assert summary["alltime"] == summary["daily"] == summary["weekly"] == summary["yearly"] == 4
        assert summary["average"] == 4.0  # every click was today, the only counted day


class _SlowCounter:
    """Stands in for the database: the first count blocks until released, and every count is
    recorded, so a test can see which clicks were counted together."""

    def __init__(self, fail_on: str | None = None):
        self.counted: list[Click] = []
        self.release = threading.Event()
        self.started = threading.Event()
        self.total = 0
        self._fail_on = fail_on

    def __call__(self, click: Click) -> ClickResult:
        self.started.set()
        self.release.wait(5)
        self.counted.append(click)
        if self._fail_on is not None and click.sound_filename == self._fail_on:
            raise RuntimeError("database gone")
        self.total += click.times
        return ClickResult(self.total, {}, [{"id": 1, "count": self.total}])


def _click_in_threads(group: GroupCommit, clicks: list[Click]) -> list:
    outcomes: list = [None] * len(clicks)

    def click(index: int) -> None:
        try:
            outcomes[index] = group.count(clicks[index])
        except Exception as error:  # noqa: BLE001 - the test looks at what each caller got
            outcomes[index] = error

    threads = [threading.Thread(target=click, args=(i,)) for i in range(len(clicks))]
    for thread in threads:
        thread.start()
    return threads, outcomes


def test_group_commit_counts_the_clicks_that_waited_in_one_statement():
    counter = _SlowCounter()
    group = GroupCommit(counter)
    first, first_outcome = _click_in_threads(group, [Click("click", None)])
    assert counter.started.wait(5)  # the first click is being committed...
    later, outcomes = _click_in_threads(group, [Click("click", None)] * 5 + [Click("click", None, times=3)])
    deadline = time.monotonic() + 5
    while len(group._waiting) < 6 and time.monotonic() < deadline:  # ...while six more arrive and wait
        time.sleep(0.01)
    counter.release.set()
    for thread in first + later:
        thread.join(5)
    # Two counts: the first click alone, then all that waited, as one click of 8.
    assert [(c.kind, c.times) for c in counter.counted] == [("click", 1), ("click", 8)]
    assert first_outcome[0].counter == 1 and all(o.counter == 9 for o in outcomes)
    # The group's milestone goes to one caller only, so it is announced once.
    assert sum(len(o.milestones) for o in outcomes) == 1


def test_group_commit_hands_a_failure_to_its_callers_and_goes_on():
    counter = _SlowCounter(fail_on="broken")
    group = GroupCommit(counter)
    counter.release.set()
    threads, outcomes = _click_in_threads(group, [Click("sbClick", "broken"), Click("sbClick", "fine")])
    for thread in threads:
        thread.join(5)
    assert isinstance(outcomes[0], RuntimeError) and isinstance(outcomes[1], ClickResult)
    assert group.count(Click("click", None)).counter == 2  # nothing is left stuck
