"""Page forms answer with fragments: inline errors (422 not audio, 413 over the limit, a taken
basename, a blank title, a milestone that is not a number), success messages and lists that
refresh; without JavaScript they still work (303 after success, the page again on error)."""
from __future__ import annotations

import io

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
