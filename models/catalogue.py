"""The theme wiki: anime and their themes, entries, songs and artists; videos, audio, images, series and studios.

Names, keys and relations follow the AnimeThemes wiki: an anime has themes (OP/ED/IN with a sequence),
a theme has entries (versions) and one song, an entry has videos, a video has audio, a song has
artists (with the "as" of each performance).
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, ForeignKey, Index, Integer, String, Table, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, SoftDeleteMixin, TimestampMixin

VIDEO_SOURCES = ("WEB", "RAW", "BD", "DVD", "VHS", "LD")
VIDEO_OVERLAPS = ("None", "Transition", "Over")
IMAGE_FACETS = ("Cover", "Small Cover", "Grill")
ANIME_SEASONS = ("Winter", "Spring", "Summer", "Fall")
ANIME_MEDIA_FORMATS = ("Unknown", "TV", "TV Short", "OVA", "Movie", "Special", "ONA")
SYNONYM_TYPES = ("Other", "Native", "English", "Short")
THEME_TYPES = ("OP", "ED", "IN")


def _pivot(name: str, left: str, right: str, left_key: str | None = None, right_key: str | None = None) -> Table:
    # The primary key serves lookups from the left side; the index serves those from the right.
    return Table(
        name,
        Base.metadata,
        Column(left_key or f"{left}_id", ForeignKey(f"{left}.id", ondelete="CASCADE"), primary_key=True),
        Column(right_key or f"{right}_id", ForeignKey(f"{right}.id", ondelete="CASCADE"), primary_key=True, index=True),
    )


anime_image = _pivot("anime_image", "anime", "image")
artist_image = _pivot("artist_image", "artist", "image")
studio_image = _pivot("studio_image", "studio", "image")
anime_studio = _pivot("anime_studio", "anime", "studio")
anime_series = _pivot("anime_series", "anime", "series")
anime_theme_entry_video = _pivot("anime_theme_entry_video", "anime_theme_entry", "video", "entry_id", "video_id")
# A performance: which artist sings a song, credited "as" a character, under an alias.
artist_song = Table(
    "artist_song",
    Base.metadata,
    Column("artist_id", ForeignKey("artist.id", ondelete="CASCADE"), primary_key=True),
    Column("song_id", ForeignKey("song.id", ondelete="CASCADE"), primary_key=True, index=True),
    Column("as", String(192)),
    Column("alias", String(192)),
)


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
    media_format: Mapped[str | None] = mapped_column(String(16))
    synopsis: Mapped[str | None] = mapped_column(Text)

    # Legacy: videos linked straight to an anime before themes existed (Video.anime_id).
    videos: Mapped[list[Video]] = relationship(back_populates="anime", lazy="raise_on_sql")
    synonyms: Mapped[list[AnimeSynonym]] = relationship(back_populates="anime", lazy="raise_on_sql", passive_deletes=True)
    themes: Mapped[list[AnimeTheme]] = relationship(back_populates="anime", lazy="raise_on_sql", passive_deletes=True)
    images: Mapped[list[Image]] = relationship(secondary=anime_image, back_populates="anime", lazy="raise_on_sql")
    studios: Mapped[list[Studio]] = relationship(secondary=anime_studio, back_populates="anime", lazy="raise_on_sql")
    series: Mapped[list[Series]] = relationship(secondary=anime_series, back_populates="anime", lazy="raise_on_sql")


# One-to-many relations leave deleting children (or nulling their keys) to the database's ON DELETE,
# so a force delete never loads, nor orphans, the rows below it (passive_deletes).


class AnimeSynonym(TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "anime_synonym"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(192), index=True)
    type: Mapped[str] = mapped_column(String(16), default="Other")
    anime_id: Mapped[int] = mapped_column(ForeignKey("anime.id", ondelete="CASCADE"), index=True)

    anime: Mapped[Anime] = relationship(back_populates="synonyms", lazy="raise_on_sql")


def theme_slug(type_: str | None, sequence: int | None) -> str:
    """Upstream's theme slug: the type and its sequence ("OP1"); a theme without sequence is just "OP"."""
    return f"{type_ or ''}{sequence or ''}"


class AnimeTheme(TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "anime_theme"
    __table_args__ = (Index("ix_anime_theme_anime_id_deleted_at", "anime_id", "deleted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(2), default="OP")
    sequence: Mapped[int | None] = mapped_column(Integer)
    # Stored (not only computed) so that lists can filter and sort on it; kept in step by _set_slug.
    slug: Mapped[str] = mapped_column(String(16), default="")
    anime_id: Mapped[int] = mapped_column(ForeignKey("anime.id", ondelete="CASCADE"))
    song_id: Mapped[int | None] = mapped_column(ForeignKey("song.id", ondelete="SET NULL"), index=True)

    anime: Mapped[Anime] = relationship(back_populates="themes", lazy="raise_on_sql")
    song: Mapped[Song | None] = relationship(back_populates="themes", lazy="raise_on_sql")
    entries: Mapped[list[AnimeThemeEntry]] = relationship(back_populates="theme", lazy="raise_on_sql", passive_deletes=True)


@event.listens_for(AnimeTheme, "before_insert")
@event.listens_for(AnimeTheme, "before_update")
def _set_slug(mapper, connection, theme: AnimeTheme) -> None:
    theme.slug = theme_slug(theme.type, theme.sequence)


class AnimeThemeEntry(TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "anime_theme_entry"
    __table_args__ = (Index("ix_anime_theme_entry_theme_id_deleted_at", "theme_id", "deleted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int | None] = mapped_column(Integer)
    episodes: Mapped[str | None] = mapped_column(String(192))
    nsfw: Mapped[bool] = mapped_column(Boolean, default=False)
    spoiler: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(String(192))
    theme_id: Mapped[int] = mapped_column(ForeignKey("anime_theme.id", ondelete="CASCADE"))

    theme: Mapped[AnimeTheme] = relationship(back_populates="entries", lazy="raise_on_sql")
    videos: Mapped[list[Video]] = relationship(secondary=anime_theme_entry_video, back_populates="entries", lazy="raise_on_sql")


class Song(TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "song"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str | None] = mapped_column(String(192), index=True)

    themes: Mapped[list[AnimeTheme]] = relationship(back_populates="song", lazy="raise_on_sql", passive_deletes=True)
    artists: Mapped[list[Artist]] = relationship(secondary=artist_song, back_populates="songs", lazy="raise_on_sql")


class Series(TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "series"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(192), index=True)
    slug: Mapped[str] = mapped_column(String(192), unique=True)

    anime: Mapped[list[Anime]] = relationship(secondary=anime_series, back_populates="series", lazy="raise_on_sql")


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
    entries: Mapped[list[AnimeThemeEntry]] = relationship(
        secondary=anime_theme_entry_video, back_populates="videos", lazy="raise_on_sql"
    )


class Artist(TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "artist"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(192), index=True)
    slug: Mapped[str] = mapped_column(String(192), unique=True)
    information: Mapped[str | None] = mapped_column(Text)

    images: Mapped[list[Image]] = relationship(secondary=artist_image, back_populates="artists", lazy="raise_on_sql")
    songs: Mapped[list[Song]] = relationship(secondary=artist_song, back_populates="artists", lazy="raise_on_sql")


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
