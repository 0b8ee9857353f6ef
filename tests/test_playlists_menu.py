"""The pages' playlist writes as htmx fragments: the "Add to playlist" menu (new playlist by name, a
question before a duplicate, counts out of band), Remove and Undo on the playlist page, and the
use cases behind them committing once."""
from __future__ import annotations

import json
import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from blueprints.playlists import services
from domain import ValidationFailed
from extensions import db
from models.catalogue import Audio
from models.playlist import Playlist
from models.user import User
from tests.factories import login, make_user

HX = {"HX-Request": "true"}


def _audio(app, n=3):
    with app.app_context():
        rows = [Audio(basename=f"Song{i}", filename=f"Song{i}.ogg", path=f"/a/{i}", size=1, mimetype="audio/ogg", duration=3.0) for i in range(n)]
        db.session.add_all(rows)
        db.session.commit()
        return [r.id for r in rows]


@contextmanager
def commits():
    """The commits made while the block runs, each as the sorted names of the models it inserted."""
    seen: list[list[str]] = []
    pending: list[str] = []

    def flushed(session, context):
        pending.extend(type(obj).__name__ for obj in session.new)

    def committed(session):
        seen.append(sorted(pending))
        pending.clear()

    event.listen(Session, "after_flush", flushed)
    event.listen(Session, "after_commit", committed)
    try:
        yield seen
    finally:
        event.remove(Session, "after_flush", flushed)
        event.remove(Session, "after_commit", committed)


def _playlist(app, name: str) -> Playlist:
    with app.app_context():
        playlist = db.session.scalar(select(Playlist).where(Playlist.name == name))
        db.session.expunge_all()
        return playlist


def _oob_count(html: str, playlist: Playlist) -> str | None:
    match = re.search(rf"""hx-swap-oob="innerHTML:\[data-playlist-count='{playlist.public_id}'\]">([^<]*)<""", html)
    return match.group(1) if match else None


@pytest.fixture()
def signed_in(app, client):
    with app.app_context():
        make_user("mio")
    login(client, "mio")
    return client


def test_the_menu_lists_my_playlists_with_counts_and_a_name_box(app, signed_in, client):
    ids = _audio(app)
    assert client.get(f"/playlists/add-menu/{ids[0]}", headers=HX).status_code == 200
    signed_in.post("/playlists", data={"name": "Road trip", "visibility": "1"})
    menu = client.get(f"/playlists/add-menu/{ids[0]}", headers=HX).get_data(as_text=True)
    assert "Road trip" in menu and "0 tracks" in menu and 'name="new_name"' in menu and "New playlist…" in menu
    assert client.get("/playlists/add-menu/99999", headers=HX).status_code == 404


def test_the_menu_needs_a_session(app, client):
    ids = _audio(app, 1)
    assert client.get(f"/playlists/add-menu/{ids[0]}").status_code == 302


def test_new_playlist_needs_a_name_and_is_created_with_its_first_track(app, signed_in):
    ids = _audio(app)
    blank = signed_in.post("/playlists/add-track", data={"audio_id": ids[0], "playlist": "__new__", "new_name": "  "}, headers=HX)
    assert blank.status_code == 422 and "The name field is required" in blank.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Playlist.id)) is None  # nothing called "New playlist" appears

    created = signed_in.post("/playlists/add-track", data={"audio_id": ids[0], "playlist": "__new__", "new_name": "Night drive"}, headers=HX)
    html = created.get_data(as_text=True)
    assert created.status_code == 200 and "Added to" in html and "Night drive" in html
    # The menu closes and the answer goes beside its button (errors, above, stay inside the menu).
    assert created.headers["HX-Retarget"] == f"#add-result-{ids[0]}" and created.headers["HX-Trigger"] == "playlist-menu-done"
    assert "HX-Retarget" not in blank.headers
    playlist = _playlist(app, "Night drive")
    assert playlist.track_count == 1 and playlist.visibility == 1
    assert _oob_count(html, playlist) == "1 track"
    # The new playlist joins every open menu's list.
    assert 'hx-swap-oob="beforeend:.add-menu-items"' in html and f'value="{playlist.public_id}"' in html


def test_a_duplicate_is_added_only_after_confirming(app, signed_in):
    ids = _audio(app)
    signed_in.post("/playlists/add-track", data={"audio_id": ids[0], "playlist": "__new__", "new_name": "Loop"}, headers=HX)
    playlist = _playlist(app, "Loop")
    again = signed_in.post("/playlists/add-track", data={"audio_id": ids[0], "playlist": playlist.public_id}, headers=HX)
    html = again.get_data(as_text=True)
    assert again.status_code == 200 and "Already in Loop" in html and 'name="confirm" value="1"' in html
    assert _playlist(app, "Loop").track_count == 1 and _oob_count(html, playlist) is None
    confirmed = signed_in.post("/playlists/add-track", data={"audio_id": ids[0], "playlist": playlist.public_id, "confirm": "1"}, headers=HX)
    assert "Added to" in confirmed.get_data(as_text=True) and _oob_count(confirmed.get_data(as_text=True), playlist) == "2 tracks"
    assert _playlist(app, "Loop").track_count == 2
    # Another track is no duplicate: added straight away.
    other = signed_in.post("/playlists/add-track", data={"audio_id": ids[1], "playlist": playlist.public_id}, headers=HX)
    assert _oob_count(other.get_data(as_text=True), playlist) == "3 tracks"


def test_remove_then_undo_puts_the_track_back_in_its_place(app, signed_in):
    ids = _audio(app)
    for audio_id in ids:
        signed_in.post("/playlists/add-track", data={"audio_id": audio_id, "playlist": "__new__" if audio_id == ids[0] else _playlist(app, "Mix").public_id, "new_name": "Mix"}, headers=HX)
    playlist = _playlist(app, "Mix")
    with app.app_context():
        middle = services.ordered_tracks(playlist)[1]
    page = signed_in.get(f"/playlists/{playlist.public_id}").get_data(as_text=True)
    assert f'data-playlist-count="{playlist.public_id}">3 tracks<' in page and page.count("data-track-src=") == 3 and page.count("<audio") == 1  # the layout's player only

    removed = signed_in.post(f"/playlists/{playlist.public_id}/tracks/{middle.id}/remove", headers=HX)
    html = removed.get_data(as_text=True)
    assert removed.status_code == 200 and "Removed Song1" in html and "Undo" in html and _oob_count(html, playlist) == "2 tracks"
    assert signed_in.post(f"/playlists/{playlist.public_id}/tracks/{middle.id}/remove", headers=HX).status_code == 404

    previous = re.search(r'name="previous" value="(\d*)"', html).group(1)
    following = re.search(r'name="next" value="(\d*)"', html).group(1)
    restored = signed_in.post(f"/playlists/{playlist.public_id}/tracks/restore", data={"audio_id": ids[1], "previous": previous, "next": following}, headers=HX)
    html = restored.get_data(as_text=True)
    assert restored.status_code == 200 and 'data-track-title="Song1"' in html and _oob_count(html, playlist) == "3 tracks"
    with app.app_context():
        assert [t.audio_id for t in services.ordered_tracks(playlist)] == ids
        assert services.chain_is_consistent(playlist.id)


def test_undo_after_the_neighbours_left_appends(app, signed_in):
    ids = _audio(app, 2)
    signed_in.post("/playlists/add-track", data={"audio_id": ids[0], "playlist": "__new__", "new_name": "Two"}, headers=HX)
    playlist = _playlist(app, "Two")
    signed_in.post("/playlists/add-track", data={"audio_id": ids[1], "playlist": playlist.public_id}, headers=HX)
    restored = signed_in.post(f"/playlists/{playlist.public_id}/tracks/restore", data={"audio_id": ids[0], "previous": "999999", "next": "abc"}, headers=HX)
    assert restored.status_code == 200
    with app.app_context():
        assert [t.audio_id for t in services.ordered_tracks(playlist)] == [ids[0], ids[1], ids[0]]


def test_add_to_a_new_playlist_is_one_commit_and_all_or_nothing(app):
    ids = _audio(app)
    with app.app_context():
        user = make_user("solo")
        with commits() as seen:
            playlist, track = services.add_audio_to_playlist(user, ids[0], services.NEW_PLAYLIST, new_name="One go")
        # The playlist and its first track in one commit; the activity log records it afterwards.
        assert seen == [["Playlist", "PlaylistTrack"], ["PlaylistActivity"]] and track.playlist_id == playlist.id and playlist.track_count == 1
        # A bad track after a good name: no playlist is left behind.
        with commits() as seen, pytest.raises(ValidationFailed):
            services.add_audio_to_playlist(user, 999999, services.NEW_PLAYLIST, new_name="Ghost")
        assert seen == [] and db.session.scalar(select(Playlist.id).where(Playlist.name == "Ghost")) is None
        with pytest.raises(services.DuplicateTrack):
            services.add_audio_to_playlist(user, ids[0], playlist.public_id)
        assert db.session.get(Playlist, playlist.id).track_count == 1


def test_import_is_one_commit(app):
    ids = _audio(app)
    document = {"playlist": {"name": "Imported", "visibility": 1}, "tracks": [{"basename": f"Song{i}"} for i in (2, 0, 1)] + [{"basename": "Gone"}]}
    with app.app_context():
        user = db.session.merge(make_user("importer"))
        with commits() as seen:
            playlist, skipped = services.import_json(user, json.dumps(document))
        assert seen == [["Playlist", "PlaylistTrack", "PlaylistTrack", "PlaylistTrack"], ["PlaylistActivity"]] and skipped == 1
        assert [t.audio_id for t in services.ordered_tracks(playlist)] == [ids[2], ids[0], ids[1]]
        assert services.chain_is_consistent(playlist.id)
        assert db.session.scalar(select(User.name).where(User.id == playlist.user_id)) == "importer"


def test_the_menu_costs_the_same_queries_however_many_playlists(app, signed_in, count_queries):
    ids = _audio(app, 1)

    def menu_queries() -> int:
        with count_queries() as queries:
            assert signed_in.get(f"/playlists/add-menu/{ids[0]}", headers=HX).status_code == 200
        return len(queries)

    signed_in.post("/playlists", data={"name": "First", "visibility": "1"})
    few = menu_queries()
    for n in range(6):
        signed_in.post("/playlists", data={"name": f"More {n}", "visibility": "1"})
    assert menu_queries() == few
