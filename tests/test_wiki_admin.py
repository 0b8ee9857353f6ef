"""Admin pages of the wiki: create and edit every resource, and the relation editor (pivots and children)."""
from __future__ import annotations

from sqlalchemy import select

from blueprints.catalogue.seed import seed_catalogue
from extensions import db
from models.catalogue import Anime, AnimeTheme, Artist, Song, artist_song
from tests.factories import login, make_user


def _admin(app, client):
    with app.app_context():
        make_user("boss", admin=True)
    login(client, "boss")


def test_every_wiki_resource_has_an_admin_list_and_form(app, client):
    _admin(app, client)
    for name in ("anime", "animesynonym", "animetheme", "animethemeentry", "song", "artist", "series", "studio"):
        assert client.get(f"/admin/catalogue/{name}").status_code == 200, name
        assert client.get(f"/admin/catalogue/{name}/new").status_code == 200, name
    dashboard = client.get("/admin").get_data(as_text=True)
    for label in ("Themes", "Entries", "Songs", "Series", "Synonyms"):
        assert f">{label}<" in dashboard


def test_create_an_anime_its_theme_and_entry_through_the_pages(app, client):
    _admin(app, client)
    created = client.post("/admin/catalogue/anime/new", data={"name": "Paper Moon Express", "slug": "paper_moon_express", "year": "2025", "season": "Fall", "media_format": "TV"})
    assert created.status_code == 303
    with app.app_context():
        anime_id = db.session.scalar(select(Anime.id).where(Anime.slug == "paper_moon_express"))
    page = client.get("/admin/catalogue/anime/paper_moon_express/relations").get_data(as_text=True)
    assert f"anime_id={anime_id}" in page  # "Add theme" names its anime
    form = client.get(f"/admin/catalogue/animetheme/new?anime_id={anime_id}").get_data(as_text=True)
    assert f'value="{anime_id}"' in form
    assert client.post("/admin/catalogue/animetheme/new", data={"type": "OP", "sequence": "1", "anime_id": str(anime_id)}).status_code == 303
    invalid = client.post("/admin/catalogue/animetheme/new", data={"type": "XX", "anime_id": "999999"})
    assert invalid.status_code == 422 and "The selected type is invalid." in invalid.get_data(as_text=True)
    with app.app_context():
        theme = db.session.scalar(select(AnimeTheme).where(AnimeTheme.anime_id == anime_id))
        assert theme.slug == "OP1"
    assert client.post("/admin/catalogue/animethemeentry/new", data={"theme_id": str(theme.id), "episodes": "1-12", "nsfw": "on"}).status_code == 303
    relations = client.get(f"/admin/catalogue/animetheme/{theme.id}/relations").get_data(as_text=True)
    assert "episodes: 1-12" in relations


def test_relation_editor_attaches_a_songs_artists_with_as_and_detaches(app, client):
    with app.app_context():
        seed_catalogue(lambda n: None)
        song = Song(title="New Duet")
        db.session.add(song)
        db.session.commit()
        song_id = song.id
    _admin(app, client)
    page = client.get(f"/admin/catalogue/song/{song_id}/relations")
    assert page.status_code == 200 and "artistsong" in page.get_data(as_text=True)
    attached = client.post(f"/admin/catalogue/song/{song_id}/relations/artistsong", data={"other": "yuzu_lemon", "as": "Koharu"})
    assert attached.status_code == 303
    again = client.post(f"/admin/catalogue/song/{song_id}/relations/artistsong", data={"other": "yuzu_lemon"})
    assert again.status_code == 422 and "already attached" in again.get_data(as_text=True)
    unknown = client.post(f"/admin/catalogue/song/{song_id}/relations/artistsong", data={"other": "nobody"})
    assert unknown.status_code == 422 and "No artist “nobody”" in unknown.get_data(as_text=True)
    with app.app_context():
        artist_id = db.session.scalar(select(Artist.id).where(Artist.slug == "yuzu_lemon"))
        assert db.session.execute(select(artist_song.c["as"]).where(artist_song.c.song_id == song_id)).scalar() == "Koharu"
    client.post(f"/admin/catalogue/song/{song_id}/relations/artistsong/yuzu_lemon", data={"as": "Koharu (young)", "alias": ""})
    with app.app_context():
        assert db.session.execute(select(artist_song.c["as"]).where(artist_song.c.song_id == song_id)).scalar() == "Koharu (young)"
    # The same link seen from the artist's side.
    assert "New Duet" in client.get("/admin/catalogue/artist/yuzu_lemon/relations").get_data(as_text=True)
    client.post(f"/admin/catalogue/song/{song_id}/relations/artistsong/yuzu_lemon", data={"action": "detach"})
    with app.app_context():
        assert db.session.execute(select(artist_song).where(artist_song.c.song_id == song_id, artist_song.c.artist_id == artist_id)).first() is None
    for url in ("/admin/catalogue/anime/frostbound/relations", "/admin/catalogue/animethemeentry/1/relations", "/admin/catalogue/studio/kumo_works/relations"):
        assert client.get(url).status_code == 200, url
    assert client.post("/admin/catalogue/anime/frostbound/relations/animestudio", data={"other": "kumo_works"}).status_code == 303
    assert client.post("/admin/catalogue/anime/frostbound/relations/artistsong", data={"other": "x"}).status_code == 404


def test_relation_pages_need_an_admin(app, client):
    assert client.get("/admin/catalogue/anime/x/relations").status_code == 302
    with app.app_context():
        make_user("plain")
    login(client, "plain")
    assert client.get("/admin/catalogue/anime/x/relations").status_code == 403
