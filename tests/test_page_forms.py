"""Page forms answer with fragments: inline errors (422 not audio, 413 over the limit, a taken
basename, a blank title, a milestone that is not a number), success messages and lists that
refresh; without JavaScript they still work (303 after success, the page again on error)."""
from __future__ import annotations

import io
import time

import pytest
from sqlalchemy import func, select

from extensions import db
from models.catalogue import Audio
from tests.factories import login, make_user

HTMX = {"HX-Request": "true"}


@pytest.fixture()
def small_app(app_factory):
    """Uploads limited to 1 MB, so a 413 needs only a couple of megabytes."""
    return app_factory(MAX_UPLOAD_MB=1)


def _admin_client(app, name="boss"):
    with app.app_context():
        make_user(name, admin=True)
    client = app.test_client()
    login(client, name)
    return client


def _upload(client, path, *, headers=HTMX, **fields):
    data = {"file": (io.BytesIO(path.read_bytes()), path.name), **fields}
    return client.post("/admin/catalogue/audio/upload", data=data, headers=headers, content_type="multipart/form-data")


def test_catalogue_upload_answers_with_the_list_and_a_message(app, audio_file):
    client = _admin_client(app)
    response = _upload(client, audio_file("mp3", name="Opening.mp3"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html and 'id="admin-list"' in html
    assert "Uploaded “Opening”" in html
    assert "<strong>Opening</strong>" in html  # the list already holds it
    assert 'data-max-bytes="52428800"' in html and "Max 50 MB" in html


def test_catalogue_upload_of_fake_mp3_is_an_inline_422(app, tmp_path):
    client = _admin_client(app)
    fake = tmp_path / "fake.mp3"
    fake.write_bytes(b"this is plain text, not audio " * 200)
    response = _upload(client, fake)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in html
    assert 'id="audio-upload-error"' in html and "Uploaded" not in html
    error_slot = html.split('id="audio-upload-error"', 1)[1].split("</p>", 1)[0]
    assert "not MP3, Ogg or FLAC audio" in error_slot
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Audio)) == 0


def test_catalogue_upload_duplicate_basename_is_inline(app, audio_file):
    client = _admin_client(app)
    assert _upload(client, audio_file("mp3"), basename="Theme").status_code == 200
    response = _upload(client, audio_file("ogg"), basename="Theme")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "has already been taken" in html
    assert 'value="Theme"' in html  # the field keeps what was typed


def test_catalogue_upload_without_javascript_redirects_then_flashes(app, audio_file):
    client = _admin_client(app)
    response = _upload(client, audio_file("mp3", name="Plain.mp3"), headers={})
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/catalogue/audio")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Uploaded “Plain”" in page


def test_upload_over_the_limit_says_the_limit(small_app):
    client = _admin_client(small_app)
    big = {"file": (io.BytesIO(b"\0" * (3 * 1024 * 1024)), "big.mp3")}
    response = client.post(
        "/admin/catalogue/audio/upload", data=big, content_type="multipart/form-data", headers={**HTMX, "HX-Trigger": "audio-upload"}
    )
    assert response.status_code == 413
    assert response.headers["HX-Retarget"] == "#audio-upload-error"
    assert "Max 1 MB" in response.get_data(as_text=True) and "Request Entity Too Large" not in response.get_data(as_text=True)
    big = {"file": (io.BytesIO(b"\0" * (3 * 1024 * 1024)), "big.mp3")}
    page = client.post("/admin/catalogue/audio/upload", data=big, content_type="multipart/form-data")
    assert page.status_code == 413 and "<html" in page.get_data(as_text=True) and "Max 1 MB" in page.get_data(as_text=True)


# --- collections (tracks) -------------------------------------------------------------------------


def _user_client(app, name="maker"):
    with app.app_context():
        make_user(name)
    client = app.test_client()
    login(client, name)
    return client


def _new_collection(client, title="Demo tapes") -> str:
    response = client.post("/collections", data={"title": title})
    assert response.status_code == 303
    return response.headers["Location"].rsplit("/", 1)[1]


def test_collection_with_a_blank_title_is_refused_inline(app):
    client = _user_client(app)
    response = client.post("/collections", data={"title": "   ", "description": "kept"}, headers={"HX-Request": "true", "HX-Boosted": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Give the collection a title." in html and 'value="kept"' in html


def test_collection_upload_lists_the_tracks_and_refuses_fake_audio(app, audio_file, tmp_path):
    from models.tracks import Track

    client = _user_client(app)
    collection_id = _new_collection(client)
    fake = tmp_path / "notes.mp3"
    fake.write_bytes(b"plain text, not audio " * 100)
    good = audio_file("mp3", name="first.mp3")
    data = {"file": [(io.BytesIO(good.read_bytes()), "first.mp3"), (io.BytesIO(fake.read_bytes()), "notes.mp3")]}
    response = client.post(f"/collections/{collection_id}/tracks", data=data, headers=HTMX, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "Uploaded 1 file: processing." in html
    assert "notes.mp3: The file is not MP3, Ogg or FLAC audio." in html
    assert "No tracks yet" not in html and "first" in html
    with app.app_context():
        tracks = list(db.session.scalars(select(Track)))
    assert [t.file_name for t in tracks] == ["first.mp3"]  # no ghost track for the refused file
    page = client.get(f"/collections/{collection_id}").get_data(as_text=True)
    assert "1 track" in page


def test_collection_upload_over_the_limit_leaves_no_track(small_app):
    from models.tracks import Track

    client = _user_client(small_app)
    collection_id = _new_collection(client)
    data = {"file": (io.BytesIO(b"\0" * (3 * 1024 * 1024)), "huge.mp3")}
    response = client.post(
        f"/collections/{collection_id}/tracks", data=data, content_type="multipart/form-data", headers={**HTMX, "HX-Trigger": "track-upload"}
    )
    assert response.status_code == 413 and "Max 1 MB" in response.get_data(as_text=True)
    assert response.headers["HX-Retarget"] == "#track-upload-error"
    with small_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Track)) == 0
    # Between the limit and the request limit: refused by the upload itself, still with the limit.
    data = {"file": (io.BytesIO(b"\0" * (1024 * 1024 + 10)), "just-over.mp3")}
    response = client.post(f"/collections/{collection_id}/tracks", data=data, content_type="multipart/form-data", headers=HTMX)
    assert "larger than 1 MB" in response.get_data(as_text=True)
    with small_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Track)) == 0


def test_edit_player_save_and_delete_answer_with_fragments(app, audio_file):
    client = _user_client(app)
    collection_id = _new_collection(client)
    good = audio_file("mp3", name="song.mp3")
    client.post(f"/collections/{collection_id}/tracks", data={"file": (io.BytesIO(good.read_bytes()), "song.mp3")}, headers=HTMX,
                content_type="multipart/form-data")
    from models.tracks import Track

    with app.app_context():
        track_id = db.session.scalar(select(Track.id))
    url = f"/collections/{collection_id}/tracks/{track_id}"
    saved = client.post(url, data={"player_title": "Night drive", "player_subtitle": "", "player_color": "#112233"}, headers=HTMX)
    html = saved.get_data(as_text=True)
    assert saved.status_code == 200 and html.lstrip().startswith("<li") and "Saved." in html and "Night drive" in html
    bad = client.post(url, data={"player_title": "x", "player_color": "not a colour"}, headers=HTMX)
    assert bad.status_code == 422 and 'role="alert">' in bad.get_data(as_text=True) and "Saved." not in bad.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Track, track_id).player_title == "Night drive"  # the refused save changed nothing
    gone = client.post(f"{url}/delete", headers=HTMX)
    assert gone.status_code == 200 and "Track “Night drive” deleted." in gone.get_data(as_text=True)
    assert "No tracks yet" in gone.get_data(as_text=True)


def test_ready_track_offers_a_copyable_iframe(app, audio_file):
    from blueprints.tracks.processing import process_track
    from models.tracks import Track, TrackStatus

    client = _user_client(app)
    collection_id = _new_collection(client)
    good = audio_file("mp3", name="song.mp3")
    client.post(f"/collections/{collection_id}/tracks", data={"file": (io.BytesIO(good.read_bytes()), "song.mp3")}, headers=HTMX,
                content_type="multipart/form-data")
    with app.app_context():
        track_id = db.session.scalar(select(Track.id))
        # The upload queued the processing job (a thread without Redis): run it here if it has not
        # started, and wait for whichever run finishes.
        deadline = time.monotonic() + 20
        while db.session.scalar(select(Track.status).where(Track.id == track_id)) != TrackStatus.ready:
            assert time.monotonic() < deadline, "the track never became ready"
            process_track(track_id)
            db.session.rollback()
            time.sleep(0.1)
    html = client.get(f"/collections/{collection_id}").get_data(as_text=True)
    assert f"&lt;iframe src=&#34;http://localhost/embed/track/{track_id}&#34;" in html
    assert f'data-copy="#embed-code-{track_id}"' in html and "hx-get" not in html.split('id="track-list-wrap"')[1].split(">")[0]


# --- soundboard admin --------------------------------------------------------------------------------


def test_soundboard_upload_answers_inline(app, audio_file, tmp_path):
    client = _admin_client(app)
    clip = audio_file("mp3", name="yay.mp3")

    def upload(filename, path):
        data = {"file": (io.BytesIO(path.read_bytes()), path.name), "filename": filename, "theme": "megumin"}
        return client.post("/soundboard/admin/sounds", data=data, headers=HTMX, content_type="multipart/form-data")

    done = upload("yay", clip)
    assert done.status_code == 200 and "Uploaded “yay”" in done.get_data(as_text=True) and "<html" not in done.get_data(as_text=True)
    assert 'data-sound-row="' in done.get_data(as_text=True)
    again = upload("yay", clip)
    assert again.status_code == 422 and "Sound filename already in use." in again.get_data(as_text=True)
    fake = tmp_path / "fake.mp3"
    fake.write_bytes(b"text " * 500)
    refused = upload("other", fake)
    assert refused.status_code == 422 and "An mp3 file must be provided." in refused.get_data(as_text=True)
    assert 'value="other"' in refused.get_data(as_text=True)


def test_milestone_add_abc_is_refused_inline(app):
    client = _admin_client(app)
    refused = client.post("/soundboard/admin/milestones", data={"form": "add", "count": "abc"}, headers=HTMX)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "<html" not in html
    assert "Milestone count must be an integer." in html.split('id="milestone-add-error"')[1].split("</p>")[0]
    assert 'value="abc"' in html
    added = client.post("/soundboard/admin/milestones", data={"form": "add", "count": "5000"}, headers=HTMX)
    assert added.status_code == 200 and "Milestone added." in added.get_data(as_text=True) and "5,000" in added.get_data(as_text=True)
    plain = client.post("/soundboard/admin/milestones", data={"form": "add", "count": "6000"})
    assert plain.status_code == 303
    sent = client.post("/soundboard/admin/notification", data={"form": "notification", "text": "", "duration": "5"}, headers=HTMX)
    assert sent.status_code == 422 and "must be provided" in sent.get_data(as_text=True)


# --- accounts ----------------------------------------------------------------------------------------


def test_login_redirect_says_why(app, client):
    response = client.get("/settings")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Log in to see that page." in page
    assert "Log in to see that page." not in client.get("/login").get_data(as_text=True)
    assert "Log in to see that page." not in client.get("/login?next=https://evil.example/").get_data(as_text=True)


def test_register_accepts_a_local_domain_address(app, client):
    response = client.post("/register", data={"name": "homelab", "email": "me@nas.local", "password": "long enough pw", "confirm": "long enough pw"})
    assert response.status_code == 303
    refused = client.post("/register", data={"name": "other", "email": "not an address", "password": "long enough pw", "confirm": "long enough pw"})
    assert refused.status_code == 422 and "Invalid email address" in refused.get_data(as_text=True)


def test_a_password_error_is_said_once(app, client):
    html = client.post("/register", data={"name": "x", "email": "x@example.com", "password": "abc", "confirm": "abc"}).get_data(as_text=True)
    assert html.count("at least 8 characters") == 1


# --- one use case, one commit -----------------------------------------------------------------------


@pytest.fixture()
def commits():
    """How many commits the block under test makes (every session)."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    seen = {"n": 0}

    def count(session):
        seen["n"] += 1

    event.listen(Session, "after_commit", count)
    yield seen
    event.remove(Session, "after_commit", count)


def test_import_is_one_commit_and_keeps_the_order(app, commits):
    import json

    from blueprints.catalogue import services as catalogue
    from blueprints.playlists import services as playlists

    with app.app_context():
        user = make_user("importer")
        names = []
        for n in range(4):
            name = f"track{n}"
            catalogue.create(catalogue.AUDIO, {"basename": name, "filename": f"{name}.ogg", "path": f"/{name}.ogg", "size": 1, "mimetype": "audio/ogg"})
            names.append(name)
        document = {"playlist": {"name": "Imported"}, "tracks": [{"basename": n} for n in (names[2], "gone", names[0], names[3])]}
        commits["n"] = 0
        from blueprints.playlists import events

        received = []
        events.playlist_created.connect(lambda sender, **kw: received.append(kw), weak=False)
        playlist, skipped = playlists.import_json(user, json.dumps(document))
        # The activity log's receiver commits its own row after the use case: two in all, not one per track.
        assert commits["n"] == 2 and len(received) == 1
        assert skipped == 1 and playlist.track_count == 3
        ids = {catalogue.find(catalogue.AUDIO, n).id: n for n in names}
        assert [ids[t.audio_id] for t in playlists.ordered_tracks(playlist)] == [names[2], names[0], names[3]]
        assert playlists.chain_is_consistent(playlist.id)
        playlists.add_track(playlist, {"audio_id": catalogue.find(catalogue.AUDIO, names[1]).id})  # the chain takes more
        assert playlists.chain_is_consistent(playlist.id)


def test_cover_upload_is_one_commit_and_replaces_the_old_cover(app, commits):
    from blueprints.playlists import services as playlists
    from demo.images import cover
    from media.storage import get_storage
    from models.catalogue import Image

    with app.app_context():
        user = make_user("painter")
        playlist = playlists.create_playlist(user, {"name": "Covered", "visibility": 1})
        commits["n"] = 0
        first = playlists.upload_cover(playlist, io.BytesIO(cover("anime", 32)))
        assert commits["n"] == 1 and playlists.cover_path(playlist.id) == first.path
        second = playlists.upload_cover(playlist, io.BytesIO(cover("studio", 32)))
        assert playlists.cover_path(playlist.id) == second.path
        assert db.session.get(Image, first.id) is None and not get_storage().exists(f"images/{first.path}")
        assert get_storage().exists(f"images/{second.path}")


def test_register_is_one_commit(app, client, commits):
    commits["n"] = 0
    response = client.post("/register", data={"name": "newbie", "email": "n@example.com", "password": "long enough pw", "confirm": "long enough pw"})
    assert response.status_code == 303 and commits["n"] == 1
    assert "newbie" in client.get("/settings").get_data(as_text=True)


def test_milestone_save_delete_and_notification_answer_the_region(app):
    from blueprints.soundboard import services as soundboard

    client = _admin_client(app)
    with app.app_context():
        milestone_id = soundboard.add_milestone({"count": 700}).id
    saved = client.post(f"/soundboard/admin/milestones/{milestone_id}", data={"form": f"m-{milestone_id}", "count": "800"}, headers=HTMX)
    assert saved.status_code == 200 and "Milestone saved." in saved.get_data(as_text=True) and 'value="800"' in saved.get_data(as_text=True)
    refused = client.post(f"/soundboard/admin/milestones/{milestone_id}", data={"form": f"m-{milestone_id}", "count": "eight"}, headers=HTMX)
    assert refused.status_code == 422 and 'value="eight"' in refused.get_data(as_text=True)
    sent = client.post("/soundboard/admin/notification", data={"form": "notification", "text": "Hello", "duration": "5"}, headers=HTMX)
    assert sent.status_code == 200 and "Notification sent to every open page." in sent.get_data(as_text=True)
    gone = client.post(f"/soundboard/admin/milestones/{milestone_id}/delete", headers=HTMX)
    assert gone.status_code == 200 and "Milestone deleted." in gone.get_data(as_text=True) and "No milestones yet" in gone.get_data(as_text=True)


# --- downloads, headings, the image tabs ------------------------------------------------------------


def test_downloads_are_attachments_and_image_pages_say_what_they_show(app, client, runner):
    assert runner.invoke(args=["seed"]).exit_code == 0
    with app.app_context():
        from models.catalogue import Image

        image = db.session.scalars(select(Image).order_by(Image.id)).first()
        audio = db.session.scalars(select(Audio).order_by(Audio.id)).first()
    detail = client.get(f"/audio/{audio.basename}").get_data(as_text=True)
    assert f'download="{audio.filename}" hx-boost="false"' in detail
    assert client.get(f"/stream/audio/{audio.filename}?download=").headers["Content-Disposition"].startswith("attachment")
    page = client.get(f"/images/{image.id}").get_data(as_text=True)
    heading = page.split("<h1>", 1)[1].split("</h1>", 1)[0]
    assert heading not in ("Cover", "Small Cover", "Grill") and image.facet in heading
    assert client.get(f"/stream/image/{image.path}?download=").headers["Content-Disposition"].startswith("attachment")
    assert client.get(f"/stream/image/{image.path}").headers["Content-Disposition"].startswith("inline")


def test_image_tabs_come_with_the_grid(app, client, runner):
    assert runner.invoke(args=["seed"]).exit_code == 0
    fragment = client.get("/images?facet=Grill", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment
    current = fragment.split('aria-current="page"', 1)[1].split("</a>", 1)[0]
    assert current.endswith("Grill")


def test_collection_upload_holds_the_processing_claim_while_storing(app, audio_file, monkeypatch):
    """The sweep must not hand a track to a worker before its file is stored; a file that cannot be
    stored leaves its track in error, naming no file, and the others go on to processing."""
    from werkzeug.datastructures import FileStorage

    from blueprints.tracks import services as tracks
    from media.storage import get_storage
    from models.tracks import Track, TrackStatus

    with app.app_context():
        user = make_user("maker")
        collection = tracks.create_collection(user, {"title": "Tapes"})
        backend = get_storage()
        put_file, claims = backend.put_file, []

        def put_file_failing_the_second(path, key):
            claims.append(db.session.scalar(select(Track.claimed_at).where(Track.audio_key == key)))
            if len(claims) == 2:
                raise OSError("disk full")
            put_file(path, key)

        monkeypatch.setattr(backend, "put_file", put_file_failing_the_second)
        files = [FileStorage(io.BytesIO(audio_file("mp3", name=f"{name}.mp3").read_bytes()), f"{name}.mp3") for name in ("one", "two")]
        stored, rejected = tracks.upload_tracks(user, collection, files)
        assert len(claims) == 2 and all(claim is not None for claim in claims)
        assert [t.file_name for t in stored] == ["one.mp3"]
        assert rejected == [("two.mp3", "The file could not be stored; upload it again.")]
        rows = {t.file_name: t for t in db.session.scalars(select(Track))}
        assert rows["one.mp3"].status == TrackStatus.processing and rows["one.mp3"].claimed_at is None
        assert rows["two.mp3"].status == TrackStatus.error and rows["two.mp3"].audio_key is None
        assert backend.exists(rows["one.mp3"].audio_key)
