"""Import an AnimeThemes-compatible API (animethemes.moe, or another Themeboard) into this library.

The walk reads ``/api/anime`` pages with the whole wiki tree included, following ``links.next``;
each anime is written in one transaction, matched by upstream's natural keys (anime, artist,
series and studio by slug, audio and video by basename, images by path and facet, themes by
type and sequence, entries by version, synonyms by text), so a second run changes nothing.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator
from urllib.parse import urljoin, urlparse

import requests
from sqlalchemy import select

from domain import DomainError
from extensions import db
from media.images import InvalidImage, inspect_image
from media.storage import get_storage
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
    anime_image,
    anime_series,
    anime_studio,
    anime_theme_entry_video,
    artist_image,
    artist_song,
)

INCLUDE = "animethemes.animethemeentries.videos.audio,animethemes.song.artists,images,animesynonyms,series,studios"
MAX_FILE_BYTES = 256 * 1024 * 1024


class ImportFailed(DomainError):
    """The source could not be read: unreachable, an HTTP error, or not the expected JSON."""


@dataclass
class ImportReport:
    anime: int = 0
    changed_rows: int = 0
    files: int = 0
    pages: int = 0
    skipped: list[str] = field(default_factory=list)


class Source:
    """One AnimeThemes-compatible API: GETs with a timeout and errors that say what went wrong."""

    def __init__(self, base_url: str, *, timeout: float = 15.0, session: requests.Session | None = None):
        parsed = urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ImportFailed(f"{base_url!r} is not an http(s) URL.")
        self.base = base_url.rstrip("/") + "/"
        self.timeout = timeout
        self.http = session or requests.Session()
        self.http.headers.setdefault("Accept", "application/json")

    def get_json(self, url: str) -> dict:
        response = self._get(url)
        try:
            body = response.json()
        except ValueError:
            raise ImportFailed(f"{url} did not answer JSON.") from None
        if not isinstance(body, dict):
            raise ImportFailed(f"{url} answered JSON that is not an object.")
        return body

    def get_bytes(self, url: str) -> bytes:
        response = self._get(url, stream=True)
        data = io.BytesIO()
        for chunk in response.iter_content(64 * 1024):
            data.write(chunk)
            if data.tell() > MAX_FILE_BYTES:
                raise ImportFailed(f"{url} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB.")
        return data.getvalue()

    def _get(self, url: str, *, stream: bool = False) -> requests.Response:
        try:
            response = self.http.get(url, timeout=self.timeout, stream=stream)
        except requests.Timeout:
            raise ImportFailed(f"{url} did not answer within {self.timeout:g} seconds.") from None
        except requests.RequestException as error:
            raise ImportFailed(f"Could not reach {url}: {error.__class__.__name__}.") from None
        if response.status_code != 200:
            raise ImportFailed(f"{url} answered HTTP {response.status_code}.")
        return response

    def anime_pages(self, page_size: int) -> Iterator[list[dict]]:
        url: str | None = urljoin(self.base, f"api/anime?include={INCLUDE}&page[size]={page_size}&sort=slug")
        seen: set[str] = set()
        while url:
            if url in seen:
                raise ImportFailed(f"{url} links back to a page already read.")
            seen.add(url)
            body = self.get_json(url)
            items = body.get("anime")
            if not isinstance(items, list):
                raise ImportFailed(f"{url} has no 'anime' list: is this an AnimeThemes-compatible API?")
            yield [item for item in items if isinstance(item, dict)]
            next_url = (body.get("links") or {}).get("next")
            url = urljoin(url, next_url) if isinstance(next_url, str) and next_url else None


def walk(source: Source, page_size: int, report: ImportReport) -> Iterator[dict]:
    for items in source.anime_pages(page_size):
        report.pages += 1
        yield from items


def import_anime(payload: dict, source: Source | None, report: ImportReport, *, download: bool = False) -> None:
    """Upsert one anime with its tree, then commit (one transaction per anime)."""
    writer = _Writer(source, report, download)
    try:
        writer.anime(payload)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    report.anime += 1


def import_library(
    base_url: str,
    *,
    page_size: int = 25,
    download: bool = False,
    timeout: float = 15.0,
    progress: Callable[[Iterator[dict]], Any] | None = None,
) -> ImportReport:
    """The whole walk (the CLI wraps the anime iterator in a progress bar)."""
    source = Source(base_url, timeout=timeout)
    report = ImportReport()
    anime = walk(source, page_size, report)
    iterator = progress(anime) if progress else anime
    with iterator if hasattr(iterator, "__enter__") else _nullcontext(iterator) as items:
        for payload in items:
            import_anime(payload, source, report, download=download)
    return report


class _nullcontext:
    def __init__(self, value):
        self.value = value

    def __enter__(self):
        return self.value

    def __exit__(self, *exc):
        return False


def _text(value: Any, limit: int = 192) -> str | None:
    return value[:limit] if isinstance(value, str) and value != "" else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and -(2**31) <= value < 2**31 else None


def _choice(value: Any, choices: tuple[str, ...]) -> str | None:
    return value if value in choices else None


def _list(payload: dict, key: str) -> list[dict]:
    value = payload.get(key)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


class _Writer:
    def __init__(self, source: Source | None, report: ImportReport, download: bool):
        self.source = source
        self.report = report
        self.download = download

    def _assign(self, row, values: dict[str, Any]) -> None:
        """Only what differs, so that a second run writes nothing."""
        changed = False
        for name, value in values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed = True
        if changed:
            self.report.changed_rows += 1

    def _upsert(self, model, where: list, values: dict[str, Any], create: dict[str, Any] | None = None):
        row = db.session.scalar(select(model).where(*where))
        if row is None:
            row = model(**(create or {}), **values)
            db.session.add(row)
            db.session.flush()
            self.report.changed_rows += 1
        else:
            self._assign(row, values)
        return row

    def _link(self, table, extra: dict | None = None, **keys) -> None:
        columns = table.c
        row = db.session.execute(select(table).where(*(columns[k] == v for k, v in keys.items()))).first()
        if row is None:
            db.session.execute(table.insert().values(**keys, **(extra or {})))
            self.report.changed_rows += 1
        elif extra and any(row._mapping[k] != v for k, v in extra.items()):
            db.session.execute(table.update().where(*(columns[k] == v for k, v in keys.items())).values(**extra))
            self.report.changed_rows += 1

    def _slugged(self, model, payload: dict, **extra):
        slug, name = _text(payload.get("slug")), _text(payload.get("name"))
        if not slug or not name:
            return None
        return self._upsert(model, [model.slug == slug], {"name": name, **extra}, {"slug": slug})

    def anime(self, payload: dict) -> None:
        anime = self._slugged(
            Anime, payload,
            year=_int(payload.get("year")),
            season=_choice(payload.get("season"), ANIME_SEASONS),
            media_format=_choice(payload.get("media_format"), ANIME_MEDIA_FORMATS),
            synopsis=payload.get("synopsis") if isinstance(payload.get("synopsis"), str) else None,
        )
        if anime is None:
            self.report.skipped.append(f"an anime without slug or name ({str(payload)[:60]})")
            return
        for synonym in _list(payload, "animesynonyms"):
            text = _text(synonym.get("text"))
            if text:
                self._upsert(
                    AnimeSynonym, [AnimeSynonym.anime_id == anime.id, AnimeSynonym.text == text],
                    {"type": _choice(synonym.get("type"), SYNONYM_TYPES) or "Other"}, {"anime_id": anime.id, "text": text},
                )
        for series_payload in _list(payload, "series"):
            series = self._slugged(Series, series_payload)
            if series is not None:
                self._link(anime_series, anime_id=anime.id, series_id=series.id)
        for studio_payload in _list(payload, "studios"):
            studio = self._slugged(Studio, studio_payload)
            if studio is not None:
                self._link(anime_studio, anime_id=anime.id, studio_id=studio.id)
        for image_payload in _list(payload, "images"):
            image = self.image(image_payload)
            if image is not None:
                self._link(anime_image, anime_id=anime.id, image_id=image.id)
        for theme_payload in _list(payload, "animethemes"):
            self.theme(anime, theme_payload)

    def theme(self, anime: Anime, payload: dict) -> None:
        type_ = _choice(payload.get("type"), THEME_TYPES)
        if type_ is None:
            self.report.skipped.append(f"{anime.slug}: a theme of unknown type {payload.get('type')!r}")
            return
        sequence = _int(payload.get("sequence"))
        sequence_clause = AnimeTheme.sequence.is_(None) if sequence is None else AnimeTheme.sequence == sequence
        theme = self._upsert(
            AnimeTheme, [AnimeTheme.anime_id == anime.id, AnimeTheme.type == type_, sequence_clause], {},
            {"anime_id": anime.id, "type": type_, "sequence": sequence},
        )
        song_payload = payload.get("song")
        if isinstance(song_payload, dict):
            song = self.song(theme, song_payload)
            if theme.song_id != song.id:
                theme.song_id = song.id
                self.report.changed_rows += 1
        for entry_payload in _list(payload, "animethemeentries"):
            version = _int(entry_payload.get("version"))
            version_clause = AnimeThemeEntry.version.is_(None) if version is None else AnimeThemeEntry.version == version
            entry = self._upsert(
                AnimeThemeEntry, [AnimeThemeEntry.theme_id == theme.id, version_clause],
                {
                    "episodes": _text(entry_payload.get("episodes")),
                    "nsfw": entry_payload.get("nsfw") is True,
                    "spoiler": entry_payload.get("spoiler") is True,
                    "notes": _text(entry_payload.get("notes")),
                },
                {"theme_id": theme.id, "version": version},
            )
            for video_payload in _list(entry_payload, "videos"):
                video = self.video(video_payload)
                if video is not None:
                    self._link(anime_theme_entry_video, entry_id=entry.id, video_id=video.id)

    def song(self, theme: AnimeTheme, payload: dict) -> Song:
        """The theme's song if it has one; else a song with the same title and artists; else a new one."""
        title = _text(payload.get("title"))
        artists = []
        for artist_payload in _list(payload, "artists"):
            artist = self._slugged(Artist, artist_payload)
            if artist is not None:
                images = _list(artist_payload, "images")
                for image_payload in images:
                    image = self.image(image_payload)
                    if image is not None:
                        self._link(artist_image, artist_id=artist.id, image_id=image.id)
                pivot = artist_payload.get("artistsong") if isinstance(artist_payload.get("artistsong"), dict) else artist_payload
                artists.append((artist, {"as": _text(pivot.get("as")), "alias": _text(pivot.get("alias"))}))
        song = db.session.get(Song, theme.song_id) if theme.song_id else None
        if song is None:
            wanted = {artist.id for artist, _ in artists}
            title_clause = Song.title.is_(None) if title is None else Song.title == title
            for candidate in db.session.scalars(select(Song).where(title_clause).order_by(Song.id)):
                linked = set(db.session.scalars(select(artist_song.c.artist_id).where(artist_song.c.song_id == candidate.id)))
                if linked == wanted:
                    song = candidate
                    break
        if song is None:
            song = Song(title=title)
            db.session.add(song)
            db.session.flush()
            self.report.changed_rows += 1
        else:
            self._assign(song, {"title": title})
        for artist, pivot in artists:
            self._link(artist_song, pivot, artist_id=artist.id, song_id=song.id)
        return song

    def video(self, payload: dict) -> Video | None:
        basename, filename = _text(payload.get("basename")), _text(payload.get("filename"), 255)
        if not basename or not filename:
            return None
        audio = self.audio(payload["audio"]) if isinstance(payload.get("audio"), dict) else None
        values = {
            "filename": filename,
            "path": _text(payload.get("path"), 512) or f"/video/{filename}",
            "size": _int(payload.get("size")) or 0,
            "mimetype": _text(payload.get("mimetype"), 64) or "video/webm",
            "resolution": _int(payload.get("resolution")),
            "source": _choice(payload.get("source"), VIDEO_SOURCES),
            "nc": payload.get("nc") is True,
            "subbed": payload.get("subbed") is True,
            "lyrics": payload.get("lyrics") is True,
            "uncen": payload.get("uncen") is True,
            "overlap": _choice(payload.get("overlap"), VIDEO_OVERLAPS) or "None",
            "tags": _text(payload.get("tags"), 64),
        }
        if audio is not None:
            values["audio_id"] = audio.id
        return self._upsert(Video, [Video.basename == basename], values, {"basename": basename})

    def audio(self, payload: dict) -> Audio | None:
        basename, filename = _text(payload.get("basename")), _text(payload.get("filename"), 255)
        if not basename or not filename:
            return None
        audio = self._upsert(
            Audio, [Audio.basename == basename],
            {
                "filename": filename,
                "path": _text(payload.get("path"), 512) or f"/audio/{filename}",
                "size": _int(payload.get("size")) or 0,
                "mimetype": _text(payload.get("mimetype"), 64) or "audio/ogg",
            },
            {"basename": basename},
        )
        link = payload.get("link")
        if self.download and self.source and isinstance(link, str) and not audio.storage_key:
            key = f"audio/{filename}"
            data = self.source.get_bytes(link)
            get_storage().put_bytes(data, key)
            audio.storage_key, audio.size = key, len(data)
            self.report.files += 1
        return audio

    def image(self, payload: dict) -> Image | None:
        path, facet = _text(payload.get("path"), 512), _choice(payload.get("facet"), IMAGE_FACETS)
        if not path or not facet or ".." in path.split("/"):
            return None
        image = self._upsert(Image, [Image.path == path, Image.facet == facet], {}, {"path": path, "facet": facet})
        link = payload.get("link")
        storage = get_storage()
        if self.download and self.source and isinstance(link, str) and not storage.exists(f"images/{path}"):
            data = self.source.get_bytes(link)
            try:
                info = inspect_image(data)
            except InvalidImage:  # keep the row, skip a file that is not an image
                self.report.skipped.append(f"image {path}: not a readable image")
                return image
            storage.put_bytes(data, f"images/{path}")
            self._assign(image, {"mimetype": info.mimetype, "size": len(data), "width": info.width, "height": info.height})
            self.report.files += 1
        return image
