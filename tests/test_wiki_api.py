"""The wiki's AnimeThemes-style API: anime, synonyms, themes, entries, songs, artists, series,
their includes, filters, sorts, writes and relation (pivot) endpoints, on the demo content."""
from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select

from blueprints.catalogue.seed import ANIME as DEMO_ANIME
from blueprints.catalogue.seed import seed_catalogue
from extensions import db
from models.catalogue import (
    Anime,
    AnimeTheme,
    AnimeThemeEntry,
    Artist,
    Audio,
    Image,
    Song,
    Video,
    anime_theme_entry_video,
    artist_song,
)
from tests.factories import user_with_token

FULL_TREE = "animethemes.animethemeentries.videos.audio,animethemes.song.artists,images"


@pytest.fixture()
def seeded(app):
    with app.app_context():
        seed_catalogue(lambda n: None)


@pytest.fixture()
def admin(app):
    return user_with_token(app, admin=True)[1]


def _demo(slug: str) -> dict:
    return next(spec for spec in DEMO_ANIME if spec["slug"] == slug)


def test_anime_show_by_slug_with_upstream_include_tree(client, seeded):
    body = client.get(f"/api/anime/starlight_drive?include={FULL_TREE},animesynonyms,series,studios").get_json()
    anime = body["anime"]
    spec = _demo("starlight_drive")
    assert anime["name"] == spec["name"] and anime["media_format"] == "TV" and anime["season"] == "Spring"
    assert [theme["slug"] for theme in anime["animethemes"]] == ["OP1", "OP2", "ED1"]
    op1 = anime["animethemes"][0]
    assert op1["song"]["title"] == "Ignition Heart"
    assert [artist["slug"] for artist in op1["song"]["artists"]] == ["mika_hoshino"]
    assert [(entry["version"], entry["episodes"], entry["spoiler"]) for entry in op1["animethemeentries"]] == [(None, "1-11", False), (2, "12", True)]
    videos = op1["animethemeentries"][0]["videos"]
    assert {video["basename"] for video in videos} == {"StarlightDrive-OP1", "StarlightDrive-OP1-NCBD720"}
    assert all(video["audio"]["basename"] == "StarlightDrive-OP1" for video in videos)
    ed1 = anime["animethemes"][2]
    assert ed1["song"]["artists"][0]["artistsong"] == {"as": "Hana Mizuki", "alias": None}
    assert {synonym["text"] for synonym in anime["animesynonyms"]} == {text for _, text in spec["synonyms"]}
    assert [series["slug"] for series in anime["series"]] == ["starlight_drive"]
    assert [studio["slug"] for studio in anime["studios"]] == ["studio_aurora"]
    assert {image["facet"] for image in anime["images"]} == {"Cover", "Small Cover"}


def test_artist_songs_themes_anime(client, seeded):
    artist = client.get("/api/artist/sora_amane?include=songs.animethemes.anime,images").get_json()["artist"]
    titles = {song["title"]: song for song in artist["songs"]}
    assert {"Cargo Bay Lullaby", "Afterglow Letter", "Straw Hat Promise", "Sunset Refill"} <= set(titles)
    assert titles["Sunset Refill"]["artistsong"]["as"] == "Natsu Aoyagi"
    assert titles["Sunset Refill"]["animethemes"][0]["anime"]["slug"] == "melon_soda_days"
    assert artist["images"] and artist["images"][0]["facet"] == "Grill"


@pytest.mark.parametrize(
    ("name", "plural", "key_field"),
    [
        ("anime", "anime", "slug"),
        ("animesynonym", "animesynonyms", "synonym_id"),
        ("animetheme", "animethemes", "theme_id"),
        ("animethemeentry", "animethemeentries", "entry_id"),
        ("song", "songs", "song_id"),
        ("artist", "artists", "slug"),
        ("series", "series", "slug"),
        ("studio", "studios", "slug"),
    ],
)
def test_every_wiki_resource_lists_and_shows(client, seeded, name, plural, key_field):
    listed = client.get(f"/api/{name}?page[size]=3").get_json()
    assert list(listed) == [plural, "links", "meta"] and 0 < len(listed[plural]) <= 3
    first = listed[plural][0]
    shown = client.get(f"/api/{name}/{first[key_field]}").get_json()
    assert shown == {name: first}
    assert client.get(f"/api/{name}/999999").status_code == 404


def test_filters_sorts_and_invalid_parameters(client, seeded):
    endings = client.get("/api/animetheme?filter[type]=ED&page[size]=100").get_json()["animethemes"]
    expected = sum(1 for spec in DEMO_ANIME for theme in spec["themes"] if theme["type"] == "ED")
    assert len(endings) == expected and {theme["type"] for theme in endings} == {"ED"}
    movies = client.get("/api/anime?filter[media_format]=Movie").get_json()["anime"]
    assert [anime["slug"] for anime in movies] == ["starlight_drive_afterglow"]
    titles = [song["title"] for song in client.get("/api/song?sort=-title&page[size]=100").get_json()["songs"]]
    assert titles == sorted(titles, reverse=True)
    spoilers = client.get("/api/animethemeentry?filter[spoiler]=true").get_json()["animethemeentries"]
    assert {entry["episodes"] for entry in spoilers} == {"12", "7"}
    natives = client.get("/api/animesynonym?filter[type]=Native&page[size]=100").get_json()["animesynonyms"]
    assert len(natives) == len(DEMO_ANIME)
    assert client.get("/api/anime?include=animethemes.nothing").status_code == 422
    assert client.get("/api/animetheme?filter[type]=XX").status_code == 422
    assert client.get("/api/song?sort=nope").status_code == 422


def test_theme_writes_compute_the_slug_and_need_an_admin(app, client, seeded, admin):
    _, user = user_with_token(app)
    with app.app_context():
        anime_id = db.session.scalar(select(Anime.id).where(Anime.slug == "frostbound"))
    body = {"type": "ED", "sequence": 2, "anime_id": anime_id}
    assert client.post("/api/animetheme", json=body).status_code == 401
    assert client.post("/api/animetheme", json=body, headers=user).status_code == 403
    created = client.post("/api/animetheme", json=body, headers=admin)
    assert created.status_code == 201
    theme = created.get_json()["animetheme"]
    assert theme["slug"] == "ED2" and theme["sequence"] == 2
    moved = client.patch(f"/api/animetheme/{theme['theme_id']}", json={"type": "IN", "sequence": None}, headers=admin)
    assert moved.status_code == 200 and moved.get_json()["animetheme"]["slug"] == "IN"
    invalid = client.post("/api/animetheme", json={"type": "XX", "anime_id": 999999}, headers=admin)
    assert invalid.status_code == 422 and set(invalid.get_json()["errors"]) == {"type", "anime_id"}
    entry = client.post(
        "/api/animethemeentry?include=animetheme.anime",
        json={"theme_id": theme["theme_id"], "version": 2, "episodes": "3-5", "nsfw": True}, headers=admin,
    ).get_json()["animethemeentry"]
    assert entry["nsfw"] is True and entry["animetheme"]["anime"]["slug"] == "frostbound"
    song = client.post("/api/song", json={"title": "Glacier Line"}, headers=admin).get_json()["song"]
    client.patch(f"/api/animetheme/{theme['theme_id']}", json={"song_id": song["song_id"]}, headers=admin)
    shown = client.get(f"/api/animetheme/{theme['theme_id']}?include=song").get_json()["animetheme"]
    assert shown["song"]["title"] == "Glacier Line"
    synonym = client.post("/api/animesynonym", json={"text": "Frost", "type": "Short", "anime_id": anime_id}, headers=admin)
    assert synonym.status_code == 201
    assert client.delete(f"/api/song/{song['song_id']}", headers=admin).status_code == 200
    assert client.get(f"/api/song/{song['song_id']}").status_code in (200, 404)  # soft delete semantics: the query layer's
    assert client.patch(f"/restore/song/{song['song_id']}", headers=admin).status_code == 200
    gone = client.delete(f"/forceDelete/song/{song['song_id']}", headers=admin)
    assert gone.status_code == 200
    with app.app_context():
        assert db.session.get(Song, song["song_id"]) is None
        assert db.session.scalar(select(AnimeTheme.song_id).where(AnimeTheme.id == theme["theme_id"])) is None  # SET NULL


def test_series_crud(client, seeded, admin):
    created = client.post("/api/series", json={"name": "Neon Saga", "slug": "neon_saga"}, headers=admin)
    assert created.status_code == 201 and created.get_json()["series"]["slug"] == "neon_saga"
    assert client.post("/api/series", json={"name": "Again", "slug": "neon_saga"}, headers=admin).status_code == 422
    assert client.put("/api/series/neon_saga", json={"name": "Neon Saga II"}, headers=admin).get_json()["series"]["name"] == "Neon Saga II"


def test_artistsong_pivot_attach_update_detach(app, client, seeded, admin):
    _, user = user_with_token(app)
    song_id = client.post("/api/song", json={"title": "Duet"}, headers=admin).get_json()["song"]["song_id"]
    url = f"/api/artistsong/yuzu_lemon/{song_id}"
    assert client.post(url, json={"as": "Koharu"}).status_code == 401
    assert client.post(url, json={"as": "Koharu"}, headers=user).status_code == 403
    attached = client.post(url, json={"as": "Koharu"}, headers=admin)
    assert attached.status_code == 201
    assert attached.get_json()["artistsong"]["as"] == "Koharu"
    assert client.post(url, json={}, headers=admin).status_code == 422  # already attached
    assert client.patch(url, json={"alias": "Yuzu"}, headers=admin).get_json()["artistsong"] == {
        "artist_id": attached.get_json()["artistsong"]["artist_id"], "song_id": song_id, "as": "Koharu", "alias": "Yuzu",
    }
    artists = client.get(f"/api/song/{song_id}?include=artists").get_json()["song"]["artists"]
    assert [(a["slug"], a["artistsong"]) for a in artists] == [("yuzu_lemon", {"as": "Koharu", "alias": "Yuzu"})]
    assert client.get(url).status_code == 200
    detached = client.delete(url, headers=admin)
    assert detached.status_code == 200 and "detached" in detached.get_json()["message"]
    assert client.get(url).status_code == 404
    assert client.get(f"/api/song/{song_id}?include=artists").get_json()["song"]["artists"] == []
    assert client.post(f"/api/artistsong/nobody/{song_id}", headers=admin).status_code == 404


def test_entry_video_anime_image_and_studio_pivots(app, client, seeded, admin):
    with app.app_context():
        entry_id = db.session.scalar(select(func.min(AnimeThemeEntry.id)))
        image_id = db.session.scalar(select(func.min(Image.id)))  # the first cover: linked to its anime only
    video = client.post(
        "/api/video", json={"basename": "Extra-OP1", "filename": "Extra-OP1.webm", "path": "/video/Extra-OP1.webm", "size": 1, "mimetype": "video/webm"},
        headers=admin,
    )
    assert video.status_code == 201
    assert client.post(f"/api/animethemeentryvideo/{entry_id}/Extra-OP1", headers=admin).status_code == 201
    videos = client.get(f"/api/animethemeentry/{entry_id}?include=videos").get_json()["animethemeentry"]["videos"]
    assert "Extra-OP1" in {v["basename"] for v in videos}
    assert client.post(f"/api/animeimage/neon_samurai/{image_id}", headers=admin).status_code == 201
    images = client.get("/api/anime/neon_samurai?include=images").get_json()["anime"]["images"]
    assert image_id in {image["image_id"] for image in images}
    assert client.post("/api/animestudio/neon_samurai/iron_lantern", headers=admin).status_code == 201
    assert client.post("/api/animeseries/neon_samurai/starlight_drive", headers=admin).status_code == 201
    assert client.post(f"/api/artistimage/kogarashi/{image_id}", headers=admin).status_code == 201
    assert client.post(f"/api/studioimage/kumo_works/{image_id}", headers=admin).status_code == 201
    studios = client.get("/api/anime/neon_samurai?include=studios,series").get_json()["anime"]
    assert {s["slug"] for s in studios["studios"]} == {"kumo_works", "iron_lantern"}
    assert [s["slug"] for s in studios["series"]] == ["starlight_drive"]
    listed = client.get("/api/animestudio?page[size]=100").get_json()["animestudios"]
    assert {"anime_id", "studio_id"} == set(listed[0])
    assert client.get("/api/animestudio?page[size]=0").status_code == 422
    assert client.delete("/api/animestudio/neon_samurai/iron_lantern", headers=admin).status_code == 200
    assert client.delete("/api/animestudio/neon_samurai/iron_lantern", headers=admin).status_code == 404


def test_a_pivot_write_refreshes_cached_includes(client, seeded, admin):
    before = client.get("/api/anime/frostbound?include=studios").get_json()["anime"]["studios"]
    client.post("/api/animestudio/frostbound/kumo_works", headers=admin)
    after = client.get("/api/anime/frostbound?include=studios").get_json()["anime"]["studios"]
    assert len(after) == len(before) + 1


def test_wiki_pages_are_cached_and_follow_writes_to_any_table_they_read(app, client, seeded, admin, count_queries):
    """Every wiki table and pivot is versioned: the whole tree is served from the cache (one query,
    the version check) until a write to one of its tables, a pivot's as/alias included; a playlist
    write leaves it cached."""
    url = f"/api/anime/starlight_drive?include={FULL_TREE}"
    first = client.get(url)
    with count_queries() as queries:
        assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    assert len(queries) == 1
    _, user = user_with_token(app)
    assert client.post("/api/playlist", json={"name": "Mix", "visibility": 0}, headers=user).status_code == 201
    assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    theme = next(t for t in first.get_json()["anime"]["animethemes"] if t["song"] and t["song"]["artists"])
    artist = theme["song"]["artists"][0]
    pivot = f"/api/artistsong/{artist['slug']}/{theme['song']['song_id']}"
    assert client.patch(pivot, json={"alias": "Renamed"}, headers=admin).status_code == 200
    changed = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200
    shown = next(t for t in changed.get_json()["anime"]["animethemes"] if t["theme_id"] == theme["theme_id"])
    assert shown["song"]["artists"][0]["artistsong"]["alias"] == "Renamed"
    assert client.patch(f"/api/song/{theme['song']['song_id']}", json={"title": "Retitled"}, headers=admin).status_code == 200
    again = client.get(url, headers={"If-None-Match": changed.headers["ETag"]})
    assert again.status_code == 200
    assert next(t for t in again.get_json()["anime"]["animethemes"] if t["theme_id"] == theme["theme_id"])["song"]["title"] == "Retitled"


def _wiki_library(app, anime_count: int, themes_each: int = 5) -> None:
    """Many anime, each with themes, an entry, a video with audio and a song with two artists (bulk inserts)."""
    with app.app_context():
        artists = [Artist(name=f"Singer {n}", slug=f"singer-{n}") for n in range(4)]
        db.session.add_all(artists)
        db.session.flush()
        for n in range(anime_count):
            anime = Anime(name=f"Show {n}", slug=f"show-{n}", year=2000 + n % 20, season="Fall")
            db.session.add(anime)
            db.session.flush()
            for t in range(themes_each):
                audio = Audio(basename=f"Show{n}-T{t}", filename=f"Show{n}-T{t}.ogg", path="/a", size=1, mimetype="audio/ogg")
                song = Song(title=f"Song {n}-{t}")
                db.session.add_all([audio, song])
                db.session.flush()
                video = Video(basename=f"Show{n}-T{t}", filename=f"Show{n}-T{t}.webm", path="/v", size=1, audio_id=audio.id)
                theme = AnimeTheme(anime_id=anime.id, type="OP", sequence=t + 1, song_id=song.id)
                db.session.add_all([video, theme])
                db.session.flush()
                entry = AnimeThemeEntry(theme_id=theme.id)
                db.session.add(entry)
                db.session.flush()
                db.session.execute(insert(anime_theme_entry_video).values(entry_id=entry.id, video_id=video.id))
                for artist in artists[t % 2: t % 2 + 2]:
                    db.session.execute(insert(artist_song).values(artist_id=artist.id, song_id=song.id, **{"as": None}))
        db.session.commit()


def test_the_full_include_tree_costs_a_fixed_number_of_queries(app, client, count_queries):
    _wiki_library(app, 12)
    counts = []
    for size in (2, 12):
        with count_queries() as queries:
            body = client.get(f"/api/anime?include={FULL_TREE}&page[size]={size}").get_json()
        assert len(body["anime"]) == size
        assert all(len(anime["animethemes"]) == 5 for anime in body["anime"])
        assert all(len(theme["song"]["artists"]) == 2 for anime in body["anime"] for theme in anime["animethemes"])
        counts.append(len(queries))
    # data version, page, themes, entries, videos, audio, song, artists, images
    assert counts[0] == counts[1] <= 9
    with count_queries() as queries:
        client.get("/api/artist?include=songs.animethemes.anime&page[size]=4")
    assert len(queries) <= 5


@pytest.mark.parametrize("first", ["blueprints.playlists", "blueprints.catalogue.schemas", "blueprints.apidocs"])
def test_registration_does_not_depend_on_import_order(tmp_path, first):
    """Whichever feature module a process imports first, the app has every schema, relation and seed step."""
    import subprocess
    import sys

    from tests.servers import ROOT

    code = (
        f"import {first}\n"
        "from app import create_app\n"
        "from blueprints.common.query import SCHEMAS\n"
        "from demo.seed import SEED_STEPS\n"
        f"app = create_app({{'TESTING': True, 'SQLALCHEMY_DATABASE_URI': 'sqlite:///{tmp_path}/x.db', 'INSTANCE_PATH': '{tmp_path}/i', 'MEDIA_ROOT': '{tmp_path}/m'}})\n"
        "assert {'anime', 'animetheme', 'animethemeentry', 'song', 'series', 'animesynonym', 'playlist'} <= set(SCHEMAS)\n"
        "assert 'playlists' in SCHEMAS['image'].relations and 'catalogue' in SEED_STEPS\n"
        "assert 'catalogue' in app.cli.commands\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
