"""Playlist management (the spec document), reading, visibility, events and the track list."""
from __future__ import annotations

import random
import threading

import pytest
from sqlalchemy import func, select

from blueprints.playlists import events, services
from extensions import db
from media.storage import get_storage
from models.catalogue import Audio, Image
from models.playlist import Playlist, PlaylistActivity
from tests.factories import login, make_user, user_with_token
from tests.storage_backends import both_storages

SPEC_CREATE = {"name": "Best of 2023", "description": "Top anime openings and endings from 2023", "visibility": 0}


@pytest.fixture()
def owner(app):
    return user_with_token(app, name="owner")


@pytest.fixture()
def stranger(app):
    return user_with_token(app, name="stranger")


def _audio(app, count: int = 5) -> list[int]:
    with app.app_context():
        rows = [Audio(basename=f"a{n}", filename=f"a{n}.ogg", path=f"/a{n}", size=1, mimetype="audio/ogg") for n in range(count)]
        db.session.add_all(rows)
        db.session.commit()
        return [row.id for row in rows]


def _create(client, headers, **overrides) -> dict:
    response = client.post("/api/playlist", json={**SPEC_CREATE, **overrides}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["playlist"]


def test_create_matches_the_spec(client, owner):
    user_id, headers = owner
    playlist = _create(client, headers)
    assert list(playlist) == ["id", "name", "description", "visibility", "user_id", "first_id", "last_id", "created_at", "updated_at"]
    assert playlist["name"] == "Best of 2023" and playlist["visibility"] == 0 and playlist["user_id"] == user_id
    assert playlist["first_id"] is None and playlist["last_id"] is None
    assert len(playlist["id"]) >= 8 and playlist["id"].isalnum() and not playlist["id"].isdigit()


def _row_id(public_id: str) -> int:
    """The internal key of a playlist (call inside an app context)."""
    return db.session.scalar(select(Playlist.id).where(Playlist.public_id == public_id))


def test_update_with_put_and_patch(client, owner):
    playlist = _create(client, owner[1])
    url = f"/api/playlist/{playlist['id']}"
    private = client.patch(url, json={"visibility": 1}, headers=owner[1]).get_json()["playlist"]
    assert private["visibility"] == 1 and private["name"] == "Best of 2023"
    renamed = client.put(url, json={"name": "Winter 2024 Favorites", "description": "My favorite themes from the Winter 2024 season"}, headers=owner[1])
    body = renamed.get_json()["playlist"]
    assert body["name"] == "Winter 2024 Favorites" and body["visibility"] == 1


@both_storages
def test_delete_is_permanent_and_removes_tracks_and_images(app, client, owner):
    audio_ids = _audio(app, 2)
    playlist = _create(client, owner[1])
    for audio_id in audio_ids:
        client.post(f"/api/playlist/{playlist['id']}/track", json={"audio_id": audio_id}, headers=owner[1])
    with app.app_context():
        from demo.images import cover
        from blueprints.catalogue import services as catalogue

        image = catalogue.store_image_bytes(cover("x", 32), "Cover", "playlist/x.png")
        services.set_cover(db.session.get(Playlist, _row_id(playlist["id"])), image)
        assert get_storage().keys("images/") == ["images/playlist/x.png"]
    response = client.delete(f"/api/playlist/{playlist['id']}", headers=owner[1])
    assert response.status_code == 200 and response.get_json() == {"message": "Playlist deleted successfully"}
    assert client.get(f"/api/playlist/{playlist['id']}", headers=owner[1]).status_code == 404
    with app.app_context():
        from models.playlist import PlaylistTrack

        assert db.session.scalar(select(func.count()).select_from(PlaylistTrack)) == 0
        assert db.session.scalar(select(func.count()).select_from(Image)) == 0
    with app.app_context():
        assert get_storage().keys("images/") == []


def test_error_bodies_and_check_order(app, client, owner, stranger):
    playlist = _create(client, owner[1])
    url = f"/api/playlist/{playlist['id']}"
    assert client.post("/api/playlist", json=SPEC_CREATE).get_json() == {"message": "Unauthenticated"}
    assert client.post("/api/playlist", json=SPEC_CREATE).status_code == 401
    assert client.get("/api/me/playlist").status_code == 401
    # 404 before 403: an unknown playlist is unknown to everyone.
    unknown = client.patch("/api/playlist/ZZZZZZZZ", json={"name": ""}, headers=stranger[1])
    assert unknown.status_code == 404 and unknown.get_json() == {"message": "No query results for model [Playlist]"}
    # Owner check before validation.
    not_owner = client.patch(url, json={"name": ""}, headers=stranger[1])
    assert not_owner.status_code == 403 and not_owner.get_json() == {"message": "This action is unauthorized"}
    assert client.delete(url, headers=stranger[1]).status_code == 403
    invalid = client.post("/api/playlist", json={"description": "x"}, headers=owner[1])
    assert invalid.status_code == 422
    assert invalid.get_json()["message"] == "The name field is required"
    assert invalid.get_json()["errors"]["name"] == ["The name field is required"]
    assert "visibility" in invalid.get_json()["errors"]
    too_long = client.post("/api/playlist", json={**SPEC_CREATE, "name": "x" * 193}, headers=owner[1])
    assert too_long.status_code == 422 and "192" in too_long.get_json()["errors"]["name"][0]
    bad_visibility = client.patch(url, json={"visibility": 3}, headers=owner[1])
    assert bad_visibility.get_json()["errors"] == {"visibility": ["The selected visibility is invalid"]}
    # The spec says an integer: a string, a float or a boolean is not one.
    for wrong in ("0", "1", 0.0, True, None, [0]):
        response = client.post("/api/playlist", json={**SPEC_CREATE, "visibility": wrong}, headers=owner[1])
        assert response.status_code == 422 and "visibility" in response.get_json()["errors"], wrong
    assert client.post("/api/playlist", data="x", headers=owner[1]).status_code == 422


def test_feature_switch_and_limit(app, client, owner):
    playlist = _create(client, owner[1])
    app.config["PLAYLIST_LIMIT"] = 2
    _create(client, owner[1])
    limited = client.post("/api/playlist", json=SPEC_CREATE, headers=owner[1])
    assert limited.status_code == 403 and limited.get_json() == {"error": "User has exceeded the playlist limit"}
    app.config["ALLOW_PLAYLIST_MANAGEMENT"] = False
    for response in (
        client.post("/api/playlist", json={}, headers=owner[1]),
        client.patch(f"/api/playlist/{playlist['id']}", json={"name": ""}, headers=owner[1]),
        client.delete(f"/api/playlist/{playlist['id']}", headers=owner[1]),
    ):
        assert response.status_code == 403 and response.get_json() == {"message": "This action is unauthorized"}
    # The switch comes after ownership: others still get 403 for not owning, and unknown ids 404.
    assert client.patch("/api/playlist/ZZZZZZZZ", json={}, headers=owner[1]).status_code == 404


def test_visibility_everywhere(app, client, owner, stranger):
    public = _create(client, owner[1], name="Public list", visibility=0)
    private = _create(client, owner[1], name="Private list", visibility=1)
    unlisted = _create(client, owner[1], name="Unlisted list", visibility=2)
    with app.app_context():
        from blueprints.catalogue import services as catalogue
        from demo.images import cover

        for item in (public, private, unlisted):
            image = catalogue.store_image_bytes(cover("x", 32), "Cover", f"playlist/{item['id']}.png")
            services.set_cover(db.session.get(Playlist, _row_id(item["id"])), image)
    anonymous_names = [p["name"] for p in client.get("/api/playlist").get_json()["playlists"]]
    assert anonymous_names == ["Public list"]
    assert [p["name"] for p in client.get("/api/playlist", headers=owner[1]).get_json()["playlists"]] == ["Public list"]
    assert client.get("/api/playlist?filter[name-like]=%list%", headers=stranger[1]).get_json()["playlists"][0]["name"] == "Public list"
    assert len(client.get("/api/playlist?filter[name-like]=%list%").get_json()["playlists"]) == 1
    # Direct links: public and unlisted to anyone; private only to the owner (404 for the rest).
    for item, anyone in ((public, True), (unlisted, True), (private, False)):
        for headers in ({}, stranger[1]):
            status = client.get(f"/api/playlist/{item['id']}", headers=headers).status_code
            assert status == (200 if anyone else 404)
            assert client.get(f"/api/playlist/{item['id']}/track", headers=headers).status_code == (200 if anyone else 404)
        assert client.get(f"/api/playlist/{item['id']}", headers=owner[1]).status_code == 200
    # Image includes show public playlists plus the caller's own.
    def included(headers):
        images = client.get("/api/image?include=playlists", headers=headers).get_json()["images"]
        return sorted(p["name"] for image in images for p in image["playlists"])

    assert included({}) == ["Public list"]
    assert included(stranger[1]) == ["Public list"]
    assert included(owner[1]) == ["Private list", "Public list", "Unlisted list"]
    mine = client.get("/api/me/playlist", headers=owner[1]).get_json()["playlists"]
    assert [p["name"] for p in mine] == ["Unlisted list", "Private list", "Public list"]  # newest first
    assert client.get("/api/me/playlist", headers=stranger[1]).get_json()["playlists"] == []
    user_include = client.get("/api/playlist?include=user").get_json()["playlists"][0]["user"]
    assert user_include["name"] == "owner" and "email" not in user_include


def test_events_fire_once_after_commit_and_never_on_rollback(app, client, owner):
    received = []

    def listener(name):
        return lambda sender, playlist, user_id, **extra: received.append((name, playlist["name"], playlist["id"], user_id))

    handlers = {signal: listener(name) for signal, name in events.EVENT_NAMES.items()}
    for signal, handler in handlers.items():
        signal.connect(handler)
    try:
        playlist = _create(client, owner[1])
        client.patch(f"/api/playlist/{playlist['id']}", json={"name": "Renamed"}, headers=owner[1])
        client.patch(f"/api/playlist/{playlist['id']}", json={"visibility": 9}, headers=owner[1])  # rejected
        client.post("/api/playlist", json={"visibility": 0}, headers=owner[1])  # rejected
        client.delete(f"/api/playlist/{playlist['id']}", headers=owner[1])
    finally:
        for signal, handler in handlers.items():
            signal.disconnect(handler)
    assert received == [
        ("created", "Best of 2023", playlist["id"], owner[0]),
        ("updated", "Renamed", playlist["id"], owner[0]),
        ("deleted", "Renamed", playlist["id"], owner[0]),
    ]
    with app.app_context():
        log = db.session.scalars(select(PlaylistActivity.event).order_by(PlaylistActivity.id)).all()
    assert log == ["created", "updated", "deleted"]


def test_event_not_sent_when_the_commit_fails(app, monkeypatch):
    received = []
    handler = lambda sender, **kw: received.append(kw)  # noqa: E731
    events.playlist_created.connect(handler)
    try:
        with app.app_context():
            user = make_user()

            def failing_commit():
                db.session.rollback()
                raise RuntimeError("database went away")

            monkeypatch.setattr(db.session, "commit", failing_commit)
            with pytest.raises(RuntimeError):
                services.create_playlist(user, SPEC_CREATE)
    finally:
        events.playlist_created.disconnect(handler)
    assert received == []


def _chain(client, playlist_id, headers=None) -> list[int]:
    tracks = client.get(f"/api/playlist/{playlist_id}/track?page[size]=100", headers=headers or {}).get_json()["tracks"]
    return [t["audio_id"] for t in tracks]


def test_tracks_insert_move_delete(app, client, owner, stranger):
    a = _audio(app, 5)
    playlist = _create(client, owner[1])
    base = f"/api/playlist/{playlist['id']}/track"
    first = client.post(base, json={"audio_id": a[0]}, headers=owner[1]).get_json()["track"]
    assert list(first) == ["track_id", "previous_id", "next_id", "audio_id", "video_id", "created_at", "updated_at"]
    second = client.post(base, json={"audio_id": a[1]}, headers=owner[1]).get_json()["track"]
    head = client.post(base, json={"audio_id": a[2], "next": first["track_id"]}, headers=owner[1]).get_json()["track"]
    middle = client.post(base, json={"audio_id": a[3], "previous": first["track_id"]}, headers=owner[1]).get_json()["track"]
    assert _chain(client, playlist["id"]) == [a[2], a[0], a[3], a[1]]
    body = client.get(f"/api/playlist/{playlist['id']}", headers=owner[1]).get_json()["playlist"]
    assert body["first_id"] == head["track_id"] and body["last_id"] == second["track_id"]
    moved = client.patch(f"{base}/{head['track_id']}", json={"previous": second["track_id"]}, headers=owner[1])
    assert moved.status_code == 200 and moved.get_json()["track"]["next_id"] is None
    assert _chain(client, playlist["id"]) == [a[0], a[3], a[1], a[2]]
    assert client.delete(f"{base}/{middle['track_id']}", headers=owner[1]).status_code == 200
    assert _chain(client, playlist["id"]) == [a[0], a[1], a[2]]
    shown = client.get(f"{base}/{first['track_id']}?include=audio").get_json()["track"]
    assert shown["audio"]["basename"] == "a0" and shown["previous_id"] is None
    # Errors: others cannot write; bad references are 422; unknown tracks 404.
    assert client.post(base, json={"audio_id": a[4]}, headers=stranger[1]).status_code == 403
    assert client.post(base, json={"audio_id": 999}, headers=owner[1]).status_code == 422
    assert client.post(base, json={"audio_id": "x"}, headers=owner[1]).status_code == 422
    assert client.post(base, json={"audio_id": a[4], "previous": 99999}, headers=owner[1]).status_code == 422
    assert client.post(base, json={"audio_id": a[4], "previous": first["track_id"], "next": second["track_id"]}, headers=owner[1]).status_code == 422
    # Upstream TrackUpdateTest "update": a body that does not move the track changes it in place.
    assert client.patch(f"{base}/{first['track_id']}", json={}, headers=owner[1]).status_code == 200
    assert client.get(f"{base}/99999").status_code == 404
    with app.app_context():
        assert services.chain_is_consistent(_row_id(playlist["id"]))


def test_track_limit_and_deleted_audio_leaves_cleanly(app, client, owner):
    a = _audio(app, 4)
    app.config["PLAYLIST_TRACK_LIMIT"] = 3
    playlist = _create(client, owner[1])
    base = f"/api/playlist/{playlist['id']}/track"
    for audio_id in a[:3]:
        assert client.post(base, json={"audio_id": audio_id}, headers=owner[1]).status_code == 201
    over = client.post(base, json={"audio_id": a[3]}, headers=owner[1])
    assert over.status_code == 403 and "more than '3' tracks" in over.get_json()["message"]  # upstream's PlaylistExceedsTrackLimit wording
    _, admin = user_with_token(app, admin=True)
    assert client.delete("/api/audio/a1", headers=admin).status_code == 200  # soft delete
    assert _chain(client, playlist["id"]) == [a[0], a[2]]
    assert client.delete("/forceDelete/audio/a0", headers=admin).status_code == 200
    assert _chain(client, playlist["id"]) == [a[2]]
    with app.app_context():
        assert services.chain_is_consistent(_row_id(playlist["id"]))


def test_track_pages_follow_the_list_and_cost_the_same(app, client, owner, count_queries):
    a = _audio(app, 30)
    playlist = _create(client, owner[1])
    base = f"/api/playlist/{playlist['id']}/track"
    for audio_id in reversed(a):  # insert each at the head: order is the reverse of insertion
        tracks = client.get(f"{base}?page[size]=1").get_json()["tracks"]
        placement = {"next": tracks[0]["track_id"]} if tracks else {}
        client.post(base, json={"audio_id": audio_id, **placement}, headers=owner[1])
    pages, counts = [], []
    for number in (1, 2, 3):
        with count_queries() as queries:
            body = client.get(f"{base}?page[size]=10&page[number]={number}&include=audio").get_json()
        counts.append(len(queries))
        pages.extend(t["audio_id"] for t in body["tracks"])
    assert pages == a
    assert len(set(counts)) == 1


def test_concurrent_writes_keep_one_consistent_chain(app, client, owner):
    a = _audio(app, 30)
    playlist = _create(client, owner[1])
    base = f"/api/playlist/{playlist['id']}/track"
    seeded = [client.post(base, json={"audio_id": audio_id}, headers=owner[1]).get_json()["track"]["track_id"] for audio_id in a[:10]]
    rng = random.Random(7)
    operations = []
    for n in range(20):
        kind = n % 4
        if kind == 0:
            operations.append(("post", base, {"audio_id": a[10 + n], "previous": rng.choice(seeded)}))
        elif kind == 1:
            operations.append(("post", base, {"audio_id": a[10 + n], "next": rng.choice(seeded)}))
        elif kind == 2:
            operations.append(("patch", f"{base}/{seeded[n % 10]}", {"previous": seeded[(n + 3) % 10]}))
        else:
            operations.append(("delete", f"{base}/{seeded[(n * 7) % 10]}", None))
    barrier = threading.Barrier(len(operations))
    statuses = []

    def run(method, url, body):
        local = app.test_client()
        barrier.wait()
        response = getattr(local, method)(url, json=body, headers=owner[1]) if body is not None else getattr(local, method)(url, headers=owner[1])
        statuses.append(response.status_code)

    threads = [threading.Thread(target=run, args=op) for op in operations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 500 not in statuses, statuses
    with app.app_context():
        assert services.chain_is_consistent(_row_id(playlist["id"]))
    chain = _chain(client, playlist["id"])
    assert len(chain) == len(set(chain))


def test_session_authenticated_management(app, client):
    with app.app_context():
        make_user("web")
    login(client, "web")
    created = client.post("/api/playlist", json=SPEC_CREATE)
    assert created.status_code == 201
    assert client.get("/api/me/playlist").get_json()["playlists"][0]["name"] == "Best of 2023"


def test_playlist_list_query_count_does_not_grow(client, app, owner, count_queries):
    counts = []
    for total in (2, 9):
        while len(client.get("/api/playlist?page[size]=100").get_json()["playlists"]) < total:
            _create(client, owner[1])
        with count_queries() as queries:
            body = client.get("/api/playlist?page[size]=100&include=tracks,images,user").get_json()
        assert len(body["playlists"]) == total
        counts.append(len(queries))
    assert counts[0] == counts[1]


# --- upstream's playlist and track tests (tests/Feature/Http/Api/List/Playlist/...) -----------


def _filled(app, client, owner, count: int = 3) -> tuple[dict, list[dict], list[int]]:
    audio = _audio(app, count)
    playlist = _create(client, owner[1])
    base = f"/api/playlist/{playlist['id']}/track"
    tracks = [client.post(base, json={"audio_id": audio_id}, headers=owner[1]).get_json()["track"] for audio_id in audio]
    return playlist, tracks, audio


def test_description_is_at_most_1000_characters(client, owner):
    """PlaylistStoreTest / PlaylistDescriptionField: max:1000."""
    assert client.post("/api/playlist", json={"name": "n", "visibility": 0, "description": "d" * 1000}, headers=owner[1]).status_code == 201
    too_long = client.post("/api/playlist", json={"name": "n", "visibility": 0, "description": "d" * 1001}, headers=owner[1])
    assert too_long.status_code == 422
    assert too_long.get_json()["errors"]["description"] == ["The description field must not be greater than 1000 characters"]


def test_track_limit_and_delete_messages_are_upstreams(app, client, owner):
    """TrackStoreTest 'max track limit' (PlaylistExceedsTrackLimit) and TrackDestroyTest 'deleted'
    (DestroyTrackAction: "Playlist Track '<id>' was deleted.")."""
    app.config["PLAYLIST_TRACK_LIMIT"] = 2
    playlist, tracks, audio = _filled(app, client, owner, 2)
    over = client.post(f"/api/playlist/{playlist['id']}/track", json={"audio_id": audio[0]}, headers=owner[1])
    assert over.status_code == 403 and over.get_json()["message"] == "Playlists cannot contain more than '2' tracks."
    gone = client.delete(f"/api/playlist/{playlist['id']}/track/{tracks[0]['track_id']}", headers=owner[1])
    assert gone.status_code == 200 and gone.get_json() == {"message": f"Playlist Track '{tracks[0]['track_id']}' was deleted."}


def test_tracks_update_with_put_and_without_moving(app, client, owner):
    """TrackUpdateTest 'update' (PUT, a new video, the track stays where it is)."""
    playlist, tracks, audio = _filled(app, client, owner, 3)
    with app.app_context():
        from models.catalogue import Video

        video = Video(basename="v-nc", filename="v-nc.webm", path="/v", audio_id=audio[1])
        db.session.add(video)
        db.session.commit()
        video_id = video.id
    url = f"/api/playlist/{playlist['id']}/track/{tracks[1]['track_id']}"
    updated = client.put(url, json={"video_id": video_id}, headers=owner[1])
    assert updated.status_code == 200
    body = updated.get_json()["track"]
    assert body["video_id"] == video_id and body["previous_id"] == tracks[0]["track_id"] and body["next_id"] == tracks[2]["track_id"]
    assert _chain(client, playlist["id"]) == audio
    # PUT moves as PATCH does.
    moved = client.put(url, json={"previous": tracks[2]["track_id"]}, headers=owner[1])
    assert moved.status_code == 200 and _chain(client, playlist["id"]) == [audio[0], audio[2], audio[1]]
    with app.app_context():
        assert services.chain_is_consistent(_row_id(playlist["id"]))


def test_previous_and_next_together_fail_under_both_keys(app, client, owner):
    """TrackStoreTest and TrackUpdateTest 'prohibits next and previous'."""
    playlist, tracks, audio = _filled(app, client, owner, 3)
    base = f"/api/playlist/{playlist['id']}/track"
    both = {"previous": tracks[0]["track_id"], "next": tracks[2]["track_id"]}
    for response in (
        client.post(base, json={"audio_id": audio[0], **both}, headers=owner[1]),
        client.put(f"{base}/{tracks[1]['track_id']}", json=both, headers=owner[1]),
    ):
        assert response.status_code == 422 and set(response.get_json()["errors"]) == {"previous", "next"}


def test_track_and_playlist_includes(app, client, owner):
    """TrackSchema allows previous, next, playlist; PlaylistSchema allows first, last
    (TrackShowTest / PlaylistShowTest 'allowed include paths')."""
    playlist, tracks, _ = _filled(app, client, owner, 3)
    middle = client.get(f"/api/playlist/{playlist['id']}/track/{tracks[1]['track_id']}?include=previous,next,playlist").get_json()["track"]
    assert middle["previous"]["track_id"] == tracks[0]["track_id"] and middle["next"]["track_id"] == tracks[2]["track_id"]
    assert middle["playlist"]["id"] == playlist["id"]
    first = client.get(f"/api/playlist/{playlist['id']}/track/{tracks[0]['track_id']}?include=previous").get_json()["track"]
    assert first["previous"] is None
    body = client.get(f"/api/playlist/{playlist['id']}?include=first,last").get_json()["playlist"]
    assert body["first"]["track_id"] == tracks[0]["track_id"] and body["last"]["track_id"] == tracks[2]["track_id"]
    assert client.get(f"/api/playlist/{playlist['id']}?include=first.playlist").status_code == 422  # not in the allow-list


def test_forward_and_backward(app, client, owner, stranger):
    """PlaylistForwardIndexTest / PlaylistBackwardIndexTest and TrackForwardIndexTest /
    TrackBackwardIndexTest: the list from either end, and from a track on; private playlists 404."""
    playlist, tracks, audio = _filled(app, client, owner, 4)
    ids = [track["track_id"] for track in tracks]
    root = f"/api/playlist/{playlist['id']}"
    assert [t["track_id"] for t in client.get(f"{root}/forward").get_json()["tracks"]] == ids
    assert [t["track_id"] for t in client.get(f"{root}/backward").get_json()["tracks"]] == ids[::-1]
    assert [t["track_id"] for t in client.get(f"{root}/forward?page[size]=2&page[number]=2").get_json()["tracks"]] == ids[2:]
    assert [t["track_id"] for t in client.get(f"{root}/track/{ids[1]}/forward").get_json()["tracks"]] == ids[2:]
    assert [t["track_id"] for t in client.get(f"{root}/track/{ids[2]}/backward").get_json()["tracks"]] == ids[1::-1]
    assert client.get(f"{root}/forward?include=audio").get_json()["tracks"][0]["audio"]["audio_id"] == audio[0]
    client.patch(root, json={"visibility": 1}, headers=owner[1])
    assert client.get(f"{root}/forward", headers=stranger[1]).status_code == 404
    assert client.get(f"{root}/backward", headers=owner[1]).status_code == 200
