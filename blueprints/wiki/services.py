"""Reads behind the wiki pages: each states its loads, so a page costs a fixed number of queries."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from blueprints.catalogue.services import Credit, cover_of, credits_for
from blueprints.wiki import search as search_service
from domain import NotFound
from extensions import db
from models.catalogue import ANIME_SEASONS, Anime, AnimeTheme, AnimeThemeEntry, Artist, Song, Video

THEME_ORDER = {"OP": 0, "ED": 1, "IN": 2}


def alive(rows):
    return [row for row in rows if row.deleted_at is None]


def sorted_themes(themes):
    return sorted(alive(themes), key=lambda t: (THEME_ORDER.get(t.type, 3), t.sequence or 0, t.id))


def cover(anime: Anime, facet: str = "Cover"):
    return cover_of(anime, facet)


def playable_audio(entry: AnimeThemeEntry):
    """The audio an entry plays: the first of its videos that has one."""
    return next((video.audio for video in alive(entry.videos) if video.audio is not None and video.audio.deleted_at is None), None)


def _theme_loads(path):
    """Loads under a theme: its song, its entries' videos' audio."""
    return (
        path.selectinload(AnimeTheme.song),
        path.selectinload(AnimeTheme.entries).selectinload(AnimeThemeEntry.videos).selectinload(Video.audio),
    )


def anime_detail(slug: str) -> tuple[Anime, dict[int, list[Credit]]]:
    themes = selectinload(Anime.themes)
    anime = db.session.scalar(
        select(Anime)
        .where(Anime.slug == slug, Anime.deleted_at.is_(None))
        .options(selectinload(Anime.synonyms), selectinload(Anime.images), selectinload(Anime.series), *_theme_loads(themes))
    )
    if anime is None:
        raise NotFound(f"No anime {slug!r}.")
    return anime, credits_for(t.song_id for t in anime.themes if t.song_id)


def artist_detail(slug: str) -> tuple[Artist, list[Song], dict[int, list[Credit]]]:
    artist = db.session.scalar(
        select(Artist)
        .where(Artist.slug == slug, Artist.deleted_at.is_(None))
        .options(
            selectinload(Artist.images),
            selectinload(Artist.songs)
            .selectinload(Song.themes)
            .selectinload(AnimeTheme.anime)
            .selectinload(Anime.images),
            *_theme_loads(selectinload(Artist.songs).selectinload(Song.themes)),
        )
    )
    if artist is None:
        raise NotFound(f"No artist {slug!r}.")
    songs = sorted(alive(artist.songs), key=lambda s: (s.title or "").lower())
    return artist, songs, credits_for(s.id for s in songs)


def anime_years() -> list[int]:
    return list(
        db.session.scalars(
            select(Anime.year).where(Anime.deleted_at.is_(None), Anime.year.is_not(None)).distinct().order_by(Anime.year.desc())
        )
    )


def browse_anime(year: int | None, season: str | None, page: int = 1, per_page: int = 24):
    statement = select(Anime).where(Anime.deleted_at.is_(None)).options(selectinload(Anime.images))
    if year is not None:
        statement = statement.where(Anime.year == year)
    if season in ANIME_SEASONS:
        statement = statement.where(Anime.season == season)
    statement = statement.order_by(Anime.year.desc(), Anime.name, Anime.id)
    return db.paginate(statement, page=page, per_page=per_page, error_out=False)


@dataclass
class SearchResults:
    anime: list[Anime]
    themes: list[AnimeTheme]
    songs: list[Song]
    artists: list[Artist]
    credits: dict[int, list[Credit]]

    @property
    def empty(self) -> bool:
        return not (self.anime or self.themes or self.songs or self.artists)


def _in_order(model, ids, *options):
    if not ids:
        return []
    rows = {row.id: row for row in db.session.scalars(select(model).where(model.id.in_(ids)).options(*options))}
    return [rows[i] for i in ids if i in rows]


def search_page(query: str, limit: int = 5) -> SearchResults:
    hits = search_service.search(query, limit)
    anime = _in_order(Anime, hits.anime, selectinload(Anime.images))
    themes = _in_order(
        AnimeTheme,
        hits.themes,
        selectinload(AnimeTheme.anime).selectinload(Anime.images),
        selectinload(AnimeTheme.song),
        selectinload(AnimeTheme.entries).selectinload(AnimeThemeEntry.videos).selectinload(Video.audio),
    )
    songs = _in_order(Song, hits.songs, selectinload(Song.themes).selectinload(AnimeTheme.anime))
    artists = _in_order(Artist, hits.artists)
    song_ids = {s.id for s in songs} | {t.song_id for t in themes if t.song_id}
    return SearchResults(anime, themes, songs, artists, credits_for(song_ids))
