"""Search across anime names and synonyms, song titles and artist names, ranked by the database's
full-text engine (FTS5 with bm25 on SQLite, tsvector with ts_rank on PostgreSQL; models/search.py)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import and_, bindparam, or_, select, text

from extensions import db
from models.catalogue import Anime, AnimeSynonym, AnimeTheme, Artist, Song, artist_song
from models.search import FTS_TABLE, KINDS, PG_CONFIG, SOURCES, pg_vector

WORD = re.compile(r"\w+", re.UNICODE)
# "OP", "ED2", "in1": a theme type with its optional sequence, narrowing the themes found.
THEME_WORD = re.compile(r"^(OP|ED|IN)(\d+)?$", re.IGNORECASE)
MAX_WORDS = 8
CANDIDATES = 200


@dataclass
class SearchHits:
    """Ids per kind, best first."""

    anime: list[int] = field(default_factory=list)
    themes: list[int] = field(default_factory=list)
    songs: list[int] = field(default_factory=list)
    artists: list[int] = field(default_factory=list)


def words_of(query: str) -> list[str]:
    return WORD.findall(query.lower())[:MAX_WORDS]


def _ranked(words: list[str]) -> list[tuple[str, int]]:
    """(kind, source id) of every indexed name matching all words as prefixes, best first."""
    if not words:
        return []
    if db.engine.dialect.name == "sqlite":
        match = " ".join(f'"{word}"*' for word in words)
        rows = db.session.execute(
            text(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :match ORDER BY bm25({FTS_TABLE}) LIMIT :limit"),
            {"match": match, "limit": CANDIDATES},
        )
        kinds = {code: kind for kind, code in KINDS.items()}
        return [(kinds[rowid % 4], rowid // 4) for (rowid,) in rows]
    tsquery = " & ".join(f"{word}:*" for word in words)
    parts = [
        f"SELECT '{kind}' AS kind, id, ts_rank({pg_vector(column)}, q) AS rank FROM {table}, "
        f"to_tsquery('{PG_CONFIG}', :tsquery) AS q WHERE {pg_vector(column)} @@ q"
        for table, column, kind in SOURCES
    ]
    statement = text(" UNION ALL ".join(parts) + " ORDER BY rank DESC, id LIMIT :limit")
    return [(kind, id_) for kind, id_, _ in db.session.execute(statement, {"tsquery": tsquery, "limit": CANDIDATES})]


def _unique(ids) -> list[int]:
    return list(dict.fromkeys(ids))


def search(query: str, limit: int = 3) -> SearchHits:
    """The best `limit` anime, themes, songs and artists for a typed query, in a fixed number of queries."""
    words = words_of(query)
    theme_words = [w for w in words if THEME_WORD.match(w)]
    name_words = [w for w in words if not THEME_WORD.match(w)]
    if not name_words:  # "OP" alone is a name to look for, not a narrowing
        name_words, theme_words = words, []
    ranked = _ranked(name_words)
    if not ranked:
        return SearchHits()
    anime_ids = [i for kind, i in ranked if kind == "anime"]
    synonym_ids = [i for kind, i in ranked if kind == "synonym"]
    song_ids = [i for kind, i in ranked if kind == "song"]
    artist_ids = [i for kind, i in ranked if kind == "artist"]

    # Synonyms stand for their anime; soft-deleted rows never show.
    if synonym_ids:
        owners = dict(
            db.session.execute(
                select(AnimeSynonym.id, AnimeSynonym.anime_id).where(
                    AnimeSynonym.id.in_(synonym_ids), AnimeSynonym.deleted_at.is_(None)
                )
            ).all()
        )
        anime_ids = _unique([*anime_ids, *(owners[i] for i in synonym_ids if i in owners)])
    anime_ids = _alive(Anime, anime_ids)
    song_ids = _alive(Song, song_ids)
    artist_ids = _alive(Artist, artist_ids)

    # Themes: those whose song matched, then those sung by a matching artist, then those of a matching anime.
    theme_conditions = []
    if song_ids:
        theme_conditions.append(AnimeTheme.song_id.in_(song_ids))
    if artist_ids:
        theme_conditions.append(
            AnimeTheme.song_id.in_(select(artist_song.c.song_id).where(artist_song.c.artist_id.in_(artist_ids)))
        )
    if anime_ids:
        theme_conditions.append(AnimeTheme.anime_id.in_(anime_ids))
    theme_ids: list[int] = []
    rows = []
    if theme_conditions:
        narrowing = [
            and_(AnimeTheme.type == m.group(1).upper(), *( [AnimeTheme.sequence == int(m.group(2))] if m.group(2) else []))
            for m in (THEME_WORD.match(w) for w in theme_words)
        ]
        statement = select(AnimeTheme.id, AnimeTheme.anime_id, AnimeTheme.song_id, AnimeTheme.type, AnimeTheme.sequence).where(
            or_(*theme_conditions), AnimeTheme.deleted_at.is_(None), *([or_(*narrowing)] if narrowing else [])
        )
        rows = db.session.execute(statement.limit(CANDIDATES)).all()
        song_rank = {i: n for n, i in enumerate(song_ids)}
        anime_rank = {i: n for n, i in enumerate(anime_ids)}
        rows.sort(
            key=lambda r: (
                song_rank.get(r.song_id, len(song_ids)),
                anime_rank.get(r.anime_id, CANDIDATES),
                r.type != "OP",
                r.sequence or 0,
                r.id,
            )
        )
        theme_ids = [r.id for r in rows]
    if theme_words:
        # "Frostbound OP" asks for themes: anime without such a theme rank after those with one.
        with_theme = {r.anime_id for r in rows}
        anime_ids = sorted(anime_ids, key=lambda i: i not in with_theme)
    return SearchHits(anime_ids[:limit], theme_ids[:limit], song_ids[:limit], artist_ids[:limit])


def _alive(model, ids: list[int]) -> list[int]:
    """Keep the order of `ids`, dropping rows that are soft deleted."""
    if not ids:
        return []
    alive = set(db.session.scalars(select(model.id).where(model.id.in_(ids), model.deleted_at.is_(None))))
    return [i for i in _unique(ids) if i in alive]
