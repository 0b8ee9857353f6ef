"""The soundboard's HTTP API answers exactly as megumin.love's server (v9.0.2) does, so that its
front-end works unchanged: status codes, keys, types, names and messages, request by request as its
pages send them (form fields as strings, ``Authorization: <token>``, multipart uploads)."""
from __future__ import annotations

import io
import json
import re
import threading
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

import pytest
from flask_migrate import upgrade
from sqlalchemy import delete, func, select, text

from app import create_app
from blueprints.soundboard import services
from blueprints.soundboard.live import live
from extensions import db
from models.soundboard import DailyStatistic, Milestone, Sound, SoundboardSetting
from tests.factories import make_user
from tests.storage_backends import both_storages
from tests.test_migrations import empty_database_url  # noqa: F401  (fixture)
from version import __version__

TOKEN = {"Authorization": "test-soundboard-token"}
NOT_FOUND = {"code": 404, "name": "Invalid route", "message": "Endpoint not found."}
DENIED = {"code": 401, "name": "Access denied", "message": "Invalid token provided."}


def _upload(client, audio_file, headers=TOKEN, path="/api/admin/sounds/upload", **fields):
    """As the original admin page: multipart, every field a string, empty fields left out."""
    form = {key: value for key, value in fields.items() if value not in (None, "")}
    form["file"] = (io.BytesIO(audio_file("mp3").read_bytes()), "clip.mp3")
    return client.post(path, data=form, headers=headers, content_type="multipart/form-data")


def _sound(client, audio_file, filename, **fields) -> dict:
    response = _upload(client, audio_file, filename=filename, **fields)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["sound"]


def _error(response, status: int, name: str, message: str) -> None:
    assert response.status_code == status, response.get_json()
    assert response.get_json() == {"code": status, "name": name, "message": message}


def _client_url(sound: dict) -> str:
    """The URL the original's pages build for a sound (index.js, soundboard.js)."""
    folder = re.sub(r"\s", "-", sound["source"]).lower()
    return f"/sounds/{sound['theme']}/{folder}/{sound['filename']}.mp3"


class Broadcasts:
    """What every open page is sent: each message published to this app's live broadcaster (the
    one interface the WebSocket side and the admin routes share)."""

    def __init__(self, app, monkeypatch):
        with app.app_context():
            broadcaster = live().broadcaster
        self.published: list[dict] = []
        publish = broadcaster.publish

        def recording(message, **options):
            self.published.append(json.loads(json.dumps(message)))  # as a page decodes it
            return publish(message, **options)

        monkeypatch.setattr(broadcaster, "publish", recording)

    def of(self, kind: str) -> list[dict]:
        """The messages of ``kind`` published since the last call."""
        published, self.published = self.published, []
        return [message for message in published if message["type"] == kind]


def _log_in(client, app, *, admin: bool) -> None:
    from blueprints.accounts.services import start_session

    with app.app_context():
        session_key = start_session(make_user(admin=admin))  # the cookie names a server-side session
    with client.session_transaction() as session:
        session["_user_id"] = session_key
        session["_fresh"] = True


# --- 1. /api/meta ----------------------------------------------------------------------------


def test_meta_reports_port_and_dotted_version(client):
    response = client.get("/api/meta", base_url="http://localhost:5959")
    body = response.get_json()
    assert response.status_code == 200 and list(body) == ["port", "version"]
    assert body == {"port": 5959, "version": __version__}
    assert re.fullmatch(r"\d+\.\d+\.\d+", body["version"])
    version = body["version"]  # what the original home page shows: major.minor
    assert version[: version.index(".", version.index(".") + 1)] == ".".join(__version__.split(".")[:2])


# --- 2. sources ------------------------------------------------------------------------------


def test_a_sound_without_source_is_no_source_everywhere(client, app, audio_file):
    sound = _sound(client, audio_file, "laugh", displayname="Laugh")
    assert sound["source"] == "no-source"
    with app.app_context():
        assert db.session.scalar(select(Sound.source).where(Sound.filename == "laugh")) == "no-source"
    assert [s["source"] for s in client.get("/api/sounds").get_json()] == ["no-source"]
    served = client.get("/sounds/megumin/no-source/laugh.mp3")
    assert served.status_code == 200 and served.headers["Content-Type"] == "audio/mpeg"
    # Emptied by the admin page: no source again, never NULL or "".
    moved = _sound(client, audio_file, "sigh", displayname="Sigh", source="Season 1")
    cleared = client.patch("/api/admin/sounds/modify", json={"id": str(moved["id"]), "source": ""}, headers=TOKEN)
    assert cleared.get_json()["sound"]["source"] == "no-source"
    assert client.get(_client_url(cleared.get_json()["sound"])).status_code == 200


@pytest.mark.parametrize(
    ("source", "folder"),
    [
        ("Kurenai Densetsu (Movie)", "kurenai-densetsu-(movie)"),
        ("Season 2", "season-2"),
        ("OVA\u00a0Special\tTwo", "ova-special-two"),
        ("Saison Été", "saison-été"),
        ("Part 1/2", "part-1/2"),
    ],
)
@both_storages
def test_files_are_served_at_the_url_the_client_builds(client, audio_file, source, folder):
    sound = _sound(client, audio_file, "boom", displayname="Boom", source=source)
    assert _client_url(sound) == f"/sounds/megumin/{folder}/boom.mp3"
    plain = client.get(_client_url(sound))
    encoded = client.get(f"/sounds/megumin/{quote(folder)}/boom.mp3")  # as a browser sends it
    assert plain.status_code == encoded.status_code == 200
    assert plain.data == encoded.data and len(plain.data) > 1000
    assert client.get("/sounds/megumin/unsorted/boom.mp3").status_code == 404
    assert client.get(f"/sounds/aqua/{folder}/boom.mp3").status_code == 404
    board = client.get("/soundboard/board").get_data(as_text=True)
    assert f'data-url="/sounds/megumin/{quote(folder, safe="/()")}/boom.mp3"' in board  # our pages' sound_url()


def test_only_sounds_with_source_and_displayname_are_on_the_board(client, app, audio_file):
    _sound(client, audio_file, "shown", displayname="Shown", source="Season 1")
    _sound(client, audio_file, "nosource", displayname="No source")
    _sound(client, audio_file, "noname", source="Season 1")
    board = client.get("/soundboard/board").get_data(as_text=True)
    assert 'data-sound="shown"' in board and 'data-sound="nosource"' not in board and 'data-sound="noname"' not in board
    rankings = client.get("/soundboard/rankings").get_data(as_text=True)
    assert 'data-sound="shown"' in rankings and "nosource" not in rankings and "noname" not in rankings
    home = client.get("/soundboard").get_data(as_text=True)  # the big button plays them all
    assert all(f'data-sound="{name}"' in home for name in ("shown", "nosource", "noname"))
    assert 'data-url="/sounds/megumin/no-source/nosource.mp3"' in home
    _log_in(client, app, admin=True)
    admin = client.get("/soundboard/admin").get_data(as_text=True)
    assert 'name="source" value=""' in admin  # our admin page shows no source as an empty field


def test_the_migration_turns_null_sources_into_no_source(empty_database_url, tmp_path):  # noqa: F811
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "i"), "SQLALCHEMY_DATABASE_URI": empty_database_url, "MEDIA_ROOT": str(tmp_path / "m")})
    with app.app_context():
        upgrade(revision="0700")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO sound (filename, displayname, source, count, theme, gain_db, created_at) "
                    "VALUES ('old', 'Old', NULL, 3, 'megumin', 0, CURRENT_TIMESTAMP), "
                    "('kept', 'Kept', 'Season 1', 4, 'megumin', 0, CURRENT_TIMESTAMP)"
                )
            )
        upgrade()
        with db.engine.connect() as connection:
            assert {name: source for name, source in connection.execute(text("SELECT filename, source FROM sound"))} == {"old": "no-source", "kept": "Season 1"}
        db.engine.dispose()


# --- 3. notifications ------------------------------------------------------------------------


def test_notifications_are_nested(client, app, monkeypatch):
    pages = Broadcasts(app, monkeypatch)
    response = client.post("/api/admin/notification", data={"text": "Explosion!", "duration": "5"}, headers=TOKEN)
    note = {"text": "Explosion!", "duration": 5}
    assert response.status_code == 200
    assert response.get_json() == {"code": 200, "message": "Notification sent.", "notification": note}
    assert pages.of("notification") == [{"type": "notification", "notification": note}]
    for body in ({"text": "x"}, {"duration": 3}, {"text": "", "duration": 3}, {"text": "x", "duration": 0}):
        _error(client.post("/api/admin/notification", json=body, headers=TOKEN), 400, "Invalid notification", "Notification text and duration must be provided.")
    bad = client.post("/api/admin/notification", json={"text": "x", "duration": "soon"}, headers=TOKEN)
    assert bad.status_code == 400 and bad.get_json()["name"] == "Invalid notification"
    assert pages.of("notification") == []


# --- 4. milestones ---------------------------------------------------------------------------


def test_milestones_have_the_original_shape_and_broadcasts(client, app, audio_file, monkeypatch):
    sound_id = _sound(client, audio_file, "boom", displayname="Boom", source="Season 1")["id"]
    pages = Broadcasts(app, monkeypatch)
    added = client.post("/api/admin/milestones/add", json={"count": "1000"}, headers=TOKEN)
    milestone = added.get_json()["milestone"]
    assert added.get_json() == {"code": 200, "message": "Milestone successfully added.", "milestone": milestone}
    assert list(milestone) == ["id", "count", "reached", "timestamp", "sound_id"]
    assert milestone == {"id": milestone["id"], "count": 1000, "reached": 0, "timestamp": None, "sound_id": None}
    assert pages.of("milestoneAdd") == [{"type": "milestoneAdd", "milestone": milestone}]

    full = {"count": "2000", "reached": "1", "timestamp": "1550247538345", "sound_id": str(sound_id)}
    second = client.post("/api/admin/milestones/add", json=full, headers=TOKEN).get_json()["milestone"]
    assert second == {"id": second["id"], "count": 2000, "reached": 1, "timestamp": 1550247538345, "sound_id": sound_id}

    # Modify takes any subset of the fields.
    steps = [
        ({"reached": "1"}, {"reached": 1}),
        ({"timestamp": "1555792165395"}, {"timestamp": 1555792165395}),
        ({"sound_id": str(sound_id)}, {"sound_id": sound_id}),
        ({"count": 1500}, {"count": 1500}),
        ({"reached": 0, "timestamp": "", "sound_id": None}, {"reached": 0, "timestamp": None, "sound_id": None}),
    ]
    current = dict(milestone)
    for change, effect in steps:
        response = client.patch("/api/admin/milestones/modify", json={"id": str(milestone["id"]), **change}, headers=TOKEN)
        current.update(effect)
        assert response.get_json() == {"code": 200, "message": "Milestone successfully modified.", "milestone": current}
        assert pages.of("milestoneModify") == [{"type": "milestoneModify", "milestone": current}]

    listed = client.get("/api/statistics/milestones").get_json()
    assert listed == [current, second]  # id order
    assert client.get("/api/statistics/milestones?reached=1").get_json() == [second]
    assert client.get("/api/statistics/milestones?reached=0").get_json() == [current]
    assert client.get(f"/api/statistics/milestones?sound_id={sound_id}").get_json() == [second]
    assert client.get("/api/statistics/milestones?reached=abc&sound_id=").get_json() == listed  # not numbers: ignored

    deleted = client.delete("/api/admin/milestones/delete", json={"id": str(milestone["id"])}, headers=TOKEN)
    assert deleted.get_json() == {"code": 200, "message": "Milestone successfully deleted.", "milestone": current}
    assert pages.of("milestoneDelete") == [{"type": "milestoneDelete", "milestone": current}]

    # Deleting the sound leaves the milestone without one (ON DELETE SET NULL), and answers with the sound.
    gone = client.delete("/api/admin/sounds/delete", json={"id": str(sound_id)}, headers=TOKEN).get_json()
    assert gone["code"] == 200 and gone["message"] == "Sound successfully deleted." and gone["sound"]["id"] == sound_id
    assert client.get("/api/statistics/milestones").get_json() == [{**second, "sound_id": None}]


def test_milestone_errors_match_the_original(client, audio_file):
    sound_id = _sound(client, audio_file, "boom", displayname="Boom", source="Season 1")["id"]
    first = client.post("/api/admin/milestones/add", json={"count": 100}, headers=TOKEN).get_json()["milestone"]
    add, modify, remove = "/api/admin/milestones/add", "/api/admin/milestones/modify", "/api/admin/milestones/delete"
    cases = [
        (client.post, add, {}, 400, "Invalid count", "Milestone count must be provided."),
        (client.post, add, {"count": ""}, 400, "Invalid count", "Milestone count must be provided."),
        (client.post, add, {"count": "many"}, 400, "Invalid count", "Milestone count must be an integer."),
        (client.post, add, {"count": 100}, 400, "Invalid count", "Milestone with submitted count already exists."),
        (client.post, add, {"count": 5, "reached": "yes"}, 400, "Invalid status", "Milestone reached status must be an integer if provided."),
        (client.post, add, {"count": 5, "reached": 2}, 400, "Invalid status", "Milestone reached status must be an integer of either 0 or 1 if provided."),
        (client.post, add, {"count": 5, "reached": True}, 400, "Invalid status", "Milestone reached status must be an integer of either 0 or 1 if provided."),
        (client.post, add, {"count": 5, "timestamp": "noon"}, 400, "Invalid timestamp", "Milestone timestamp must be an integer if provided."),
        # Beyond 64 bits: refused for every JSON body by the input guard, in this family's format.
        (client.post, add, {"count": 5, "timestamp": 10**30}, 400, "Bad request", "The timestamp field must be between -9223372036854775808 and 9223372036854775807."),
        (client.post, add, {"count": 5, "sound_id": "boom"}, 400, "Invalid sound", "Milestone sound_id must be an integer if provided."),
        (client.post, add, {"count": 5, "sound_id": sound_id + 99}, 400, "Invalid sound", "Sound ID must match a sound on the site."),
        (client.patch, modify, {"count": 5}, 400, "Invalid milestone", "Milestone ID must be provided."),
        (client.patch, modify, {"id": "first", "count": 5}, 400, "Invalid milestone", "Milestone ID must be an integer."),
        (client.patch, modify, {"id": first["id"] + 99, "count": 5}, 404, "Invalid milestone", "Milestone not found."),
        (client.patch, modify, {"id": first["id"]}, 400, "Invalid parameters", "At least one property to modify must be provided."),
        (client.patch, modify, {"id": first["id"], "count": ""}, 400, "Invalid count", "Milestone count must be an integer."),
        (client.patch, modify, {"id": first["id"], "sound_id": sound_id + 99}, 400, "Invalid sound", "Sound ID must match a sound on the site."),
        (client.delete, remove, {}, 400, "Invalid milestone", "Milestone ID must be provided."),
        (client.delete, remove, {"id": "x"}, 400, "Invalid milestone", "Milestone ID must be an integer."),
        (client.delete, remove, {"id": first["id"] + 99}, 404, "Invalid milestone", "Milestone not found."),
    ]
    for method, path, body, status, name, message in cases:
        _error(method(path, json=body, headers=TOKEN), status, name, message)
    assert client.get("/api/statistics/milestones").get_json() == [first]


def test_ids_beyond_the_id_column_name_nothing_on_every_database(client, audio_file):
    """PostgreSQL refuses such a value outright ("integer out of range"), SQLite finds no row: both
    answer as for any id that names nothing."""
    sound = _sound(client, audio_file, "boom", displayname="Boom", source="Season 1")
    milestone = client.post("/api/admin/milestones/add", json={"count": 100, "sound_id": sound["id"]}, headers=TOKEN).get_json()["milestone"]
    beyond = 2**31  # fits in 64 bits, not in an id column
    for value in (beyond, str(beyond), -beyond, 2**63 - 1):
        _error(client.patch("/api/admin/sounds/modify", json={"id": value, "displayname": "x"}, headers=TOKEN), 404, "Invalid sound", "Sound not found.")
        _error(client.patch("/api/admin/sounds/modify", json={"id": value, "filename": "boom"}, headers=TOKEN), 400, "Invalid filename", "Sound filename already in use.")
        _error(client.delete("/api/admin/sounds/delete", json={"id": value}, headers=TOKEN), 404, "Invalid sound", "Sound not found.")
        _error(client.delete(f"/api/admin/sounds/delete?id={value}", headers=TOKEN), 404, "Invalid sound", "Sound not found.")
        _error(client.patch("/api/admin/milestones/modify", json={"id": value, "count": 5}, headers=TOKEN), 404, "Invalid milestone", "Milestone not found.")
        _error(client.delete("/api/admin/milestones/delete", json={"id": value}, headers=TOKEN), 404, "Invalid milestone", "Milestone not found.")
        _error(client.post("/api/admin/milestones/add", json={"count": 5, "sound_id": value}, headers=TOKEN), 400, "Invalid sound", "Sound ID must match a sound on the site.")
        _error(client.patch("/api/admin/milestones/modify", json={"id": milestone["id"], "sound_id": value}, headers=TOKEN), 400, "Invalid sound", "Sound ID must match a sound on the site.")
        listed = client.get(f"/api/statistics/milestones?sound_id={value}")
        assert listed.status_code == 200 and listed.get_json() == []
    assert client.get("/api/sounds").get_json() == [sound]
    assert client.get("/api/statistics/milestones").get_json() == [milestone]


# --- 5. login, logout, config ----------------------------------------------------------------


def test_login_session_and_logout(client):
    _error(client.post("/api/login", json={"token": "wrong"}), 401, "Access denied", "Invalid token provided.")
    _error(client.post("/api/login", json={}), 401, "Access denied", "Invalid token provided.")
    _error(client.get("/api/admin/config"), 401, "Access denied", "Invalid token provided.")
    logged_in = client.post("/api/login", json={"token": "test-soundboard-token"})
    assert logged_in.status_code == 200 and logged_in.get_json() == {"code": 200, "message": "Successfully logged in!"}
    config = client.get("/api/admin/config")  # the original admin page sends no token here: the session
    assert config.status_code == 200 and list(config.get_json()) == ["updateInterval", "socketConnections", "requestsPerMinute", "responseInterval"]
    sent = client.post("/api/admin/notification", json={"text": "hi", "duration": 2})
    assert sent.status_code == 200
    logged_out = client.get("/api/admin/logout", headers=TOKEN)
    assert logged_out.get_json() == {"code": 200, "message": "Successfully logged out!"}
    _error(client.get("/api/admin/config"), 401, "Access denied", "Invalid token provided.")
    assert client.post("/api/login", data={"token": "test-soundboard-token"}).status_code == 200  # form-encoded too
    assert client.get("/api/admin/config").status_code == 200


def test_login_is_refused_without_a_configured_token(app_factory):
    client = app_factory(SOUNDBOARD_ADMIN_TOKEN=None).test_client()
    _error(client.post("/api/login", json={"token": ""}), 401, "Access denied", "Invalid token provided.")
    _error(client.post("/api/login", json={"token": "None"}), 401, "Access denied", "Invalid token provided.")


def test_config_defaults_come_from_the_configuration(app_factory):
    client = app_factory(CLICK_RATE_LIMIT="20/second", WS_CONNECTIONS_PER_ADDRESS=20).test_client()
    assert client.get("/api/admin/config", headers=TOKEN).get_json() == {
        "updateInterval": 1,
        "socketConnections": 20,
        "requestsPerMinute": 1200,
        "responseInterval": 50,
    }
    unlimited = app_factory(CLICK_RATE_LIMIT="", WS_CONNECTIONS_PER_ADDRESS=0, SOUNDBOARD_RESPONSE_INTERVAL_MS=0).test_client()
    assert unlimited.get("/api/admin/config", headers=TOKEN).get_json() == {
        "updateInterval": 1,
        "socketConnections": -1,
        "requestsPerMinute": -1,
        "responseInterval": -1,
    }


@pytest.mark.parametrize(
    ("path", "field", "message", "good", "bad", "error"),
    [
        ("updateinterval", "interval", "Update interval successfully updated", ["15", 1],
         ["0", "-1", "soon", "", None], ("Invalid interval", "Update interval must be any integer above 0.")),
        ("responseinterval", "interval", "Response interval successfully updated", ["250", "-1"],
         ["0", "-2", "fast", None], ("Invalid interval", "Response interval must be either -1 or any number above 0.")),
        ("connectionlimit", "connections", "Connection limit successfully updated", ["2", "-1"],
         ["0", "-5", "many", None], ("Invalid limit", "Connections limit must be either -1 or any number above 0.")),
        ("connections", "connections", "Connection limit successfully updated", ["3"],
         ["0"], ("Invalid limit", "Connections limit must be either -1 or any number above 0.")),
        ("ratelimit", "ratelimit", "Click ratelimit successfully updated", ["120", "-1"],
         ["0", "-3", "lots", None], ("Invalid ratelimit", "Ratelimit must be either -1 or any number above 0.")),
    ],
)
def test_config_changes_validate_and_answer_as_the_original(client, path, field, message, good, bad, error):
    for value in good:
        response = client.patch(f"/api/admin/config/{path}", json={field: value}, headers=TOKEN)
        assert response.status_code == 200
        assert response.get_json() == {"code": 200, "message": message, field: int(value)}
    for value in bad:
        _error(client.patch(f"/api/admin/config/{path}", json={field: value}, headers=TOKEN), 400, *error)


def test_config_overrides_reach_every_process_through_the_database(app, client, app_factory, monkeypatch):
    with app.app_context():
        assert services.effective_live_settings() == {
            "click_rate_limit": app.config["CLICK_RATE_LIMIT"],
            "ws_connections_per_address": app.config["WS_CONNECTIONS_PER_ADDRESS"],
            "response_interval_ms": 50,
        }
    for path, field, value in (("ratelimit", "ratelimit", "120"), ("connectionlimit", "connections", "-1"),
                               ("responseinterval", "interval", "250"), ("updateinterval", "interval", "30")):
        assert client.patch(f"/api/admin/config/{path}", data={field: value}, headers=TOKEN).status_code == 200
    expected = {"click_rate_limit": "120/minute", "ws_connections_per_address": None, "response_interval_ms": 250}
    with app.app_context():
        assert services.effective_live_settings() == expected  # the process that stored them: at once
    other = app_factory()  # another worker or server on the same database
    assert services.effective_live_settings(other) == expected  # outside any app context too
    assert other.test_client().get("/api/admin/config", headers=TOKEN).get_json() == {
        "updateInterval": 30, "socketConnections": -1, "requestsPerMinute": 120, "responseInterval": 250,
    }
    # A change made elsewhere is seen once the few seconds a process keeps them are over.
    assert other.test_client().patch("/api/admin/config/connectionlimit", json={"connections": 4}, headers=TOKEN).status_code == 200
    with app.app_context():
        assert services.effective_live_settings()["ws_connections_per_address"] is None
        later = services.time.monotonic() + services.LIVE_SETTINGS_MAX_AGE + 1
        monkeypatch.setattr(services.time, "monotonic", lambda: later)
        assert services.effective_live_settings()["ws_connections_per_address"] == 4
        assert db.session.scalar(select(func.count()).select_from(SoundboardSetting)) == 4


def test_live_settings_fall_back_to_the_configuration_on_a_database_not_migrated(tmp_path):
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "i"), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.db'}",
                      "MEDIA_ROOT": str(tmp_path / "m"), "CLICK_RATE_LIMIT": "5/second", "WS_CONNECTIONS_PER_ADDRESS": 7})
    assert services.effective_live_settings(app) == {"click_rate_limit": "5/second", "ws_connections_per_address": 7, "response_interval_ms": 50}


# --- 6. filters ------------------------------------------------------------------------------


def test_sound_filters_as_the_original(client, audio_file):
    made = [
        _sound(client, audio_file, "a", displayname="A", source="Season 1", count="5"),
        _sound(client, audio_file, "b", displayname="B", source="Season 2", count="50"),
        _sound(client, audio_file, "c", displayname="C", source="season 2", count="500", theme="aqua"),
        _sound(client, audio_file, "d", displayname="D", count="7"),
    ]

    def names(query: str) -> list[str]:
        response = client.get(f"/api/sounds{query}")
        assert response.status_code == 200
        return [sound["filename"] for sound in response.get_json()]

    assert client.get("/api/sounds").get_json() == made
    assert all(isinstance(sound["source"], str) for sound in made)  # the original's pages call .replace() on it
    assert names("?source=SEASON%202") == ["b", "c"]
    assert names("?source=Season 2&theme=megumin") == ["b"]
    assert names("?source=no-source") == []
    assert names("?theme=aqua") == ["c"]
    assert names("?over=6&under=500") == ["b", "d"]
    assert names("?equals=50&over=100") == ["b"]  # equals wins
    assert names("?equals=0") == ["a", "b", "c", "d"]  # 0 is "not given" there too
    _error(client.get("/api/sounds?under=lots"), 400, "Invalid range", 'The "over", "under" and "equals" parameters must be numbers.')
    _error(client.get("/api/sounds?over=10&under=5"), 400, "Invalid range", 'The "under" parameter must be bigger than the "over" parameter.')


def _days(app, rows: dict[date, int]) -> None:
    with app.app_context():
        # Today's row may be there already: made when the app started (on a migrated database).
        db.session.execute(delete(DailyStatistic).where(DailyStatistic.date.in_(list(rows))))
        for day, count in rows.items():
            db.session.add(DailyStatistic(date=day, count=count))
        db.session.commit()


def test_statistics_and_chart_data_as_the_original(client, app):
    today = datetime.now(UTC).date()
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    two_back = (last_month - timedelta(days=1)).replace(day=1)
    _days(app, {two_back: 100, two_back + timedelta(days=1): 20, last_month: 5})
    stats = client.get("/api/statistics").get_json()
    assert [row["date"] for row in stats] == [two_back.isoformat(), (two_back + timedelta(days=1)).isoformat(), last_month.isoformat(), today.isoformat()]
    assert all(list(row) == ["id", "date", "count"] and isinstance(row["id"], int) for row in stats)
    assert stats[-1]["count"] == 0  # today's row, before any click
    assert client.get(f"/api/statistics?from={last_month}").get_json() == stats[2:]
    assert client.get(f"/api/statistics?to={last_month}").get_json() == stats[:3]
    assert client.get(f"/api/statistics?from={two_back}&to={two_back}").get_json() == stats[:1]
    assert client.get("/api/statistics?over=10&under=100").get_json() == [stats[1]]
    assert client.get("/api/statistics?equals=5").get_json() == [stats[2]]

    chart = client.get("/api/statistics/chartData").get_json()
    assert chart == [
        {"month": two_back.strftime("%Y-%m"), "count": 120},
        {"month": last_month.strftime("%Y-%m"), "count": 5},
        {"month": this_month.strftime("%Y-%m"), "count": 0},
    ]
    assert all(list(row) == ["month", "count"] for row in chart)
    assert client.get(f"/api/statistics/chartData?from={last_month:%Y-%m}").get_json() == chart[1:]
    assert client.get(f"/api/statistics/chartData?to={last_month:%Y-%m}").get_json() == chart[:2]
    assert client.get(f"/api/statistics/chartData?from={two_back:%Y-%m}&to={two_back:%Y-%m}").get_json() == chart[:1]
    assert client.get("/api/statistics/chartData?over=4&under=100").get_json() == [chart[1]]

    tomorrow, next_month = today + timedelta(days=1), (this_month + timedelta(days=32)).replace(day=1)
    for path, fmt in (("/api/statistics", "yyyy-MM-dd"), ("/api/statistics/chartData", "yyyy-MM")):
        for bad in ("from=yesterday", "to=2024-13", "from=2024-02-30"):
            _error(client.get(f"{path}?{bad}"), 400, "Wrong Format", f"Dates must be provided in {fmt} format.")
        future = tomorrow.isoformat() if fmt == "yyyy-MM-dd" else next_month.strftime("%Y-%m")
        _error(client.get(f"{path}?to={future}"), 400, "Invalid timespan", "Dates may not be in the future.")
        _error(client.get(f"{path}?from={last_month:%Y-%m}&to={two_back:%Y-%m}"), 400, "Invalid timespan", "The start date must be before the end date.")
        _error(client.get(f"{path}?equals=some"), 400, "Invalid range", 'The "over", "under" and "equals" parameters must be numbers.')
        _error(client.get(f"{path}?over=9&under=3"), 400, "Invalid range", 'The "under" parameter must be bigger than the "over" parameter.')


# --- 7. today's row and the summary ----------------------------------------------------------


def test_todays_statistics_row_exists_from_start_up(app, app_factory):
    today = datetime.now(UTC).date()
    with app.app_context():
        db.session.execute(delete(DailyStatistic))
        db.session.commit()
    started = app_factory()  # a process starting on a migrated database; no request yet
    with started.app_context():
        assert db.session.execute(select(DailyStatistic.date, DailyStatistic.count)).all() == [(today, 0)]
        threads = [threading.Thread(target=services.make_todays_statistics_at_startup, args=(started,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert db.session.scalar(select(func.count()).select_from(DailyStatistic)) == 1


def test_start_up_on_a_database_not_migrated_yet_is_quiet(empty_database_url, tmp_path):  # noqa: F811
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "i"), "SQLALCHEMY_DATABASE_URI": empty_database_url, "MEDIA_ROOT": str(tmp_path / "m")})
    with app.app_context():
        upgrade()  # and the app it made still migrates the database
        db.engine.dispose()


def test_summary_average_is_this_months_clicks_over_its_statistics_days(client, app):
    today = datetime.now(UTC).date()
    month_start = today.replace(day=1)
    before = month_start - timedelta(days=1)
    rows = {before: 1000, today: 3} | ({month_start: 2} if today != month_start else {})
    _days(app, rows)
    summary = client.get("/api/statistics/summary").get_json()
    assert list(summary) == ["alltime", "daily", "weekly", "monthly", "yearly", "average"]
    assert all(type(value) is int for value in summary.values())
    days = 2 if today != month_start else 1  # last month's day is not this month's
    assert summary["daily"] == 3 and summary["monthly"] == (5 if days == 2 else 3)
    assert summary["average"] == 3  # 5 / 2 = 2.5 rounds up, as Math.round (Python's round gives 2)
    with app.app_context():
        assert services.summary_and_days() == (summary, days)


@pytest.mark.parametrize(("monthly", "days", "average"), [(5, 2, 3), (7, 2, 4), (1, 3, 0), (2, 4, 1), (0, 1, 0), (26462, 6, 4410), (9, 0, 9)])
def test_daily_average_rounds_as_javascript(monthly, days, average):
    assert services.daily_average(monthly, days) == average


# --- 8. unknown routes -----------------------------------------------------------------------


def test_unknown_soundboard_routes_answer_the_originals_404(client):
    for path in ("/api/admin/whatever", "/api/admin/sounds/rename", "/api/statistics/nope", "/api/sounds/x", "/api/meta/x", "/api/login/x", "/api/counter/2"):
        _error(client.get(path), 404, "Invalid route", "Endpoint not found.")
    _error(client.post("/api/admin/whatever", headers={}), 404, "Invalid route", "Endpoint not found.")  # before any token check
    # The rest of /api/ is the AnimeThemes-style API, with its own format.
    for path in ("/api/audio/nope", "/api/nothing", "/api/soundsystem", "/api/administration"):
        response = client.get(path)
        assert response.status_code == 404 and set(response.get_json()) == {"message"}, path
    assert client.get("/api/soundsystem").get_json() == {"message": "Not Found"}
    assert client.get("/api/audio").get_json()["audios"] == []


# --- 9. 403 for a logged-in non-admin --------------------------------------------------------


def test_a_logged_in_non_admin_gets_403(client, app):
    _log_in(client, app, admin=False)
    forbidden = {"code": 403, "name": "Access denied", "message": "Only admins may use this endpoint."}
    for method, path in (("get", "/api/admin/config"), ("post", "/api/admin/notification"), ("post", "/api/admin/milestones/add"),
                         ("patch", "/api/admin/config/ratelimit"), ("delete", "/api/admin/sounds/delete"), ("get", "/api/admin/logout")):
        response = getattr(client, method)(path, json={})
        assert response.status_code == 403 and response.get_json() == forbidden, path
    assert client.get("/api/admin/config", headers=TOKEN).status_code == 200  # the token still works for them


def test_csrf_for_session_calls_and_not_for_the_raw_token(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    assert client.post("/api/login", json={"token": "test-soundboard-token"}).status_code == 200  # exempt
    note = {"text": "hi", "duration": 1}
    refused = client.post("/api/admin/notification", json=note)
    assert refused.status_code == 400 and refused.get_json()["code"] == 400 and "CSRF" in refused.get_json()["message"]
    assert client.post("/api/admin/notification", json=note, headers=TOKEN).status_code == 200  # as the original page
    page = client.get("/soundboard").get_data(as_text=True)
    csrf_token = page.split('name="csrf-token" content="')[1].split('"')[0]
    assert client.post("/api/admin/notification", json=note, headers={"X-CSRFToken": csrf_token}).status_code == 200  # our pages
    assert client.get("/api/admin/config").status_code == 200  # reads need none
    # The original admin page, logged in by /api/login, sends neither token: the browser's own
    # Sec-Fetch-Site says the call comes from this site's pages, which no other site can claim.
    assert client.post("/api/admin/notification", json=note, headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200
    for elsewhere in ("cross-site", "same-site", "none"):
        assert client.post("/api/admin/notification", json=note, headers={"Sec-Fetch-Site": elsewhere}).status_code == 400
    admin_client = app.test_client()
    _log_in(admin_client, app, admin=True)
    assert admin_client.post("/api/admin/notification", json=note).status_code == 400
    assert admin_client.post("/api/admin/notification", json=note, headers=TOKEN).status_code == 200


# --- 10. the original admin page, request by request -----------------------------------------


def test_the_original_admin_page_works_unchanged(client, app, audio_file):
    assert client.post("/api/login", json={"token": "test-soundboard-token"}).status_code == 200
    assert client.get("/api/admin/config").status_code == 200
    # Upload: multipart, Authorization from localStorage, count left out when empty.
    uploaded = _upload(client, audio_file, filename="explosion", displayname="Explosion!", source="Kurenai Densetsu (Movie)", count="", theme="megumin")
    sound = uploaded.get_json()["sound"]
    assert uploaded.get_json() == {"code": 200, "message": "Sound successfully uploaded.", "sound": {
        "id": sound["id"], "filename": "explosion", "displayname": "Explosion!", "source": "Kurenai Densetsu (Movie)", "count": 0, "theme": "megumin"}}
    assert client.get(_client_url(sound)).status_code == 200
    # Modify and delete: JSON with every value a string.
    modified = client.patch("/api/admin/sounds/modify", json={"id": str(sound["id"]), "displayname": "Boom!", "count": "42"}, headers=TOKEN)
    assert modified.get_json() == {"code": 200, "message": "Sound successfully modified.", "sound": {**sound, "displayname": "Boom!", "count": 42}}
    renamed = client.patch("/api/admin/sounds/modify", json={"id": str(sound["id"]), "filename": "boom", "source": "Season 3"}, headers=TOKEN)
    assert client.get(_client_url(renamed.get_json()["sound"])).status_code == 200
    milestone = client.post("/api/admin/milestones/add", json={"count": "100", "sound_id": str(sound["id"])}, headers=TOKEN).get_json()["milestone"]
    assert milestone["sound_id"] == sound["id"]
    assert client.patch("/api/admin/milestones/modify", json={"id": str(milestone["id"]), "reached": "1"}, headers=TOKEN).get_json()["milestone"]["reached"] == 1
    assert client.delete("/api/admin/milestones/delete", json={"id": str(milestone["id"])}, headers=TOKEN).get_json()["milestone"]["id"] == milestone["id"]
    for path, field, value in (("updateinterval", "interval", "15"), ("responseinterval", "interval", "-1"),
                               ("connections", "connections", "5"), ("ratelimit", "ratelimit", "600")):
        assert client.patch(f"/api/admin/config/{path}", json={field: value}, headers=TOKEN).get_json()["code"] == 200
    assert client.get("/api/admin/config").get_json() == {"updateInterval": 15, "socketConnections": 5, "requestsPerMinute": 600, "responseInterval": -1}
    deleted = client.delete("/api/admin/sounds/delete", json={"id": str(sound["id"])}, headers=TOKEN)
    assert deleted.get_json()["sound"]["filename"] == "boom"
    assert client.get("/api/admin/database/save", headers=TOKEN).get_json() == {"code": 200, "message": "Database successfully updated."}
    assert client.get("/api/admin/logout", headers=TOKEN).get_json()["code"] == 200


def test_sound_modify_and_delete_errors_match_the_original(client, audio_file):
    one = _sound(client, audio_file, "one", displayname="One", source="Season 1")
    _sound(client, audio_file, "two", displayname="Two", source="Season 1")
    modify, remove = "/api/admin/sounds/modify", "/api/admin/sounds/delete"
    cases = [
        (client.patch, modify, {"id": one["id"], "filename": " "}, 400, "Invalid filename", "Sound filename may not be an empty string if provided."),
        (client.patch, modify, {"id": one["id"], "filename": "two"}, 400, "Invalid filename", "Sound filename already in use."),
        (client.patch, modify, {"id": one["id"], "count": "lots"}, 400, "Invalid count", "Sound click count must be an integer if provided."),
        (client.patch, modify, {"id": one["id"], "count": ""}, 400, "Invalid count", "Sound click count must be an integer if provided."),
        (client.patch, modify, {"id": "one", "displayname": "x"}, 400, "Invalid sound", "Sound ID must be an integer."),
        (client.patch, modify, {"id": one["id"] + 99, "displayname": "x"}, 404, "Invalid sound", "Sound not found."),
        (client.patch, modify, {"displayname": "x"}, 400, "Invalid sound", "Sound ID must be provided."),
        (client.patch, modify, {"id": one["id"]}, 400, "Invalid parameters", "At least one property to modify must be provided."),
        (client.delete, remove, {}, 400, "Invalid sound", "Sound ID must be provided."),
        (client.delete, remove, {"id": "x"}, 400, "Invalid sound", "Sound ID must be an integer."),
        (client.delete, remove, {"id": one["id"] + 99}, 404, "Invalid sound", "Sound not found."),
    ]
    for method, path, body, status, name, message in cases:
        _error(method(path, json=body, headers=TOKEN), status, name, message)
    same = client.patch(modify, json={"id": one["id"], "filename": "one"}, headers=TOKEN)  # its own name is not "in use"
    assert same.status_code == 200 and same.get_json()["sound"] == one


def test_our_admin_pages_still_work_with_the_new_shapes(client, app, audio_file):
    sound = _sound(client, audio_file, "boom", displayname="Boom", source="Season 1")
    client.post("/api/admin/milestones/add", json={"count": 10, "reached": 1}, headers=TOKEN)  # reached without a timestamp
    _log_in(client, app, admin=True)
    assert "reached" in client.get("/soundboard/statistics").get_data(as_text=True)
    assert client.get("/soundboard/admin/milestones").status_code == 200
    # What static/js/soundboard.js sends from our admin pages (session, WTF CSRF off in tests).
    assert client.patch("/api/admin/sounds/modify", json={"id": sound["id"], "displayname": "Boom", "source": "", "theme": "megumin", "count": "3"}).status_code == 200
    milestone_id = client.get("/api/statistics/milestones").get_json()[0]["id"]
    assert client.patch("/api/admin/milestones/modify", json={"id": str(milestone_id), "count": "20"}).get_json()["milestone"]["count"] == 20
    assert client.delete("/api/admin/milestones/delete", json={"id": str(milestone_id)}).status_code == 200
    assert client.post("/api/admin/notification", json={"text": "hi", "duration": "10"}).status_code == 200
    assert client.delete("/api/admin/sounds/delete", json={"id": sound["id"]}).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Milestone)) == 0
