"""The soundboard: clips, the global counter, daily statistics and milestones."""
from __future__ import annotations

import datetime as dt
from datetime import datetime

from sqlalchemy import DDL, BigInteger, Boolean, Date, DateTime, Float, ForeignKey, String, event
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

DEFAULT_THEME = "megumin"
# The original's value for a sound without a source: its pages call source.replace() on every sound.
NO_SOURCE = "no-source"


class Sound(Base):
    __tablename__ = "sound"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(64), unique=True)
    displayname: Mapped[str | None] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(128), default=NO_SOURCE, server_default=NO_SOURCE, index=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    theme: Mapped[str] = mapped_column(String(32), default=DEFAULT_THEME, index=True)
    # Measured at upload: the gain (dB) that brings this clip to the board's common loudness.
    gain_db: Mapped[float] = mapped_column(Float, default=0.0)
    duration: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def on_board(self) -> bool:
        """Sounds without a displayname or source only play from the big button."""
        return bool(self.displayname) and self.source != NO_SOURCE


class GlobalCounter(Base):
    """One row (id 1): the big button's total."""

    __tablename__ = "global_counter"

    id: Mapped[int] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class DailyStatistic(Base):
    __tablename__ = "daily_statistic"

    id: Mapped[int] = mapped_column(primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, unique=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


# Every increment of the global counter is added to today's (UTC) statistics row by the database,
# inside the statement that increments it: a click is one autocommitted statement, and the two
# totals cannot drift apart (blueprints/soundboard/clicks.py). Migration 0700 creates the same.
COUNT_CLICKS_TODAY = {
    "sqlite": [
        """
        CREATE TRIGGER IF NOT EXISTS global_counter_counts_today
        AFTER UPDATE OF count ON global_counter WHEN NEW.count > OLD.count
        BEGIN
            INSERT INTO daily_statistic (date, count) VALUES (date('now'), NEW.count - OLD.count)
            ON CONFLICT (date) DO UPDATE SET count = count + excluded.count;
        END
        """
    ],
    "postgresql": [
        """
        CREATE OR REPLACE FUNCTION global_counter_counts_today() RETURNS trigger AS $$
        BEGIN
            INSERT INTO daily_statistic (date, count)
            VALUES ((now() AT TIME ZONE 'UTC')::date, NEW.count - OLD.count)
            ON CONFLICT (date) DO UPDATE SET count = daily_statistic.count + EXCLUDED.count;
            RETURN NEW;
        END
        $$ LANGUAGE plpgsql
        """,
        """
        CREATE TRIGGER global_counter_counts_today
        AFTER UPDATE OF count ON global_counter
        FOR EACH ROW WHEN (NEW.count > OLD.count)
        EXECUTE FUNCTION global_counter_counts_today()
        """,
    ],
}

for _dialect, _statements in COUNT_CLICKS_TODAY.items():
    for _statement in _statements:
        # Made with the table by create_all too (the tests). Either trigger body names
        # daily_statistic only when it runs, so the order the tables are created in does not matter.
        event.listen(GlobalCounter.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect))


class Milestone(Base):
    __tablename__ = "milestone"

    id: Mapped[int] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, unique=True)
    reached: Mapped[bool] = mapped_column(Boolean, default=False)
    reached_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The sound whose click reached it; a deleted sound leaves the milestone without one.
    sound_id: Mapped[int | None] = mapped_column(ForeignKey("sound.id", ondelete="SET NULL"))


class SoundboardSetting(Base):
    """An admin's override of a live setting (the original's ``/api/admin/config``), by the original's
    name: in the database so that every worker and server applies the same one."""

    __tablename__ = "soundboard_setting"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
