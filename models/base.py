"""Declarative base shared by every model: naming convention and timestamps."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints let Alembic's batch mode alter SQLite tables.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Called per row (never evaluated once at import)."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def isoformat(value: datetime | None) -> str | None:
    """The API timestamp format: ISO 8601, UTC, microseconds, 'Z' (2024-01-15T12:00:00.000000Z)."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset():
        value = as_utc(value).astimezone(UTC)
    # isoformat(), not strftime: a page serialises hundreds of these.
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class SoftDeleteMixin:
    # Not indexed by default: with an index SQLite's planner (without statistics) prefers it to the
    # selective foreign-key index of an include and scans every row. Lists that page through a whole
    # table declare their own (see Audio).
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    @property
    def is_trashed(self) -> bool:
        return self.deleted_at is not None
