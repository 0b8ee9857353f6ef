"""Hostile input answers a 4xx in the caller's format (503 when the database is down), never 500.

Runs on SQLite, and on PostgreSQL with TEST_DATABASE_URL (where NUL bytes and 32-bit id columns
are refused by the database itself, so the guards must stop them first).
"""
from __future__ import annotations

import io
import re

import pytest

from blueprints.common.errors import SOUNDBOARD, TRACKS, family_for
from tests.factories import user_with_token
from tests.servers import free_port

HUGE = "9" * 30  # beyond 64 bits
SOUNDBOARD_TOKEN = {"Authorization": "test-soundboard-token"}


def assert_caller_format(response, path: str, statuses=range(400, 500)) -> None:
    """The status is in range and the body is the error shape of the family ``path`` belongs to."""
    assert response.status_code in statuses, (path, response.status_code, response.get_data(as_text=True)[:300])
    family = family_for(path)
    if family is None and path in ("/healthz", "/ping"):
        assert set(response.get_json()) in ({"status", "message"}, {"status", "checks"})  # checks: /healthz's report
    elif family is None:
        assert response.mimetype == "text/html"
        assert "Traceback" not in response.get_data(as_text=True)
    elif family is TRACKS:
        body = response.get_json()
        assert body["ok"] is False and body["message"] and body["api_request_id"] == response.headers["X-Api-Request-Id"]
    elif family is SOUNDBOARD:
        body = response.get_json()
        assert body["code"] == response.status_code and body["name"] and body["message"]
    else:
        body = response.get_json()
        assert set(body) <= {"message", "errors"} and body["message"]


@pytest.fixture()
def tokens(app):
    return {"user": user_with_token(app)[1], "admin": user_with_token(app, admin=True)[1]}


# --- integers beyond 64 bits ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"/api/audio?page[number]={HUGE}",
        f"/api/audio?filter[size-gt]={HUGE}",
        f"/api/audio?filter[audio_id]={HUGE}",
        f"/api/audio?filter[audio_id]={2**40}",  # fits 64 bits, not the 32-bit id column
        f"/api/video?filter[resolution-lte]=-{HUGE}",
        f"/api/playlist?page[number]={HUGE}",
        f"/api/image/{HUGE}",
        f"/api/image/{2**40}",
        f"/images/{HUGE}",
        f"/audio?page={HUGE}",
        f"/images?page={HUGE}",
        f"/playlists?page={HUGE}",
    ],
)
def test_huge_integers_in_urls(client, url):
    assert_caller_format(client.get(url), url.split("?")[0])


def test_huge_page_number_on_an_admin_page(app, client):
    from tests.factories import login, make_user

    with app.app_context():
        make_user("pagesadmin", admin=True)
    login(client, "pagesadmin")
    assert_caller_format(client.get(f"/admin/catalogue/audio?page={HUGE}"), "/admin/catalogue/audio", {404})
    assert client.get("/admin/catalogue/audio?page=2").status_code == 200


def test_huge_integers_in_tracks_v1_paging(client, tokens):
    for url in (f"/v1/collection?offset={HUGE}", f"/v1/creator?limit={HUGE}", f"/v1/collection?offset={2**40}"):
        response = client.get(url, headers=tokens["user"])
        assert_caller_format(response, "/v1/collection")
        assert response.status_code == 400


def test_huge_integers_in_json_bodies(client, tokens):
    playlist = client.post("/api/playlist", json={"name": "mine", "visibility": 0}, headers=tokens["user"]).get_json()["playlist"]
    tracks = f"/api/playlist/{playlist['id']}/track"
    for body in (f'{{"audio_id": {HUGE}}}', f'{{"audio_id": {2**40}}}', f'{{"audio_id": 1, "video_id": -{HUGE}}}'):
        response = client.post(tracks, data=body, content_type="application/json", headers=tokens["user"])
        assert_caller_format(response, tracks, {422})
    audio = {"basename": "a", "filename": "a.ogg", "path": "/a", "mimetype": "audio/ogg"}
    for size in (HUGE, f'"{HUGE}"'):
        body = '{"basename": "a", "filename": "a.ogg", "path": "/a", "mimetype": "audio/ogg", "size": %s}' % size
        response = client.post("/api/audio", data=body, content_type="application/json", headers=tokens["admin"])
        assert_caller_format(response, "/api/audio", {422})
    assert client.post("/api/audio", json={**audio, "size": 2**62}, headers=tokens["admin"]).status_code == 201
    response = client.post("/api/admin/milestones/add", data=f'{{"count": {HUGE}}}', content_type="application/json", headers=SOUNDBOARD_TOKEN)
    assert_caller_format(response, "/api/admin/milestones/add", {400})
    response = client.delete(f"/api/admin/sounds/delete?id={HUGE}", headers=SOUNDBOARD_TOKEN)
    assert_caller_format(response, "/api/admin/sounds/delete", {400, 404})


def test_numbers_json_does_not_allow_are_refused(client, tokens):
    for body in ('{"name": "x", "visibility": NaN}', '{"name": "x", "visibility": Infinity}', '{"name": "x", "visibility": 1e999}'):
        response = client.post("/api/playlist", data=body, content_type="application/json", headers=tokens["user"])
        assert_caller_format(response, "/api/playlist", {400, 422})


# --- deeply nested JSON ------------------------------------------------------------------------


def _json_endpoints(app):
    """(path with sample parameters, method) for every write route of the three API families."""
    for rule in app.url_map.iter_rules():
        if family_for(rule.rule) is None:
            continue
        path = re.sub(r"<int:[^>]+>", "1", rule.rule)
        path = re.sub(r"<[^>]+>", "x", path)
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"}):
            yield path, method


def test_deeply_nested_json_on_every_json_endpoint(app, client, tokens):
    deep = "[" * 100_000 + "]" * 100_000
    nested_refusals = 0
    endpoints = list(_json_endpoints(app))
    assert len(endpoints) > 40
    for path, method in endpoints:
        for who in ({}, tokens["user"], tokens["admin"], SOUNDBOARD_TOKEN):
            response = client.open(path, method=method, data=deep, content_type="application/json", headers=who)
            assert_caller_format(response, path)
            nested_refusals += b"nested deeper" in response.data
    assert nested_refusals >= 10  # the parser, not only authentication, answered


def test_json_bodies_have_a_size_limit(client, tokens):
    body = '{"name": "x", "visibility": 0, "description": "%s"}' % ("a" * 2 * 1024 * 1024)
    response = client.post("/api/playlist", data=body, content_type="application/json", headers=tokens["user"])
    assert_caller_format(response, "/api/playlist", {413})


# --- NUL bytes and lone surrogates -------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/audio?filter[basename]=a%00b",
        "/api/audio?include=videos%00",
        "/api/audio/a%00b",
        "/api/playlist?filter[name-like]=%00",
        "/api/sounds?theme=%00",
        "/api/statistics?from=%00",
        "/audio?q=a%00b",
        "/playlists?q=%00",
        "/audio/a%00b",
        "/soundboard?theme=%00",
    ],
)
def test_nul_in_query_or_path(client, url):
    response = client.get(url)
    assert_caller_format(response, url.split("?")[0])


def test_nul_in_tracks_v1_query(client, tokens):
    response = client.get("/v1/collection?limit=%00", headers=tokens["user"])
    assert_caller_format(response, "/v1/collection", {400})


@pytest.mark.parametrize("character", ["\\u0000", "\\ud800", "\\udfff"])
def test_unstorable_characters_in_json_names(client, tokens, character):
    name = f'"a{character}b"'
    cases = [
        ("/api/playlist", tokens["user"], '{"name": %s, "visibility": 0}' % name),
        ("/api/playlist", tokens["user"], '{"name": "ok", "visibility": 0, %s: 1}' % name),  # in a key
        ("/api/anime", tokens["admin"], '{"name": %s, "slug": "slug"}' % name),
        ("/v1/collection", tokens["user"], '{"title": %s}' % name),
        ("/v1/creator", tokens["user"], '{"name": "c", "metadata": {"deep": [%s]}}' % name),
        ("/api/admin/notification", SOUNDBOARD_TOKEN, '{"text": %s}' % name),
        ("/api/soundboard/click", {}, '{"type": "sbClick", "soundFilename": %s}' % name),
    ]
    for path, headers, body in cases:
        response = client.post(path, data=body, content_type="application/json", headers=headers)
        assert_caller_format(response, path, {400, 422})
        assert b"NUL characters or unpaired surrogates" in response.data, path


def test_unstorable_characters_in_forms(app, client, tokens):
    from tests.factories import login, make_user

    with app.app_context():
        make_user("formuser")
    login(client, "formuser")
    response = client.post("/playlists", data={"name": "a\x00b", "visibility": "0"})
    assert_caller_format(response, "/playlists", {422})
    upload = client.post(
        "/api/audio",
        data={"file": (io.BytesIO(b"ID3"), "a\x00.mp3")},
        content_type="multipart/form-data",
        headers=tokens["admin"],
    )
    assert_caller_format(upload, "/api/audio", {422})


@pytest.mark.parametrize("part", ["name=\"a\\\"", "filename=\"a.mp3\""])  # an unterminated name, no name at all
def test_a_form_part_without_a_readable_name(client, tokens, part):
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; {part}\r\n\r\nvalue\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="filename"\r\n\r\nlaugh\r\n--{boundary}--\r\n'
    )
    for path, headers in (("/api/admin/sounds/upload", SOUNDBOARD_TOKEN), ("/api/audio", tokens["admin"]), ("/v1/collection", tokens["user"])):
        response = client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}", headers=headers)
        assert_caller_format(response, path, {400, 422})
        assert b"must have a name" in response.data, path


# --- bodies over the upload limit --------------------------------------------------------------


def test_oversized_uploads_answer_413_in_the_callers_format(client, tokens):
    sixty_mb = b"\xff\xfb" + bytes(60 * 1024 * 1024)
    response = client.post(
        "/admin/sounds/upload",
        data={"file": (io.BytesIO(sixty_mb), "big.mp3"), "filename": "big"},
        content_type="multipart/form-data",
        headers=SOUNDBOARD_TOKEN,
    )
    assert_caller_format(response, "/admin/sounds/upload", {413})
    assert response.get_json()["name"] == "File too large"
    response = client.post(
        "/api/audio", data={"file": (io.BytesIO(sixty_mb), "big.mp3")}, content_type="multipart/form-data", headers=tokens["admin"]
    )
    assert_caller_format(response, "/api/audio", {413})


# --- the database is down ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["postgresql+psycopg://postgres@127.0.0.1:{port}/themeboard", "sqlite:///{tmp}/no/such/directory/themeboard.db"],
    ids=["postgresql-closed-port", "sqlite-unopenable"],
)
def test_database_down_answers_503_with_retry_after(tmp_path, url):
    from tests.conftest import make_app

    app = make_app(tmp_path, SQLALCHEMY_DATABASE_URI=url.format(port=free_port(), tmp=tmp_path))
    client = app.test_client()
    headers = {"Authorization": "Bearer not-checked-without-a-database"}
    for path, extra in (
        ("/healthz", {}),
        ("/api/audio", {}),
        ("/api/me", headers),
        ("/v1/collection", headers),
        ("/api/counter", {}),
        ("/audio", {}),
        ("/playlists", {}),
    ):
        response = client.get(path, headers=extra)
        assert_caller_format(response, path, {503})
        assert response.headers["Retry-After"].isdigit()
    health = client.get("/healthz").get_json()
    assert health["status"] == "down" and health["checks"]["database"]["status"] == "down"
    click = client.post("/api/soundboard/click", json={"type": "click", "soundFilename": "laugh"})
    assert_caller_format(click, "/api/soundboard/click", {503})


# --- audio that is also a ZIP ------------------------------------------------------------------


def _append_zip(data: bytes) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hidden.txt", "payload " * 100)
    polyglot = data + buffer.getvalue()
    assert zipfile.is_zipfile(io.BytesIO(polyglot))
    return polyglot


def test_every_upload_path_refuses_audio_with_a_zip_appended(client, tokens, audio_file):
    mp3 = _append_zip(audio_file("mp3").read_bytes())
    sound = client.post(
        "/admin/sounds/upload",
        data={"file": (io.BytesIO(mp3), "zip.mp3"), "filename": "zipped"},
        content_type="multipart/form-data",
        headers=SOUNDBOARD_TOKEN,
    )
    assert sound.status_code == 400
    assert sound.get_json() == {"code": 400, "name": "Invalid file", "message": "An mp3 file must be provided."}

    flac = _append_zip(audio_file("flac").read_bytes())
    catalogue = client.post("/api/audio", data={"file": (io.BytesIO(flac), "zip.flac")}, content_type="multipart/form-data", headers=tokens["admin"])
    assert catalogue.status_code == 422 and re.search("after the end|followed by other data", catalogue.get_json()["message"])

    collection = client.post("/v1/collection", json={"title": "c"}, headers=tokens["user"]).get_json()["collection_id"]
    created = client.post("/v1/track", json={"collection_id": collection, "file_name": "zip.ogg"}, headers=tokens["user"]).get_json()
    upload_url = created["track_upload"]["upload_url"].replace("http://localhost", "")
    refused = client.put(upload_url, data=_append_zip(audio_file("ogg").read_bytes()), content_type="application/octet-stream")
    assert refused.status_code == 400 and "after the end of its audio stream" in refused.get_json()["message"]
    track = client.get(f"/v1/track/{created['track_id']}", headers=tokens["user"]).get_json()["track"]
    assert track["status"] == "error" and "after the end" in track["error"]
