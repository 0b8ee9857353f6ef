"""Tracks v1: every endpoint, validation, ownership, and the signed upload flow with real files."""
from __future__ import annotations

import io
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from mutagen.id3 import APIC, ID3
from PIL import Image
from sqlalchemy import select, update

from blueprints.tracks import processing
from extensions import db
from media.storage import get_storage
from models.tracks import Track, TrackStatus
from tests.factories import user_with_token
from tests.storage_backends import both_storages


@pytest.fixture()
def alice(app):
    return user_with_token(app, name="alice")[1]


@pytest.fixture()
def bob(app):
    return user_with_token(app, name="bob")[1]


def _ok(response, status=200) -> dict:
    body = response.get_json()
    assert response.status_code == status, body
    assert body["ok"] is True and uuid.UUID(body["api_request_id"])
    assert response.headers["X-Api-Request-Id"] == body["api_request_id"]
    return body


def _error(response, status: int) -> dict:
    body = response.get_json()
    assert response.status_code == status, body
    assert body["ok"] is False and isinstance(body["message"], str) and uuid.UUID(body["api_request_id"])
    return body


def _collection(client, headers) -> str:
    return _ok(client.post("/v1/collection", json={"title": "Mine"}, headers=headers))["collection_id"]


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _wait_ready(client, headers, track_id: str, app) -> dict:
    deadline = time.time() + 10
    while time.time() < deadline:
        track = _ok(client.get(f"/v1/track/{track_id}", headers=headers))["track"]
        if track["status"] in ("ready", "error"):
            return track
        time.sleep(0.05)
    raise AssertionError("track never left processing")


def test_collections_and_creators_crud(client, alice, bob):
    created = _ok(client.post("/v1/collection", json={"title": "Album", "description": "d", "metadata": {"k": 1}}, headers=alice))
    collection_id = created["collection_id"]
    assert created["collection"]["metadata"] == {"k": 1}
    listing = _ok(client.get("/v1/collection?limit=1&offset=0", headers=alice))
    assert listing["count"] == 1 and len(listing["collections"]) == 1
    _ok(client.put(f"/v1/collection/{collection_id}", json={"title": "Renamed"}, headers=alice))
    assert _ok(client.get(f"/v1/collection/{collection_id}", headers=alice))["collection"]["title"] == "Renamed"
    _error(client.get(f"/v1/collection/{collection_id}", headers=bob), 404)
    _error(client.get("/v1/collection/not-a-uuid", headers=alice), 400)
    _error(client.post("/v1/collection", json={}, headers=alice), 400)
    _error(client.post("/v1/collection", json={"title": "x", "metadata": [1]}, headers=alice), 400)
    _error(client.get("/v1/collection?limit=0", headers=alice), 400)
    _error(client.get("/v1/collection?limit=201", headers=alice), 400)
    _error(client.get("/v1/collection?offset=-1", headers=alice), 400)
    _error(client.get("/v1/collection"), 401)
    creator = _ok(client.post("/v1/creator", json={"organization_index": "ORG-1", "name": "Someone"}, headers=alice))
    assert _ok(client.get("/v1/creator", headers=alice))["count"] == 1
    _ok(client.put(f"/v1/creator/{creator['creator_id']}", json={"name": "Renamed"}, headers=alice))
    _error(client.post("/v1/creator", json={"name": "x"}, headers=alice), 400)
    _error(client.delete(f"/v1/creator/{creator['creator_id']}", headers=bob), 404)
    assert _ok(client.delete(f"/v1/creator/{creator['creator_id']}", headers=alice))["deleted_creator"]["name"] == "Renamed"
    assert _ok(client.delete(f"/v1/collection/{collection_id}", headers=alice))["deleted_collection"]["title"] == "Renamed"


def test_create_track_matches_the_spec(client, alice):
    collection_id = _collection(client, alice)
    body = _ok(client.post(
        "/v1/track",
        json={"collection_id": collection_id, "file_name": "my-audio-track.mp3", "metadata": {"artist": "John Doe", "album": "My Album"}, "player_title": "Track Title"},
        headers=alice,
    ))
    assert set(body) == {"ok", "api_request_id", "track_id", "track", "track_upload", "track_cover_upload"}
    track = body["track"]
    for key in ("track_id", "collection_id", "creator_id", "file_name", "title", "organization_index", "metadata", "is_cover_overridable",
                "is_theme_overridable", "player_title", "player_subtitle", "player_color", "status", "duration", "size", "mimetype",
                "stream_url", "cover_url", "waveform_url", "created_at", "updated_at"):
        assert key in track, key
    assert track["status"] == "awaiting_upload" and track["metadata"] == {"artist": "John Doe", "album": "My Album"}
    assert body["track_upload"]["method"] == "PUT" and body["track_cover_upload"]["method"] == "POST"
    for upload in (body["track_upload"], body["track_cover_upload"]):
        assert upload["ttl"] == 3600 and upload["upload_url"].startswith("http://localhost/v1/upload/")
        expires = datetime.fromisoformat(upload["expires_at"].replace("Z", "+00:00"))
        assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"collection_id": None, "file_name": "a.mp3"}, "collection_id"),
        ({"collection_id": "nope", "file_name": "a.mp3"}, "collection_id"),
        ({"collection_id": str(uuid.uuid4()), "file_name": "a.mp3"}, "collection_id"),
        ({"file_name": ""}, "file_name"),
        ({"file_name": "../etc/passwd"}, "file_name"),
        ({"file_name": "a" * 256}, "file_name"),
        ({"file_name": "a.mp3", "metadata": "x"}, "metadata"),
        ({"file_name": "a.mp3", "is_cover_overridable": "yes"}, "is_cover_overridable"),
        ({"file_name": "a.mp3", "player_color": "red"}, "player_color"),
        ({"file_name": "a.mp3", "creator_id": str(uuid.uuid4())}, "creator_id"),
    ],
)
def test_track_validation(client, alice, payload, field):
    collection_id = _collection(client, alice)
    body = {"collection_id": collection_id, **payload}
    error = _error(client.post("/v1/track", json=body, headers=alice), 400)
    assert field in error["message"]


def test_track_read_update_delete_and_ownership(client, alice, bob):
    collection_id = _collection(client, alice)
    track_id = _ok(client.post("/v1/track", json={"collection_id": collection_id, "file_name": "a.mp3"}, headers=alice))["track_id"]
    updated = _ok(client.put(f"/v1/track/{track_id}", json={"title": "T", "player_color": "#1a2b3c", "is_theme_overridable": False}, headers=alice))
    assert updated["track"]["title"] == "T" and updated["track"]["player_color"] == "#1A2B3C" and updated["track"]["is_theme_overridable"] is False
    _error(client.put(f"/v1/track/{track_id}", json={"player_color": "#12345"}, headers=alice), 400)
    listing = _ok(client.get(f"/v1/collection/{collection_id}/track?limit=10&offset=0", headers=alice))
    assert listing["count"] == 1 and listing["tracks"][0]["track_id"] == track_id
    _error(client.get(f"/v1/track/{track_id}", headers=bob), 404)
    _error(client.put(f"/v1/track/{track_id}", json={}, headers=bob), 404)
    _error(client.delete(f"/v1/track/{track_id}", headers=bob), 404)
    _error(client.get("/v1/track/12345", headers=alice), 400)
    _error(client.get(f"/v1/collection/{collection_id}/track", headers=bob), 404)
    deleted = _ok(client.delete(f"/v1/track/{track_id}", headers=alice))
    assert deleted["deleted_track"]["track_id"] == track_id and deleted["track_id"] == track_id
    _error(client.get(f"/v1/track/{track_id}", headers=alice), 404)


def _with_cover(path):
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (40, 120, 200)).save(buffer, format="PNG")
    tags = ID3()
    tags.add(APIC(mime="image/png", type=3, data=buffer.getvalue()))
    tags.save(path)
    return buffer.getvalue()


@both_storages
@pytest.mark.parametrize("fmt", ["mp3", "ogg", "opus", "flac"])
def test_upload_flow_with_real_audio(client, app, alice, audio_file, fmt):
    collection_id = _collection(client, alice)
    created = _ok(client.post("/v1/track", json={"collection_id": collection_id, "file_name": f"x.{fmt}"}, headers=alice))
    path = audio_file(fmt, seconds=2.0)
    cover = _with_cover(path) if fmt == "mp3" else None
    data = path.read_bytes()
    uploaded = client.put(_path(created["track_upload"]["upload_url"]), data=data, content_type="application/octet-stream")
    assert _ok(uploaded)["track"]["status"] in ("processing", "ready")
    track = _wait_ready(client, alice, created["track_id"], app)
    assert track["status"] == "ready" and track["duration"] == pytest.approx(2.0, abs=0.1) and track["size"] == len(data)
    assert track["mimetype"] in ("audio/mpeg", "audio/ogg", "audio/flac")
    stream = client.get(_path(track["stream_url"]), headers={"Range": "bytes=0-99"})
    assert stream.status_code == 206 and stream.data == data[:100]
    waveform = client.get(_path(track["waveform_url"])).get_json()
    assert 100 <= len(waveform["peaks"]) <= 400 and max(waveform["peaks"]) > 0
    if cover:
        assert client.get(_path(track["cover_url"])).data == cover
        assert track["player_color"].startswith("#")
    # The URL worked once: a second use is refused and changes nothing.
    again = client.put(_path(created["track_upload"]["upload_url"]), data=b"other", content_type="application/octet-stream")
    _error(again, 403)
    assert client.get(_path(track["stream_url"])).data == data


@both_storages
def test_cover_upload_and_colour(client, app, alice, audio_file):
    collection_id = _collection(client, alice)
    created = _ok(client.post("/v1/track", json={"collection_id": collection_id, "file_name": "x.flac"}, headers=alice))
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 30, 60)).save(buffer, format="JPEG")
    cover_url = _path(created["track_cover_upload"]["upload_url"])
    _error(client.post(cover_url, data={"file": (io.BytesIO(b"not an image"), "c.jpg")}, content_type="multipart/form-data"), 400)
    ok = client.post(cover_url, data={"file": (io.BytesIO(buffer.getvalue()), "c.jpg")}, content_type="multipart/form-data")
    assert _ok(ok)["track"]["cover_url"]
    _error(client.post(cover_url, data={"file": (io.BytesIO(buffer.getvalue()), "c.jpg")}, content_type="multipart/form-data"), 403)
    client.put(_path(created["track_upload"]["upload_url"]), data=audio_file("flac").read_bytes())
    track = _wait_ready(client, alice, created["track_id"], app)
    red, green, blue = (int(track["player_color"][i : i + 2], 16) for i in (1, 3, 5))
    assert red > green and red > blue


@pytest.mark.parametrize("kind", ["wrong", "truncated", "empty"])
def test_bad_files_are_refused_and_the_url_stays_usable(client, app, alice, audio_file, kind):
    collection_id = _collection(client, alice)
    created = _ok(client.post("/v1/track", json={"collection_id": collection_id, "file_name": "x.mp3"}, headers=alice))
    good = audio_file("mp3").read_bytes()
    content = {"wrong": b"GIF89a" + bytes(2000), "truncated": good[: len(good) // 2], "empty": b""}[kind]
    url = _path(created["track_upload"]["upload_url"])
    refused = _error(client.put(url, data=content), 400 if kind != "empty" else 400)
    assert refused["message"]
    track = _ok(client.get(f"/v1/track/{created['track_id']}", headers=alice))["track"]
    assert track["status"] == "error" and track["error"] and track["stream_url"] is None
    assert _ok(client.put(url, data=good))["track"]["status"] in ("processing", "ready")


def test_too_large_upload_is_413(client, app, alice):
    app.config["MAX_UPLOAD_MB"] = 1
    collection_id = _collection(client, alice)
    created = _ok(client.post("/v1/track", json={"collection_id": collection_id, "file_name": "x.mp3"}, headers=alice))
    response = client.put(_path(created["track_upload"]["upload_url"]), data=b"\xff\xfb" + bytes(2 * 1024 * 1024))
    _error(response, 413)


def test_expired_and_tampered_urls_are_403(client, app, alice, monkeypatch):
    collection_id = _collection(client, alice)
    created = _ok(client.post("/v1/track", json={"collection_id": collection_id, "file_name": "x.mp3"}, headers=alice))
    url = _path(created["track_upload"]["upload_url"])
    _error(client.put(url.replace("signature=", "signature=x"), data=b"x"), 403)
    _error(client.put(url.split("?")[0], data=b"x"), 403)
    other = _ok(client.post("/v1/track", json={"collection_id": collection_id, "file_name": "y.mp3"}, headers=alice))["track_id"]
    _error(client.put(url.replace(created["track_id"], other), data=b"x"), 403)
    cover_signature = created["track_cover_upload"]["upload_url"].split("signature=")[1]
    _error(client.put(url.split("signature=")[0] + "signature=" + cover_signature, data=b"x"), 403)  # wrong purpose
    app.config["TRACKS_UPLOAD_TTL"] = -10
    expired = _ok(client.post("/v1/track", json={"collection_id": collection_id, "file_name": "z.mp3"}, headers=alice))
    assert "expired" in _error(client.put(_path(expired["track_upload"]["upload_url"]), data=b"x"), 403)["message"]


def test_stuck_processing_track_is_recovered_by_the_sweep(client, app, alice, audio_file):
    collection_id = _collection(client, alice)
    created = _ok(client.post("/v1/track", json={"collection_id": collection_id, "file_name": "x.ogg"}, headers=alice))
    original = processing.enqueue
    processing.enqueue = lambda app_, track_id: None  # the server "crashes" before processing runs
    try:
        client.put(_path(created["track_upload"]["upload_url"]), data=audio_file("ogg").read_bytes())
    finally:
        processing.enqueue = original
    with app.app_context():
        stale = datetime.now(UTC) - timedelta(hours=1)
        db.session.execute(update(Track).values(claimed_at=stale))
        db.session.commit()
        assert db.session.scalar(select(Track.status)) == TrackStatus.processing
    assert processing.sweep(app) == 1  # what every process runs at start-up and periodically
    assert _wait_ready(client, alice, created["track_id"], app)["status"] == "ready"


@both_storages
def test_deleting_removes_files(client, app, alice, audio_file):
    collection_id = _collection(client, alice)
    created = _ok(client.post("/v1/track", json={"collection_id": collection_id, "file_name": "x.flac"}, headers=alice))
    client.put(_path(created["track_upload"]["upload_url"]), data=audio_file("flac").read_bytes())
    _wait_ready(client, alice, created["track_id"], app)
    with app.app_context():
        assert get_storage().keys(f"tracks/{created['track_id']}/") == [f"tracks/{created['track_id']}/audio.flac"]
    _ok(client.delete(f"/v1/collection/{collection_id}", headers=alice))
    with app.app_context():
        assert get_storage().keys("tracks/") == []


def test_pages_and_embed(client, app, alice, audio_file):
    from tests.factories import login

    collection_id = _collection(client, alice)
    created = _ok(client.post("/v1/track", json={"collection_id": collection_id, "file_name": "x.ogg", "player_title": "Embedded"}, headers=alice))
    assert client.get(f"/embed/track/{created['track_id']}").status_code == 404  # not ready yet
    client.put(_path(created["track_upload"]["upload_url"]), data=audio_file("ogg").read_bytes())
    _wait_ready(client, alice, created["track_id"], app)
    embed = client.get(f"/embed/track/{created['track_id']}")
    assert embed.status_code == 200 and "Embedded" in embed.get_data(as_text=True)
    assert "frame-ancestors" in embed.headers["Content-Security-Policy"]
    assert client.get("/collections").status_code == 302
    login(client, "alice")
    assert "Mine" in client.get("/collections").get_data(as_text=True)
    page = client.get(f"/collections/{collection_id}").get_data(as_text=True)
    assert "Embedded" in page and "dropzone" in page


def test_list_query_counts_do_not_grow(client, app, alice, count_queries):
    collection_id = _collection(client, alice)
    counts = []
    for batch in (2, 12):
        while _ok(client.get(f"/v1/collection/{collection_id}/track?limit=200", headers=alice))["count"] < batch:
            client.post("/v1/track", json={"collection_id": collection_id, "file_name": "x.mp3"}, headers=alice)
        with count_queries() as queries:
            body = _ok(client.get(f"/v1/collection/{collection_id}/track?limit=200", headers=alice))
        assert len(body["tracks"]) == batch
        counts.append(len(queries))
    assert counts[0] == counts[1]
