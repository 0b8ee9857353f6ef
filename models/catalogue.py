"""The theme library: audio tracks, their videos, images, and the anime, artists and studios they belong to."""
from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, SoftDeleteMixin, TimestampMixin

VIDEO_SOURCES = ("WEB", "RAW", "BD", "DVD", "VHS", "LD")
VIDEO_OVERLAPS = ("None", "Transition", "Over")
IMAGE_FACETS = ("Cover", "Small Cover", "Grill")
ANIME_SEASONS = ("Winter", "Spring", "Summer", "Fall")


def _pivot(name: str, left: str, right: str) -> Table:
    return Table(
        name,
        Base.metadata,
        Column(f"{left}_id", ForeignKey(f"{left}.id", ondelete="CASCADE"), primary_key=True),
        Column(f"{right}_id", ForeignKey(f"{right}.id", ondelete="CASCADE"), primary_key=True, index=True),
    )


anime_image = _pivot("anime_image", "anime", "image")
artist_image = _pivot("artist_image", "artist", "image")
studio_image = _pivot("studio_image", "studio", "image")
anime_studio = _pivot("anime_studio", "anime", "studio")


class Audio(TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "audio"
    # The list's "not trashed, by id" page walks this index alone, even deep into the table.
    __table_args__ = (Index("ix_audio_deleted_at", "deleted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    basename: Mapped[str] = mapped_column(String(192), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(512))
    size: Mapped[int] = mapped_column(BigInteger, default=0, index=True)
    mimetype: Mapped[str] = mapped_column(String(64), index=True)
    # Filled from the file by the inspection service when the audio was uploaded here.
    duration: Mapped[float | None] = mapped_column(Float)
    bitrate: Mapped[int | None] = mapped_column(Integer)
    sample_rate: Mapped[int | None] = mapped_column(Integer)
    channels: Mapped[int | None] = mapped_column(Integer)
    format: Mapped[str | None] = mapped_column(String(16))
    storage_key: Mapped[str | None] = mapped_column(String(512))

    videos: Mapped[list[Video]] = relationship(back_populates="audio", lazy="raise_on_sql")


class Anime(TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "anime"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(192), index=True)
    slug: Mapped[str] = mapped_column(String(192), unique=True)
    year: Mapped[int | None] = mapped_column(Integer)
    season: Mapped[str | None] = mapped_column(String(16))
    synopsis: Mapped[str | None] = mapped_column(Text)

    videos: Mapped[list[Video]] = relationship(back_populates="anime", lazy="raise_on_sql")
    images: Mapped[list[Image]] = relationship(secondary=anime_image, back_populates="anime", lazy="raise_on_sql")
    studios: Mapped[list[Studio]] = relationship(secondary=anime_studio, back_populates="anime", lazy="raise_on_sql")


class Video(TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "video"
    # Includes ask for "videos of these parents that are not trashed": with both columns in one index
    # SQLite's planner never prefers the (unselective) deleted_at index and scans every video.
    __table_args__ = (
        Index("ix_video_audio_id_deleted_at", "audio_id", "deleted_at"),
        Index("ix_video_anime_id_deleted_at", "anime_id", "deleted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    basename: Mapped[str] = mapped_column(String(192), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(512))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    mimetype: Mapped[str] = mapped_column(String(64), default="video/webm")
    resolution: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(String(8))
    nc: Mapped[bool] = mapped_column(Boolean, default=False)
    subbed: Mapped[bool] = mapped_column(Boolean, default=False)
    lyrics: Mapped[bool] = mapped_column(Boolean, default=False)
    uncen: Mapped[bool] = mapped_column(Boolean, default=False)
    overlap: Mapped[str] = mapped_column(String(16), default="None")
    tags: Mapped[str | None] = mapped_column(String(64))
    audio_id: Mapped[int | None] = mapped_column(ForeignKey("audio.id", ondelete="SET NULL"))
    anime_id: Mapped[int | None] = mapped_column(ForeignKey("anime.id", ondelete="SET NULL"))

    audio: Mapped[Audio | None] = relationship(back_populates="videos", lazy="raise_on_sql")
    anime: Mapped[Anime | None] = relationship(back_populates="videos", lazy="raise_on_sql")


class Artist(TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "artist"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(192), index=True)
    slug: Mapped[str] = mapped_column(String(192), unique=True)

    images: Mapped[list[Image]] = relationship(secondary=artist_image, back_populates="artists", lazy="raise_on_sql")


class Studio(TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "studio"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(192), index=True)
    slug: Mapped[str] = mapped_column(String(192), unique=True)

    images: Mapped[list[Image]] = relationship(secondary=studio_image, back_populates="studios", lazy="raise_on_sql")
    anime: Mapped[list[Anime]] = relationship(secondary=anime_studio, back_populates="studios", lazy="raise_on_sql")


class Image(TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "image"

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(512), index=True)
    facet: Mapped[str] = mapped_column(String(16), index=True)
    mimetype: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)

    anime: Mapped[list[Anime]] = relationship(secondary=anime_image, back_populates="images", lazy="raise_on_sql")
    artists: Mapped[list[Artist]] = relationship(secondary=artist_image, back_populates="images", lazy="raise_on_sql")
    studios: Mapped[list[Studio]] = relationship(secondary=studio_image, back_populates="images", lazy="raise_on_sql")
