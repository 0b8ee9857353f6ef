"""Tracks v1: a user's collections, creators and tracks (UUID ids, owned by one user)."""
from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Enum, Float, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, deferred, mapped_column

from models.base import Base, TimestampMixin


class TrackStatus(str, enum.Enum):
    awaiting_upload = "awaiting_upload"
    processing = "processing"
    ready = "ready"
    error = "error"


class Collection(TimestampMixin, Base):
    __tablename__ = "collection"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    # "metadata" is reserved on declarative classes; the column keeps the API's name.
    meta: Mapped[dict] = mapped_column("metadata", JSON, default=dict)


class Creator(TimestampMixin, Base):
    __tablename__ = "creator"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organization_index: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    meta: Mapped[dict] = mapped_column("metadata", JSON, default=dict)


class Track(TimestampMixin, Base):
    __tablename__ = "track"
    __table_args__ = (
        # The processing sweep looks for processing tracks whose lease ran out.
        Index("ix_track_status_claimed_at", "status", "claimed_at"),
        Index("ix_track_collection_id_created_at", "collection_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    collection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("collection.id", ondelete="CASCADE"))
    creator_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("creator.id", ondelete="SET NULL"), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(255))
    organization_index: Mapped[str | None] = mapped_column(String(255))
    meta: Mapped[dict] = mapped_column("metadata", JSON, default=dict)
    is_cover_overridable: Mapped[bool] = mapped_column(Boolean, default=True)
    is_theme_overridable: Mapped[bool] = mapped_column(Boolean, default=True)
    player_title: Mapped[str | None] = mapped_column(String(255))
    player_subtitle: Mapped[str | None] = mapped_column(String(255))
    player_color: Mapped[str | None] = mapped_column(String(7))  # set by the owner
    cover_color: Mapped[str | None] = mapped_column(String(7))  # derived from the cover

    status: Mapped[TrackStatus] = mapped_column(
        Enum(TrackStatus, native_enum=False, length=16), default=TrackStatus.awaiting_upload
    )
    error_reason: Mapped[str | None] = mapped_column(String(500))
    # Processing lease: a worker owns a processing track until claimed_at + lease; then anyone may retry.
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    processing_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Each signed URL is spent when its upload is accepted (used_at). While a body arrives the
    # request holds an expiring claim (token, until), renewed as bytes come in, so a request that
    # dies mid-body frees the URL once the claim runs out; the token fences a claim taken over.
    audio_upload_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cover_upload_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    audio_upload_claim: Mapped[str | None] = mapped_column(String(32))
    audio_upload_claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cover_upload_claim: Mapped[str | None] = mapped_column(String(32))
    cover_upload_claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    format: Mapped[str | None] = mapped_column(String(16))
    mimetype: Mapped[str | None] = mapped_column(String(64))
    duration: Mapped[float | None] = mapped_column(Float)
    size: Mapped[int | None] = mapped_column(Integer)
    audio_key: Mapped[str | None] = mapped_column(String(255))
    cover_key: Mapped[str | None] = mapped_column(String(255))  # the cover shown (uploaded or embedded)
    cover_mimetype: Mapped[str | None] = mapped_column(String(64))
    uploaded_cover_key: Mapped[str | None] = mapped_column(String(255))
    uploaded_cover_mimetype: Mapped[str | None] = mapped_column(String(64))
    embedded_cover_key: Mapped[str | None] = mapped_column(String(255))
    embedded_cover_mimetype: Mapped[str | None] = mapped_column(String(64))
    # A few hundred peaks (0..1); only the waveform endpoint loads them.
    waveform: Mapped[list | None] = deferred(mapped_column(JSON))

    @property
    def display_title(self) -> str:
        return self.player_title or self.title or self.file_name

    @property
    def effective_color(self) -> str | None:
        return self.player_color or self.cover_color

    def file_keys(self) -> list[str]:
        return [
            key
            for key in (self.audio_key, self.cover_key, self.uploaded_cover_key, self.embedded_cover_key)
            if key
        ]
