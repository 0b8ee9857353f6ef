"""Playlists: an ordered, doubly linked list of tracks pointing at the catalogue's audio."""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, SmallInteger, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, TimestampMixin, utcnow

PUBLIC, PRIVATE, UNLISTED = 0, 1, 2
VISIBILITIES = {PUBLIC: "Public", PRIVATE: "Private", UNLISTED: "Unlisted"}

PUBLIC_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
PUBLIC_ID_LENGTH = 16  # 16 characters of 62: 95 random bits


def new_public_id() -> str:
    """Every character drawn from the OS's CSPRNG, so no id says anything about another (or about a count)."""
    return "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(PUBLIC_ID_LENGTH))


def is_public_id(value: str) -> bool:
    return len(value) == PUBLIC_ID_LENGTH and all(ch in PUBLIC_ID_ALPHABET for ch in value)

playlist_image = Table(
    "playlist_image",
    Base.metadata,
    Column("playlist_id", ForeignKey("playlist.id", ondelete="CASCADE"), primary_key=True),
    Column("image_id", ForeignKey("image.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Playlist(TimestampMixin, Base):
    __tablename__ = "playlist"
    __table_args__ = (Index("ix_playlist_visibility_created_at", "visibility", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The only id a client ever sees: the integer key is sequential and would let anyone count or guess.
    public_id: Mapped[str] = mapped_column(String(PUBLIC_ID_LENGTH), unique=True, index=True, default=new_public_id)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(192))
    description: Mapped[str | None] = mapped_column(Text)
    visibility: Mapped[int] = mapped_column(SmallInteger, default=PUBLIC)
    # Ends of the linked list (track ids). Plain integers: a foreign key both ways would make a cycle.
    first_id: Mapped[int | None] = mapped_column(Integer)
    last_id: Mapped[int | None] = mapped_column(Integer)
    track_count: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped by every track write: the UPDATE that takes the row lock serialising writers.
    lock_version: Mapped[int] = mapped_column(Integer, default=0)

    tracks: Mapped[list[PlaylistTrack]] = relationship(
        back_populates="playlist", cascade="all, delete-orphan", passive_deletes=True, lazy="raise_on_sql"
    )


class PlaylistTrack(TimestampMixin, Base):
    __tablename__ = "playlist_track"
    __table_args__ = (Index("ix_playlist_track_playlist_id_position", "playlist_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    playlist_id: Mapped[int] = mapped_column(ForeignKey("playlist.id", ondelete="CASCADE"))
    audio_id: Mapped[int] = mapped_column(ForeignKey("audio.id", ondelete="CASCADE"), index=True)
    video_id: Mapped[int | None] = mapped_column(ForeignKey("video.id", ondelete="SET NULL"))
    previous_id: Mapped[int | None] = mapped_column(Integer)
    next_id: Mapped[int | None] = mapped_column(Integer)
    # Kept in step with the linked list so a page of tracks is one indexed range, however long the list.
    position: Mapped[int] = mapped_column(Integer, default=0)

    playlist: Mapped[Playlist] = relationship(back_populates="tracks", lazy="raise_on_sql")


class PlaylistActivity(Base):
    """The owner's activity log, written by the PlaylistCreated/Updated/Deleted subscriber."""

    __tablename__ = "playlist_activity"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    playlist_hashid: Mapped[str] = mapped_column(String(32))  # the playlist's public_id
    playlist_name: Mapped[str] = mapped_column(String(192))
    event: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
