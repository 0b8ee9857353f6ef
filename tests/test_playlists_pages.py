"""Playlist pages: public list with search, my playlists, the player page, add-to-playlist, export, import."""
from __future__ import annotations

import io
import json

from sqlalchemy import select

from extensions import db
from models.catalogue import Audio
from models.playlist import Playlist
from tests.factories import login, make_user


def _audio(app, n=3):
    with app.app_context():
        rows = [Audio(basename=f"Song{i}", filename=f"Song{i}.ogg", path=f"/a/{i}", size=1, mimetype="audio/ogg", duration=3.0) for i in range(n)]
        db.session.add_all(rows)
        db.session.commit()
        return [r.id for r in rows]


def test_create_add_export_import_delete(app, client):
    ids = _audio(app)
    with app.app_context():
        make_user("mio")
    login(client, "mio")
    assert client.post("/playlists", data={"name": "", "visibility": "0"}).status_code == 422
    created = client.post("/playlists", data={"name": "Road trip", "description": "vroom", "visibility": "0"})
    assert created.status_code == 303
    hashid = created.headers["Location"].rsplit("/", 1)[-1]
    # The audio browser gives each row one play button and one "Add to playlist" menu (no native player);
    # the menu's playlists load when it opens.
    browser = client.get("/audio").get_data(as_text=True)
    assert browser.count('class="add-menu"') == 3 and browser.count("data-play ") == 3 and "<audio controls" not in browser
    menu = client.get(f"/playlists/add-menu/{ids[0]}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Road trip" in menu and 'name="new_name"' in menu
    added = client.post("/playlists/add-track", data={"audio_id": ids[0], "playlist": hashid}, headers={"HX-Request": "true"})
    assert added.status_code == 200 and "Added to" in added.get_data(as_text=True)
    on_the_way = client.post("/playlists/add-track", data={"audio_id": ids[1], "playlist": "__new__", "new_name": "Fresh"})
    assert "Fresh" in on_the_way.get_data(as_text=True)
    assert client.post("/playlists/add-track", data={"audio_id": 999, "playlist": hashid}).status_code == 422
    client.post("/playlists/add-track", data={"audio_id": ids[2], "playlist": hashid})
    page = client.get(f"/playlists/{hashid}").get_data(as_text=True)
    assert page.index("Song0") < page.index("Song2") and "data-move" in page and "Delete playlist" in page
    m3u = client.get(f"/playlists/{hashid}/export.m3u").get_data(as_text=True)
    assert m3u.startswith("#EXTM3U") and "Song0.ogg" in m3u and m3u.index("Song0") < m3u.index("Song2")
    exported = client.get(f"/playlists/{hashid}/export.json").get_json()
    assert [t["basename"] for t in exported["tracks"]] == ["Song0", "Song2"]
    exported["tracks"].append({"basename": "Gone"})
    imported = client.post("/playlists/import", data={"file": (io.BytesIO(json.dumps(exported).encode()), "p.json")})
    assert imported.status_code == 303
    assert "1 track(s) no longer exist" in client.get(imported.headers["Location"]).get_data(as_text=True)
    bad = client.post("/playlists/import", data={"file": (io.BytesIO(b"{nope"), "p.json")})
    assert bad.status_code == 303
    mine = client.get("/playlists/mine").get_data(as_text=True)
    assert "Road trip" in mine and "created" in mine
    assert client.post(f"/playlists/{hashid}/delete").status_code == 303
    with app.app_context():
        assert len(db.session.scalars(select(Playlist).where(Playlist.name == "Road trip")).all()) == 1  # the import remains


def test_public_list_and_private_pages(app, client):
    with app.app_context():
        make_user("owner")
        make_user("other")
    login(client, "owner")
    client.post("/playlists", data={"name": "Shown", "visibility": "0"})
    secret = client.post("/playlists", data={"name": "Secret", "visibility": "1"}).headers["Location"].rsplit("/", 1)[-1]
    unlisted = client.post("/playlists", data={"name": "Hidden", "visibility": "2"}).headers["Location"].rsplit("/", 1)[-1]
    client.post("/logout")
    listing = client.get("/playlists", headers={"HX-Request": "true"}).get_data(as_text=True)  # the results only, not the flashes
    assert "Shown" in listing and "Secret" not in listing and "Hidden" not in listing
    assert "Shown" in client.get("/playlists?q=sho", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert client.get(f"/playlists/{secret}").status_code == 404
    assert client.get(f"/playlists/{secret}/export.json").status_code == 404
    assert client.get(f"/playlists/{unlisted}").status_code == 200
    login(client, "other")
    assert client.get(f"/playlists/{secret}").status_code == 404
    assert client.post(f"/playlists/{unlisted}/delete").status_code == 403
