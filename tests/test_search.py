"""/api/search: anime names and synonyms, song titles and artist names, ranked, on SQLite (FTS5)
and PostgreSQL (tsvector), kept current through inserts, renames, soft and hard deletes."""
from __future__ import annotations

import pytest
from sqlalchemy import insert

from extensions import db
from models.catalogue import Anime, AnimeSynonym, AnimeTheme, Artist, Song, artist_song


@pytest.fixture()
def library(app):
    with app.app_context():
        frost = Anime(name="Frostbound", slug="frostbound", year=2024, season="Winter")
        frost_sequel = Anime(name="Frostbound Season Two", slug="frostbound_2", year=2025, season="Fall")
        neon = Anime(name="Neon Samurai", slug="neon_samurai", year=2021, season="Fall")
        db.session.add_all([frost, frost_sequel, neon])
        db.session.flush()
        db.session.add(AnimeSynonym(text="The Long Night", type="Other", anime_id=frost.id))
        mika = Artist(name="Mika Hoshino", slug="mika_hoshino")
        mikado = Artist(name="Mikado Band", slug="mikado_band")
        hoshi = Artist(name="Hoshi Collective", slug="hoshi_collective")
        db.session.add_all([mika, mikado, hoshi])
        white = Song(title="White Silence")
        blade = Song(title="Neon Blade")
        ember = Song(title="Ember Road")
        db.session.add_all([white, blade, ember])
        db.session.flush()
        db.session.execute(
            insert(artist_song),
            [
                {"artist_id": mika.id, "song_id": white.id, "as": None},
                {"artist_id": mikado.id, "song_id": blade.id, "as": None},
                {"artist_id": hoshi.id, "song_id": ember.id, "as": None},
            ],
        )
        db.session.add_all(
            [
                AnimeTheme(type="OP", sequence=1, anime_id=frost.id, song_id=white.id),
                AnimeTheme(type="ED", sequence=1, anime_id=frost.id, song_id=ember.id),
                AnimeTheme(type="OP", sequence=1, anime_id=neon.id, song_id=blade.id),
            ]
        )
        db.session.commit()
        return {"frost": frost.id, "sequel": frost_sequel.id, "neon": neon.id, "mika": mika.id, "white": white.id}


def search(client, q, **params):
    response = client.get("/api/search", query_string={"q": q, **params})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["search"]


def test_body_has_upstreams_keys(client, library):
    body = search(client, "frostbound")
    assert set(body) == {"anime", "animethemes", "artists", "series", "songs", "studios", "videos"}
    assert [anime["slug"] for anime in body["anime"]] == ["frostbound", "frostbound_2"]
    assert body["anime"][0]["name"] == "Frostbound" and body["anime"][0]["year"] == 2024


def test_artist_by_full_name_ranks_exact_person_first(client, library):
    body = search(client, "Mika Hoshino")
    assert [artist["slug"] for artist in body["artists"]] == ["mika_hoshino"]
    # Her song's theme is found through her, not through the words of its title.
    assert [theme["slug"] for theme in body["animethemes"]] == ["OP1"]


def test_prefixes_find_as_you_type(client, library):
    assert [artist["slug"] for artist in search(client, "mik")["artists"]] == ["mika_hoshino", "mikado_band"]
    assert [song["title"] for song in search(client, "whi sil")["songs"]] == ["White Silence"]


def test_anime_and_theme_type_narrow_the_themes(client, library, app):
    body = search(client, "Frostbound OP")
    assert body["anime"][0]["slug"] == "frostbound"
    with app.app_context():
        op = db.session.scalar(db.select(AnimeTheme.id).where(AnimeTheme.anime_id == library["frost"], AnimeTheme.type == "OP"))
    assert [theme["slug"] for theme in body["animethemes"]] == ["OP1"]
    ids = [value for theme in body["animethemes"] for key, value in theme.items() if key.endswith("id")]
    assert op in ids
    assert [theme["slug"] for theme in search(client, "frostbound ed1")["animethemes"]] == ["ED1"]


def test_synonyms_find_their_anime(client, library):
    assert [anime["slug"] for anime in search(client, "long night")["anime"]] == ["frostbound"]


def test_case_never_matters_and_sqlite_folds_diacritics(client, app, library):
    with app.app_context():
        db.session.add(Artist(name="Chloé Ärmel", slug="chloe"))
        db.session.commit()
        sqlite = db.engine.dialect.name == "sqlite"
    assert [artist["slug"] for artist in search(client, "CHLOÉ ärmel")["artists"]] == ["chloe"]
    # PostgreSQL's "simple" configuration keeps accents (unaccent is an extension not every server has).
    assert [artist["slug"] for artist in search(client, "chloe armel")["artists"]] == (["chloe"] if sqlite else [])


def test_index_follows_renames_soft_and_hard_deletes(client, app, library):
    with app.app_context():
        artist = db.session.get(Artist, library["mika"])
        artist.name = "Mika Starling"
        db.session.commit()
    assert search(client, "hoshino")["artists"] == []
    assert [a["slug"] for a in search(client, "starling")["artists"]] == ["mika_hoshino"]
    with app.app_context():
        from models.base import utcnow

        db.session.get(Anime, library["sequel"]).deleted_at = utcnow()
        db.session.commit()
    assert [anime["slug"] for anime in search(client, "frostbound")["anime"]] == ["frostbound"]
    with app.app_context():
        db.session.delete(db.session.get(Song, library["white"]))
        db.session.commit()
    assert search(client, "white silence")["songs"] == []


def test_fields_and_limit(client, library):
    body = search(client, "frostbound", **{"fields[search]": "anime,songs", "page[limit]": "1"})
    assert set(body) == {"anime", "songs"}
    assert [anime["slug"] for anime in body["anime"]] == ["frostbound"]


@pytest.mark.parametrize(
    "params, key",
    [
        ({}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "x" * 101}, "q"),
        ({"q": "a", "page[limit]": "0"}, "page.limit"),
        ({"q": "a", "page[limit]": "abc"}, "page.limit"),
        ({"q": "a", "fields[search]": "anime,playlists"}, "fields.search"),
        ({"q": "a", "sort": "name"}, "sort"),
    ],
)
def test_bad_parameters_are_422(client, params, key):
    response = client.get("/api/search", query_string=params)
    assert response.status_code == 422
    assert key in response.get_json()["errors"]


def test_punctuation_only_and_operators_are_harmless(client, library):
    for q in ['"', "*", "OR AND NOT", "frost* -bound", "'; DROP TABLE anime; --", "NEAR(a b)"]:
        client_body = client.get("/api/search", query_string={"q": q})
        assert client_body.status_code == 200, q


def test_fixed_number_of_queries(client, library, count_queries):
    with count_queries() as few:
        search(client, "frost")
    with count_queries() as many:
        search(client, "o")
    assert len(many) <= len(few) + 1
