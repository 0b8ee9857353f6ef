"""Catalogue use cases: validated writes, soft deletes, uploads. Called by the JSON API, the admin
pages, the seed step and the tests alike; each ends in one commit and raises domain errors."""
from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any, Callable, Mapping

from blinker import Namespace
from PIL import Image as PILImage
from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.exc import IntegrityError

from concurrency import run_off_loop
from domain import NotFound, ValidationFailed
from extensions import db
from media.images import inspect_image
from media.inspection import inspect_audio
from media.storage import get_storage, max_upload_bytes, staged_upload
from models.catalogue import (
    ANIME_MEDIA_FORMATS,
    ANIME_SEASONS,
    IMAGE_FACETS,
    SYNONYM_TYPES,
    THEME_TYPES,
    VIDEO_OVERLAPS,
    VIDEO_SOURCES,
    Anime,
    AnimeSynonym,
    AnimeTheme,
    AnimeThemeEntry,
    Artist,
    Audio,
    Image,
    Series,
    Song,
    Studio,
    Video,
)

# Sent inside the transaction that hides or deletes an audio track, before its commit, so other
# features (playlists) can take it out of their own data atomically.
audio_leaving = Namespace().signal("audio-leaving")

SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


@dataclass
class ImageVisibility:
    """Which images a caller (a user id, or None) may see. Playlist covers are images too, and the
    playlists feature sets these so that covers of private and unlisted playlists stay their owner's."""

    listed: Callable[[int | None], ColumnElement] | None = None  # lists, shows, includes, pages, writes
    reachable: Callable[[int | None], ColumnElement] | None = None  # the file (and its thumbnails)


IMAGE_VISIBILITY = ImageVisibility()


def images_listed_for(user_id: int | None) -> ColumnElement:
    return IMAGE_VISIBILITY.listed(user_id) if IMAGE_VISIBILITY.listed else true()


def images_reachable_for(user_id: int | None) -> ColumnElement:
    return IMAGE_VISIBILITY.reachable(user_id) if IMAGE_VISIBILITY.reachable else true()


@dataclass(frozen=True)
class WritableField:
    name: str
    kind: str = "str"  # str | int | bool | enum | fk
    required: bool = False
    max_length: int | None = 192
    choices: tuple[str, ...] = ()
    unique: bool = False
    pattern: re.Pattern | None = None
    fk_model: type | None = None
    minimum: int | None = None


@dataclass(frozen=True)
class CatalogueResource:
    """How one catalogue model is written: its key in URLs, its fields, its files."""

    name: str  # URL segment and label source: "audio"
    label: str  # "Audio"
    model: type
    key: str  # attribute looked up in URLs: basename, slug or id
    fields: tuple[WritableField, ...]
    file_keys: Callable[[Any], list[str]] = field(default=lambda instance: [])
    name_field: str | None = None  # what upstream's getName() answers, when it is not the URL key

    def deleted_message(self, instance) -> str:
        """Upstream's force-delete message: the model's headline name and its getName()."""
        name = getattr(instance, self.name_field) if self.name_field else self.key_of(instance)
        return f"{self.label} '{name}' was deleted."

    @property
    def key_column(self):
        return getattr(self.model, self.key)

    def key_of(self, instance) -> str:
        return str(getattr(instance, self.key))


def _audio_files(audio: Audio) -> list[str]:
    return [audio.storage_key] if audio.storage_key else []


def _image_files(image: Image) -> list[str]:
    return [f"images/{image.path}"]


AUDIO = CatalogueResource(
    "audio", "Audio", Audio, "basename",
    (
        WritableField("basename", required=True, unique=True, pattern=SLUG),
        WritableField("filename", required=True, max_length=255),
        WritableField("path", required=True, max_length=512),
        WritableField("size", "int", required=True, minimum=0),
        WritableField("mimetype", required=True, max_length=64),
    ),
    _audio_files,
)
VIDEO = CatalogueResource(
    "video", "Video", Video, "basename",
    (
        WritableField("basename", required=True, unique=True, pattern=SLUG),
        WritableField("filename", required=True, max_length=255),
        WritableField("path", required=True, max_length=512),
        WritableField("size", "int", required=True, minimum=0),
        WritableField("mimetype", required=True, max_length=64),
        WritableField("resolution", "int", minimum=1),
        WritableField("source", "enum", choices=VIDEO_SOURCES),
        WritableField("nc", "bool"),
        WritableField("subbed", "bool"),
        WritableField("lyrics", "bool"),
        WritableField("uncen", "bool"),
        WritableField("overlap", "enum", choices=VIDEO_OVERLAPS),
        WritableField("tags", max_length=64),
        WritableField("audio_id", "fk", fk_model=Audio),
        WritableField("anime_id", "fk", fk_model=Anime),
    ),
)
IMAGE = CatalogueResource(
    "image", "Image", Image, "id",
    (
        WritableField("path", required=True, max_length=512),
        WritableField("facet", "enum", required=True, choices=IMAGE_FACETS),
    ),
    _image_files,
    name_field="path",
)
ANIME = CatalogueResource(
    "anime", "Anime", Anime, "slug",
    (
        WritableField("name", required=True),
        WritableField("slug", required=True, unique=True, pattern=SLUG),
        WritableField("year", "int", minimum=1900),
        WritableField("season", "enum", choices=ANIME_SEASONS),
        WritableField("media_format", "enum", choices=ANIME_MEDIA_FORMATS),
        WritableField("synopsis", max_length=5000),
    ),
    name_field="name",
)
ARTIST = CatalogueResource(
    "artist", "Artist", Artist, "slug",
    (
        WritableField("name", required=True),
        WritableField("slug", required=True, unique=True, pattern=SLUG),
        WritableField("information", max_length=5000),
    ),
    name_field="name",
)
STUDIO = CatalogueResource(
    "studio", "Studio", Studio, "slug",
    (WritableField("name", required=True), WritableField("slug", required=True, unique=True, pattern=SLUG)),
    name_field="name",
)
SERIES = CatalogueResource(
    "series", "Series", Series, "slug",
    (WritableField("name", required=True), WritableField("slug", required=True, unique=True, pattern=SLUG)),
    name_field="name",
)
SONG = CatalogueResource("song", "Song", Song, "id", (WritableField("title"),))
ANIMESYNONYM = CatalogueResource(
    "animesynonym", "AnimeSynonym", AnimeSynonym, "id",
    (
        WritableField("text", required=True),
        WritableField("type", "enum", choices=SYNONYM_TYPES),
        WritableField("anime_id", "fk", required=True, fk_model=Anime),
    ),
    name_field="text",
)
ANIMETHEME = CatalogueResource(
    "animetheme", "AnimeTheme", AnimeTheme, "id",
    (
        WritableField("type", "enum", required=True, choices=THEME_TYPES),
        WritableField("sequence", "int", minimum=0),
        WritableField("anime_id", "fk", required=True, fk_model=Anime),
        WritableField("song_id", "fk", fk_model=Song),
    ),
)
ANIMETHEMEENTRY = CatalogueResource(
    "animethemeentry", "AnimeThemeEntry", AnimeThemeEntry, "id",
    (
        WritableField("version", "int", minimum=0),
        WritableField("episodes"),
        WritableField("nsfw", "bool"),
        WritableField("spoiler", "bool"),
        WritableField("notes"),
        WritableField("theme_id", "fk", required=True, fk_model=AnimeTheme),
    ),
)
RESOURCES = {
    resource.name: resource
    for resource in (AUDIO, VIDEO, IMAGE, ANIME, ARTIST, STUDIO, SERIES, SONG, ANIMESYNONYM, ANIMETHEME, ANIMETHEMEENTRY)
}


# ---------------------------------------------------------------------------------------------
# Validation (Laravel's wording, since clients of the original parse it)
# ---------------------------------------------------------------------------------------------


def validate(resource: CatalogueResource, data: Mapping[str, Any], *, partial: bool, instance=None) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ValidationFailed({"body": ["The request body must be a JSON object."]})
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    for spec in resource.fields:
        present = spec.name in data
        value = data.get(spec.name)
        if not present or value is None or value == "":
            if spec.required and (not partial or (present and value in (None, ""))):
                errors[spec.name] = [f"The {spec.name} field is required."]
            elif present and not spec.required:
                clean[spec.name] = None if spec.kind != "bool" else False
            continue
        message, value = _check(spec, value)
        if message:
            errors[spec.name] = [message]
            continue
        clean[spec.name] = value
    for spec in resource.fields:
        if spec.unique and spec.name in clean and spec.name not in errors:
            query = select(func.count()).select_from(resource.model).where(getattr(resource.model, spec.name) == clean[spec.name])
            if instance is not None:
                query = query.where(resource.model.id != instance.id)
            if db.session.scalar(query):
                errors[spec.name] = [f"The {spec.name} has already been taken."]
    if errors:
        raise ValidationFailed(errors)
    return clean


def _check(spec: WritableField, value: Any) -> tuple[str | None, Any]:
    if spec.kind in ("int", "fk"):
        if isinstance(value, bool) or not isinstance(value, int):
            return f"The {spec.name} field must be an integer.", None  # JSON types only: "5" is text
        if spec.minimum is not None and value < spec.minimum:
            return f"The {spec.name} field must be at least {spec.minimum}.", None
        if spec.kind == "fk" and db.session.get(spec.fk_model, value) is None:
            return f"The selected {spec.name} is invalid.", None
        return None, value
    if spec.kind == "bool":
        if isinstance(value, bool):
            return None, value
        return f"The {spec.name} field must be true or false.", None
    if not isinstance(value, str):
        return f"The {spec.name} field must be a string.", None
    value = value.strip()
    if spec.kind == "enum":
        if value not in spec.choices:
            return f"The selected {spec.name} is invalid.", None
        return None, value
    if spec.max_length is not None and len(value) > spec.max_length:
        return f"The {spec.name} field must not be greater than {spec.max_length} characters.", None
    if spec.pattern is not None and not spec.pattern.match(value):
        return f"The {spec.name} field may only contain letters, numbers, dashes, dots and underscores.", None
    return None, value


# ---------------------------------------------------------------------------------------------
# Lookups and writes
# ---------------------------------------------------------------------------------------------


def find(resource: CatalogueResource, key: str, *, trashed: str = "without", viewer_id: int | None = None):
    column = resource.key_column
    if resource.key == "id":
        if not str(key).isdecimal() or len(str(key)) > 10:  # ids are 32-bit; "²" is a digit int() refuses
            raise NotFound(f"No query results for model [{resource.label}] {key}")
        key = int(key)
    statement = select(resource.model).where(column == key)
    if trashed == "without":
        statement = statement.where(resource.model.deleted_at.is_(None))
    elif trashed == "only":
        statement = statement.where(resource.model.deleted_at.is_not(None))
    if resource is IMAGE:
        statement = statement.where(images_listed_for(viewer_id))
    instance = db.session.scalar(statement)
    if instance is None:
        raise NotFound(f"No query results for model [{resource.label}] {key}")
    return instance


def _commit_unique(resource: CatalogueResource) -> None:
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent writer took the same unique value
        db.session.rollback()
        unique = next((spec.name for spec in resource.fields if spec.unique), "key")
        raise ValidationFailed({unique: [f"The {unique} has already been taken."]}) from None


def create(resource: CatalogueResource, data: Mapping[str, Any]):
    instance = resource.model(**validate(resource, data, partial=False))
    db.session.add(instance)
    _commit_unique(resource)
    return instance


def update(resource: CatalogueResource, instance, data: Mapping[str, Any]):
    for name, value in validate(resource, data, partial=True, instance=instance).items():
        setattr(instance, name, value)
    instance.updated_at = datetime.now(UTC)
    _commit_unique(resource)
    return instance


def soft_delete(instance) -> None:
    instance.deleted_at = datetime.now(UTC)
    if isinstance(instance, Audio):
        audio_leaving.send(instance, audio_id=instance.id)
    db.session.commit()


def restore(instance) -> None:
    instance.deleted_at = None
    db.session.commit()


def force_delete(resource: CatalogueResource, instance) -> None:
    """Remove the row, then its files (only once the row is surely gone)."""
    files = resource.file_keys(instance)
    if isinstance(instance, Audio):
        audio_leaving.send(instance, audio_id=instance.id)
    db.session.delete(instance)
    db.session.commit()
    storage = get_storage()
    for key in files:
        storage.delete(key)


def upload_audio(stream, original_name: str | None, basename: str | None = None) -> Audio:
    """Store a real MP3/Ogg/FLAC upload: inspected, committed, then moved into the storage."""
    wanted = (basename or PurePosixPath(original_name or "").stem or "").strip()
    wanted = re.sub(r"[^A-Za-z0-9_.\-]+", "-", wanted).strip("-.") or f"audio-{uuid.uuid4().hex[:8]}"
    validate(AUDIO, {"basename": wanted}, partial=True)  # taken or malformed: fail before reading the body
    with staged_upload(stream) as staged:
        info = inspect_audio(staged.path, max_bytes=max_upload_bytes())
        filename = f"{wanted}.{info.extension}"
        audio = Audio(
            basename=wanted,
            filename=filename,
            path=f"/audio/{filename}",
            size=staged.size,
            mimetype=info.mimetype,
            duration=info.duration,
            bitrate=info.bitrate,
            sample_rate=info.sample_rate,
            channels=info.channels,
            format=info.format,
            storage_key=f"audio/{filename}",
        )
        db.session.add(audio)
        _commit_unique(AUDIO)
        try:
            staged.store(audio.storage_key)
        except OSError:
            db.session.delete(audio)  # no row may point at a file that is not there
            db.session.commit()
            raise
    return audio


def add_staged_image(staged, facet: str) -> Image:
    """The row for an image received into ``staged``, added to the session but not committed: the
    caller's use case commits it with the rest, then stores the file (``images/<path>``)."""
    validate(IMAGE, {"facet": facet, "path": "placeholder"}, partial=False)
    data = staged.path.read_bytes()
    info = inspect_image(data)
    folder = facet.lower().replace(" ", "_")
    path = f"{folder}/{uuid.uuid4().hex[:16]}.{info.extension}"
    image = Image(path=path, facet=facet, mimetype=info.mimetype, size=len(data), width=info.width, height=info.height)
    db.session.add(image)
    return image


def upload_image(stream, facet: str) -> Image:
    validate(IMAGE, {"facet": facet, "path": "placeholder"}, partial=False)
    with staged_upload(stream) as staged:
        image = add_staged_image(staged, facet)
        db.session.commit()
        staged.store(f"images/{image.path}")
    return image


def store_image_bytes(data: bytes, facet: str, path: str) -> Image:
    """For the seed step: an image whose bytes are already in memory."""
    info = inspect_image(data)
    image = Image(path=path, facet=facet, mimetype=info.mimetype, size=len(data), width=info.width, height=info.height)
    db.session.add(image)
    db.session.commit()
    get_storage().put_bytes(data, f"images/{path}")
    return image


def thumbnail_key(image: Image, width: int) -> str:
    """A resized copy for the gallery, made once and kept beside the original."""
    key = f"thumbs/{width}/{image.path}"
    storage = get_storage()
    if not storage.exists(key):
        with storage.local_path(f"images/{image.path}") as original:
            storage.put_bytes(run_off_loop(_resized, original, width), key)
    return key


def _resized(path, width: int) -> bytes:
    with PILImage.open(path) as original:
        copy = original.copy()
        copy.thumbnail((width, width))
        buffer = io.BytesIO()
        copy.save(buffer, format=original.format or "PNG")
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# Reads for the pages (ORM objects with their loads stated up front)
# ---------------------------------------------------------------------------------------------

AUDIO_FORMATS = {"mp3": "audio/mpeg", "ogg": "audio/ogg", "flac": "audio/flac"}
AUDIO_SORTS = {
    "basename": Audio.basename.asc(),
    "-basename": Audio.basename.desc(),
    "-created_at": Audio.created_at.desc(),
    "size": Audio.size.asc(),
    "-size": Audio.size.desc(),
    "duration": Audio.duration.asc(),
}


def browse_audio(search: str = "", sort: str = "basename", fmt: str = "", page: int = 1, per_page: int = 20):
    from sqlalchemy.orm import selectinload

    from blueprints.common.query import search_clause

    theme = selectinload(Audio.videos).selectinload(Video.entries).selectinload(AnimeThemeEntry.theme)
    statement = (
        select(Audio)
        .where(Audio.deleted_at.is_(None))
        .options(theme.selectinload(AnimeTheme.anime).selectinload(Anime.images), theme.selectinload(AnimeTheme.song))
    )
    if search:
        statement = statement.where(search_clause([Audio.basename, Audio.filename], search))
    if fmt in AUDIO_FORMATS:
        statement = statement.where(Audio.mimetype == AUDIO_FORMATS[fmt])
    statement = statement.order_by(AUDIO_SORTS.get(sort, Audio.basename.asc()), Audio.id)
    return db.paginate(statement, page=page, per_page=per_page, error_out=False)


@dataclass
class Credit:
    """An artist credited on a song, with the "as" of the performance."""

    artist: Artist
    as_: str | None


def credits_for(song_ids) -> dict[int, list[Credit]]:
    """Each song's artists with the "as" of their performance, in one query."""
    from models.catalogue import artist_song

    result: dict[int, list[Credit]] = {}
    song_ids = {i for i in song_ids if i is not None}
    if not song_ids:
        return result
    rows = db.session.execute(
        select(artist_song.c.song_id, artist_song.c["as"], Artist)
        .join(Artist, Artist.id == artist_song.c.artist_id)
        .where(artist_song.c.song_id.in_(song_ids), Artist.deleted_at.is_(None))
        .order_by(Artist.name, Artist.id)
    )
    for song_id, as_, artist in rows:
        result.setdefault(song_id, []).append(Credit(artist, as_))
    return result


def cover_of(anime: Anime, facet: str = "Cover") -> Image | None:
    """The anime's image of that facet, else any of its images."""
    images = [image for image in anime.images if image.deleted_at is None]
    return next((image for image in images if image.facet == facet), images[0] if images else None)


@dataclass
class AudioTheme:
    """What an audio track is in the wiki: the theme one of its videos belongs to."""

    anime: Anime
    theme: AnimeTheme
    credits: list[Credit]
    cover: Image | None


def audio_themes(audios) -> dict[int, AudioTheme]:
    """The wiki theme of each audio (loaded by browse_audio), with one more query for the credits."""
    found: dict[int, tuple[Anime, AnimeTheme]] = {}
    for audio in audios:
        for video in audio.videos:
            if video.deleted_at is not None:
                continue
            for entry in video.entries:
                theme = entry.theme
                if entry.deleted_at is None and theme.deleted_at is None and theme.anime.deleted_at is None:
                    found.setdefault(audio.id, (theme.anime, theme))
    credits = credits_for(theme.song_id for _, theme in found.values())
    return {
        audio_id: AudioTheme(anime, theme, credits.get(theme.song_id, []), cover_of(anime, "Small Cover"))
        for audio_id, (anime, theme) in found.items()
    }


def audio_detail(basename: str) -> Audio:
    from sqlalchemy.orm import selectinload

    audio = db.session.scalar(
        select(Audio)
        .where(Audio.basename == basename, Audio.deleted_at.is_(None))
        .options(selectinload(Audio.videos).selectinload(Video.anime))
    )
    if audio is None:
        raise NotFound(f"No audio named {basename!r}.")
    return audio


def browse_images(facet: str = "", page: int = 1, per_page: int = 24, *, viewer_id: int | None = None):
    from sqlalchemy.orm import selectinload

    # The owners name each picture in its alt text.
    statement = (
        select(Image)
        .where(Image.deleted_at.is_(None), images_listed_for(viewer_id))
        .options(selectinload(Image.anime), selectinload(Image.artists), selectinload(Image.studios))
    )
    if facet in IMAGE_FACETS:
        statement = statement.where(Image.facet == facet)
    return db.paginate(statement.order_by(Image.id.desc()), page=page, per_page=per_page, error_out=False)


def image_detail(image_id: int, *, viewer_id: int | None = None) -> Image:
    from sqlalchemy.orm import selectinload

    image = db.session.scalar(
        select(Image)
        .where(Image.id == image_id, Image.deleted_at.is_(None), images_listed_for(viewer_id))
        .options(selectinload(Image.anime), selectinload(Image.artists), selectinload(Image.studios))
    )
    if image is None:
        raise NotFound("No such image.")
    return image


def admin_list(resource: CatalogueResource, *, trashed: bool, search: str = "", page: int = 1, viewer_id: int | None = None):
    from blueprints.common.query import search_clause

    model = resource.model
    statement = select(model).where(model.deleted_at.is_not(None) if trashed else model.deleted_at.is_(None))
    if resource is IMAGE:
        statement = statement.where(images_listed_for(viewer_id))
    searchable = [getattr(model, name) for name in ("basename", "name", "slug", "path", "title", "text") if hasattr(model, name)]
    if search and searchable:
        statement = statement.where(search_clause(searchable, search))
    return db.paginate(statement.order_by(model.id.desc()), page=page, per_page=25, error_out=False)


# ---------------------------------------------------------------------------------------------
# Relations (pivots): attach, update, detach, as upstream's /api/animeimage-style endpoints
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CataloguePivot:
    """A many-to-many link edited on its own: ``/api/<name>/<left key>/<right key>``."""

    name: str  # "artistsong"
    table: Any  # the pivot Table
    left: CatalogueResource
    right: CatalogueResource
    left_column: str  # "artist_id"
    right_column: str  # "song_id"
    fields: tuple[WritableField, ...] = ()  # the pivot's own columns ("as", "alias")


def _pivot_table(name: str):
    from models import catalogue

    return getattr(catalogue, name)


PIVOTS = {
    pivot.name: pivot
    for pivot in (
        CataloguePivot("animeimage", _pivot_table("anime_image"), ANIME, IMAGE, "anime_id", "image_id"),
        CataloguePivot("animeseries", _pivot_table("anime_series"), ANIME, SERIES, "anime_id", "series_id"),
        CataloguePivot("animestudio", _pivot_table("anime_studio"), ANIME, STUDIO, "anime_id", "studio_id"),
        CataloguePivot("animethemeentryvideo", _pivot_table("anime_theme_entry_video"), ANIMETHEMEENTRY, VIDEO, "entry_id", "video_id"),
        CataloguePivot("artistimage", _pivot_table("artist_image"), ARTIST, IMAGE, "artist_id", "image_id"),
        CataloguePivot(
            "artistsong", _pivot_table("artist_song"), ARTIST, SONG, "artist_id", "song_id",
            (WritableField("as"), WritableField("alias")),
        ),
        CataloguePivot("studioimage", _pivot_table("studio_image"), STUDIO, IMAGE, "studio_id", "image_id"),
    )
}


def _pivot_values(pivot: CataloguePivot, data: Mapping[str, Any] | None) -> dict[str, Any]:
    if not pivot.fields:
        return {}
    resource = CatalogueResource(pivot.name, pivot.name, None, "id", pivot.fields)
    return validate(resource, data or {}, partial=True)


def _pivot_where(pivot: CataloguePivot, left_id: int, right_id: int):
    columns = pivot.table.c
    return (columns[pivot.left_column] == left_id) & (columns[pivot.right_column] == right_id)


def find_pivot(pivot: CataloguePivot, left, right) -> dict[str, Any]:
    row = db.session.execute(select(pivot.table).where(_pivot_where(pivot, left.id, right.id))).first()
    if row is None:
        raise NotFound(f"No query results for model [{pivot.left.label}{pivot.right.label}]")
    return dict(row._mapping)


def attach(pivot: CataloguePivot, left, right, data: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Link two rows; linking them twice is a validation error, not a duplicate."""
    values = _pivot_values(pivot, data)
    exists = db.session.scalar(select(func.count()).select_from(pivot.table).where(_pivot_where(pivot, left.id, right.id)))
    if exists:
        raise ValidationFailed({pivot.right_column: [f"{pivot.left.label} '{pivot.left.key_of(left)}' is already attached to {pivot.right.label} '{pivot.right.key_of(right)}'."]})
    row = {pivot.left_column: left.id, pivot.right_column: right.id, **values}
    db.session.execute(pivot.table.insert().values(**row))
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent request attached the same pair
        db.session.rollback()
        raise ValidationFailed({pivot.right_column: ["The pair is already attached."]}) from None
    return find_pivot(pivot, left, right)


def update_pivot(pivot: CataloguePivot, left, right, data: Mapping[str, Any]) -> dict[str, Any]:
    find_pivot(pivot, left, right)
    values = _pivot_values(pivot, data)
    if values:
        db.session.execute(pivot.table.update().where(_pivot_where(pivot, left.id, right.id)).values(**values))
    db.session.commit()
    return find_pivot(pivot, left, right)


def detach(pivot: CataloguePivot, left, right) -> None:
    find_pivot(pivot, left, right)
    db.session.execute(pivot.table.delete().where(_pivot_where(pivot, left.id, right.id)))
    db.session.commit()


def list_pivot(pivot: CataloguePivot, page: int, size: int) -> tuple[list[dict[str, Any]], bool]:
    columns = pivot.table.c
    statement = (
        select(pivot.table)
        .order_by(columns[pivot.left_column], columns[pivot.right_column])
        .limit(size + 1)
        .offset((page - 1) * size)
    )
    rows = [dict(row._mapping) for row in db.session.execute(statement)]
    return rows[:size], len(rows) > size


@dataclass
class RelationSection:
    """One pivot seen from one of its sides, for the admin relation editor."""

    pivot: CataloguePivot
    other: CatalogueResource  # the side that is not the owner
    owner_is_left: bool
    linked: list[tuple[Any, dict[str, Any]]]  # (other row, pivot columns)
    suggestions: list[str]  # keys of rows one may attach (the first few, for a datalist)


def relation_sections(resource: CatalogueResource, instance, *, viewer_id: int | None = None) -> list[RelationSection]:
    """Every pivot the resource takes part in, with what is linked now (one query per pivot)."""
    sections = []
    for pivot in PIVOTS.values():
        if resource not in (pivot.left, pivot.right):
            continue
        owner_is_left = pivot.left is resource
        other = pivot.right if owner_is_left else pivot.left
        own_column = pivot.table.c[pivot.left_column if owner_is_left else pivot.right_column]
        other_column = pivot.table.c[pivot.right_column if owner_is_left else pivot.left_column]
        extra = [pivot.table.c[spec.name] for spec in pivot.fields]
        statement = (
            select(other.model, *extra)
            .join(pivot.table, other_column == other.model.id)
            .where(own_column == instance.id)
            .order_by(other.model.id)
        )
        if other is IMAGE:
            statement = statement.where(images_listed_for(viewer_id))
        linked = [(row[0], {spec.name: value for spec, value in zip(pivot.fields, row[1:])}) for row in db.session.execute(statement)]
        candidates = select(other.key_column).where(other.model.deleted_at.is_(None)).order_by(other.model.id.desc()).limit(200)
        if other is IMAGE:
            candidates = candidates.where(images_listed_for(viewer_id))
        sections.append(RelationSection(pivot, other, owner_is_left, linked, [str(key) for key in db.session.scalars(candidates)]))
    return sections


def children_of(resource: CatalogueResource, instance) -> list[tuple[CatalogueResource, list[Any], str]]:
    """One-to-many children an owner's relation page lists: (child resource, rows, the child's key to its owner)."""
    wanted = {
        "anime": [(ANIMETHEME, AnimeTheme.anime_id), (ANIMESYNONYM, AnimeSynonym.anime_id)],
        "animetheme": [(ANIMETHEMEENTRY, AnimeThemeEntry.theme_id)],
        "song": [(ANIMETHEME, AnimeTheme.song_id)],
    }.get(resource.name, [])
    children = []
    for child, column in wanted:
        rows = db.session.scalars(select(child.model).where(column == instance.id, child.model.deleted_at.is_(None)).order_by(child.model.id)).all()
        children.append((child, rows, column.key))
    return children
