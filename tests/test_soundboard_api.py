"""The soundboard: the spec's upload responses word for word, the original API, clicks and limits."""
from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from extensions import db
from media.storage import get_storage
from models.soundboard import Sound
from tests.factories import login, make_user
from tests.storage_backends import both_storages

TOKEN = {"Authorization": "test-soundboard-token"}


def _upload(client, audio_file=None, data=None, headers=TOKEN, path="/admin/sounds/upload", content=None, name="test.mp3"):
    form = {"filename": "laugh", "displayname": "hahaha", "source": "Season 2", **(data or {})}
    form = {k: v for k, v in form.items() if v is not None}
    if content is None and audio_file is not None:
        content = audio_file("mp3").read_bytes()
    if content is not None:
        form["file"] = (io.BytesIO(content), name)
    return client.post(path, data=form, headers=headers, content_type="multipart/form-data")


def _count_sounds(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Sound))


@both_storages
def test_upload_success_matches_the_spec(client, app, audio_file):
    response = _upload(client, audio_file)
    assert response.status_code == 200
    body = response.get_json()
    assert body == {
        "code": 200,
        "message": "Sound successfully uploaded.",
        "sound": {"id": body["sound"]["id"], "filename": "laugh", "displayname": "hahaha", "source": "Season 2", "count": 0, "theme": "megumin"},
    }
    served = client.get("/sounds/megumin/season-2/laugh.mp3", headers={"Range": "bytes=0-9"})
    assert served.status_code == 206 and served.headers["Content-Type"] == "audio/mpeg"
    also = _upload(client, audio_file, {"filename": "laugh2", "count": "5000", "theme": "goddess"}, path="/api/admin/sounds/upload")
    assert also.get_json()["sound"]["count"] == 5000 and also.get_json()["sound"]["theme"] == "goddess"


@pytest.mark.parametrize(
    ("data", "content_kind", "status", "body"),
    [
        ({"filename": None}, "mp3", 400, {"code": 400, "name": "Invalid filename", "message": "Filename must be provided."}),
        ({"filename": ""}, "mp3", 400, {"code": 400, "name": "Invalid filename", "message": "Filename must be provided."}),
        ({}, None, 400, {"code": 400, "name": "Invalid file", "message": "An mp3 file must be provided."}),
        ({}, "ogg", 400, {"code": 400, "name": "Invalid file", "message": "An mp3 file must be provided."}),
        ({}, "text", 400, {"code": 400, "name": "Invalid file", "message": "An mp3 file must be provided."}),
        ({"count": "many"}, "mp3", 400, {"code": 400, "name": "Invalid count", "message": "Count must be an integer if provided."}),
        ({"count": "1.5"}, "mp3", 400, {"code": 400, "name": "Invalid count", "message": "Count must be an integer if provided."}),
    ],
)
def test_upload_errors_match_the_spec(client, app, audio_file, data, content_kind, status, body):
    content = {"mp3": None, "ogg": audio_file("ogg").read_bytes(), "text": b"not audio at all" * 10, None: None}[content_kind]
    response = _upload(client, audio_file if content_kind == "mp3" else None, data, content=content)
    assert response.status_code == status
    assert response.get_json() == body
    assert _count_sounds(app) == 0


@both_storages
def test_upload_rejects_taken_and_bad_filenames_and_fake_mp3(client, app, audio_file, tmp_path):
    _upload(client, audio_file)
    taken = _upload(client, audio_file)
    assert taken.get_json() == {"code": 400, "name": "Invalid filename", "message": "Sound filename already in use."}
    bad = _upload(client, audio_file, {"filename": "../evil"})
    assert bad.status_code == 400 and bad.get_json()["name"] == "Invalid filename"
    # An Ogg file named .mp3 and declared audio/mpeg is still not an MP3.
    disguised = _upload(client, None, {"filename": "disguised"}, content=audio_file("ogg").read_bytes(), name="song.mp3")
    assert disguised.get_json()["name"] == "Invalid file"
    assert _count_sounds(app) == 1
    assert list((tmp_path / "media" / ".staging").iterdir()) == []
    with app.app_context():
        assert get_storage().keys() == ["sounds/laugh.mp3"]


def test_upload_auth(client, app, audio_file):
    denied = {"code": 401, "name": "Access denied", "message": "Invalid token provided."}
    assert _upload(client, audio_file, headers={"Authorization": "wrong"}).get_json() == denied
    assert _upload(client, audio_file, headers={}).status_code == 401
    app.config["SOUNDBOARD_ADMIN_TOKEN"] = None
    assert _upload(client, audio_file, headers={"Authorization": ""}).get_json() == denied
    with app.app_context():
        make_user("boss", admin=True)
        make_user("pleb")
    login(client, "pleb")
    forbidden = _upload(client, audio_file, headers={})
    assert forbidden.status_code == 403 and forbidden.get_json()["name"] == "Access denied"
    client.post("/logout")
    login(client, "boss")
    assert _upload(client, audio_file, headers={}).status_code == 200


def test_unexpected_failure_gives_the_spec_500(client, app, audio_file, monkeypatch):
    from blueprints.soundboard import services

    def broken(*args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(services, "inspect_audio", broken)
    response = _upload(client, audio_file)
    assert response.status_code == 500
    assert response.get_json() == {"code": 500, "name": "Serverside error", "message": "An unexpected error occurred."}
    assert _count_sounds(app) == 0


def _seed_sounds(client, audio_file):
    for name, source, theme, count in (("a", "Season 1", "megumin", 5), ("b", "Season 2", "megumin", 50), ("c", "OVA", "aqua", 500)):
        assert _upload(client, audio_file, {"filename": name, "displayname": name.upper(), "source": source, "theme": theme, "count": str(count)}).status_code == 200


def test_sounds_themes_and_filters(client, audio_file):
    _seed_sounds(client, audio_file)
    assert [s["filename"] for s in client.get("/api/sounds").get_json()] == ["a", "b", "c"]  # id order, as the original
    assert [s["filename"] for s in client.get("/api/sounds?theme=megumin").get_json()] == ["a", "b"]
    assert [s["filename"] for s in client.get("/api/sounds?source=OVA").get_json()] == ["c"]
    assert [s["filename"] for s in client.get("/api/sounds?over=10&under=100").get_json()] == ["b"]
    assert [s["filename"] for s in client.get("/api/sounds?equals=5").get_json()] == ["a"]
    assert client.get("/api/themes").get_json() == ["aqua", "megumin"]
    bad = client.get("/api/sounds?over=abc")
    assert bad.status_code == 400
    assert bad.get_json() == {"code": 400, "name": "Invalid range", "message": 'The "over", "under" and "equals" parameters must be numbers.'}
    assert client.get("/api/sounds?over=10&under=5").status_code == 400


def test_clicks_counter_statistics_and_milestones(client, app, audio_file):
    _seed_sounds(client, audio_file)
    assert client.post("/api/admin/milestones/add", json={"count": 3}, headers=TOKEN).status_code == 200
    for _ in range(3):
        assert client.post("/api/soundboard/click", json={"type": "click", "soundFilename": "a"}).status_code == 200
    board = client.post("/api/soundboard/click", json={"type": "sbClick", "soundFilename": "b"}).get_json()
    assert board == {"counter": 3, "sound": {"filename": "b", "count": 51}}
    assert client.get("/api/counter").get_json() == {"counter": 3}
    stats = client.get("/api/statistics").get_json()
    assert len(stats) == 1 and stats[0]["count"] == 3 and set(stats[0]) == {"id", "date", "count"}
    assert client.get(f"/api/statistics?from={stats[0]['date']}&to={stats[0]['date']}&over=2").get_json() == stats
    assert client.get("/api/statistics?under=2").get_json() == []
    summary = client.get("/api/statistics/summary").get_json()
    assert summary == {"alltime": 3, "daily": 3, "weekly": 3, "monthly": 3, "yearly": 3, "average": 3}
    chart = client.get("/api/statistics/chartData").get_json()
    assert chart == [{"month": stats[0]["date"][:7], "count": 3}]  # only months with statistics
    milestones = client.get("/api/statistics/milestones").get_json()
    assert milestones[0]["count"] == 3 and milestones[0]["reached"] == 1
    for bad in ("from=2024-13-01", "to=yesterday", "from=2024-02-01&to=2024-01-01", "equals=x"):
        response = client.get(f"/api/statistics?{bad}")
        assert response.status_code == 400 and response.get_json()["code"] == 400, bad
    assert client.post("/api/soundboard/click", json={"type": "sbClick", "soundFilename": "nope"}).status_code == 400
    assert client.post("/api/soundboard/click", json={"type": "other"}).status_code == 400


@both_storages
def test_admin_modify_delete_milestones_notification(client, app, audio_file):
    _seed_sounds(client, audio_file)
    sound_id = client.get("/api/sounds?equals=5").get_json()[0]["id"]
    assert client.patch("/api/admin/sounds/modify", json={"id": sound_id, "displayname": "Renamed"}).status_code == 401
    modified = client.patch("/api/admin/sounds/modify", json={"id": sound_id, "displayname": "Renamed", "count": 7, "filename": "a2"}, headers=TOKEN)
    assert modified.get_json()["sound"] == {"id": sound_id, "filename": "a2", "displayname": "Renamed", "source": "Season 1", "count": 7, "theme": "megumin"}
    assert client.get("/sounds/megumin/season-1/a2.mp3").status_code == 200
    assert client.patch("/api/admin/sounds/modify", json={"id": sound_id, "count": "x"}, headers=TOKEN).get_json()["name"] == "Invalid count"
    assert client.patch("/api/admin/sounds/modify", json={"id": 999}, headers=TOKEN).status_code == 404
    deleted = client.delete("/api/admin/sounds/delete", json={"id": sound_id}, headers=TOKEN)
    assert deleted.get_json() == {"code": 200, "message": "Sound successfully deleted.", "sound": modified.get_json()["sound"]}
    with app.app_context():
        assert get_storage().keys("sounds/") == ["sounds/b.mp3", "sounds/c.mp3"]  # neither a2 nor a, its name before
    assert client.delete("/api/admin/sounds/delete", json={"id": "x"}, headers=TOKEN).status_code == 400
    added = client.post("/api/admin/milestones/add", json={"count": 100}, headers=TOKEN).get_json()["milestone"]
    assert client.post("/api/admin/milestones/add", json={"count": 100}, headers=TOKEN).status_code == 400
    assert client.post("/api/admin/milestones/add", json={"count": "many"}, headers=TOKEN).status_code == 400
    assert client.patch("/api/admin/milestones/modify", json={"id": added["id"], "count": 200}, headers=TOKEN).get_json()["milestone"]["count"] == 200
    assert client.delete("/api/admin/milestones/delete", json={"id": added["id"]}, headers=TOKEN).status_code == 200
    assert client.get("/api/statistics/milestones").get_json() == []
    sent = client.post("/api/admin/notification", json={"text": "Hello", "duration": 5}, headers=TOKEN).get_json()
    assert sent == {"code": 200, "message": "Notification sent.", "notification": {"text": "Hello", "duration": 5}}
    assert client.post("/api/admin/notification", json={"text": ""}, headers=TOKEN).status_code == 400
    assert client.post("/api/admin/notification", json={"text": "x", "duration": 0}, headers=TOKEN).status_code == 400


def test_a_malformed_click_body_is_a_clear_400_and_counts_nothing(client):
    broken = client.post("/api/soundboard/click", data="{not json", content_type="application/json")
    assert broken.status_code == 400
    assert broken.get_json() == {"code": 400, "name": "Bad request", "message": "The request body is not valid JSON."}
    assert client.post("/api/soundboard/click", json=[1]).status_code == 400
    assert client.post("/api/soundboard/click", json={"type": "boom"}).status_code == 400
    assert client.get("/api/counter").get_json() == {"counter": 0}


def test_http_click_rate_limit(app_factory):
    app = app_factory(RATELIMIT_ENABLED=True, CLICK_RATE_LIMIT="3/minute")
    with app.app_context():
        db.session.add(Sound(filename="boom", displayname="Boom", source="Season 1"))
        db.session.commit()
    client = app.test_client()
    click = {"type": "click", "soundFilename": "boom"}
    statuses = [client.post("/api/soundboard/click", json=click).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    limited = client.post("/api/soundboard/click", json=click)
    assert limited.get_json() == {"code": 429, "name": "Too many requests", "message": "Too many clicks from this address; slow down."}
    assert int(limited.headers["Retry-After"]) > 0
    assert client.get("/api/counter").get_json() == {"counter": 3}


def test_pages(client, app, audio_file):
    _seed_sounds(client, audio_file)
    home = client.get("/soundboard").get_data(as_text=True)
    assert 'id="sb-counter"' in home and "sb-big-button" in home
    assert client.get("/soundboard/").get_data(as_text=True) == home
    board = client.get("/soundboard/board").get_data(as_text=True)
    assert "Season 1" in board and "Season 2" in board and "<kbd" in board and "OVA" not in board
    assert "OVA" in client.get("/soundboard/board?theme=aqua").get_data(as_text=True)
    assert client.get("/soundboard/rankings").get_data(as_text=True).index(">B<") < client.get("/soundboard/rankings").get_data(as_text=True).index(">A<")
    assert "<svg" in client.get("/soundboard/statistics").get_data(as_text=True)
    assert client.get("/soundboard/admin").status_code == 302
    with app.app_context():
        make_user("boss", admin=True)
    login(client, "boss")
    assert client.get("/soundboard/admin").status_code == 200
    assert client.get("/soundboard/admin/milestones").status_code == 200
    assert json.loads(json.dumps(client.get("/api/counter").get_json())) == {"counter": 0}


def test_sound_list_query_count_does_not_grow(client, audio_file, count_queries):
    counts = []
    for names in (("q1",), ("q2", "q3", "q4")):
        for name in names:
            _upload(client, audio_file, {"filename": name})
        client.get("/soundboard/board")  # warm-up: first-request work is not per row
        with count_queries() as queries:
            client.get("/api/sounds")
            client.get("/soundboard/board")
        counts.append(len(queries))
    assert counts[0] == counts[1]
