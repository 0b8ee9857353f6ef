"""The catalogue's pages: audio browser (full page and htmx fragment), detail, gallery, admin."""
from __future__ import annotations

import io

from sqlalchemy import select

from extensions import db
from models.catalogue import Audio
from tests.factories import login, make_user


def _seed(app, runner):
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output


def test_audio_browser_page_and_fragment(app, client, runner):
    _seed(app, runner)
    page = client.get("/audio")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html and "StarlightDrive-OP1" in html and "<audio" in html
    fragment = client.get("/audio?q=neon", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert "<html" not in text and "NeonSamurai-OP1" in text and "StarlightDrive" not in text
    assert "HX-Request" in fragment.headers["Vary"]
    boosted = client.get("/audio?q=neon", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)
    flac_only = client.get("/audio?format=flac").get_data(as_text=True)
    assert "StarlightDrive-ED1" in flac_only and "StarlightDrive-OP1" not in flac_only
    assert "No audio matches" in client.get("/audio?q=zzzz").get_data(as_text=True)
    largest = client.get("/audio?sort=-size").get_data(as_text=True)
    assert largest.index("audio-row") > 0


def test_audio_detail_and_gallery(app, client, runner):
    _seed(app, runner)
    detail = client.get("/audio/NeonSamurai-OP1").get_data(as_text=True)
    assert "Neon Samurai" in detail and "kbit/s" in detail and "NeonSamurai-OP1-NCBD720" in detail
    assert client.get("/audio/missing").status_code == 404
    gallery = client.get("/images?facet=Cover").get_data(as_text=True)
    from blueprints.catalogue.seed import ANIME

    assert gallery.count('class="image-card"') == len(ANIME)  # one cover per demo anime
    with app.app_context():
        from models.catalogue import Image

        image_id = db.session.scalar(select(Image.id).where(Image.facet == "Grill"))
    assert "Artist:" in client.get(f"/images/{image_id}").get_data(as_text=True)


def test_admin_pages_need_an_admin(app, client):
    assert client.get("/admin/catalogue/audio").status_code == 302
    with app.app_context():
        make_user("plain")
    login(client, "plain")
    assert client.get("/admin/catalogue/audio").status_code == 403


def test_admin_create_edit_trash_restore_force_delete(app, client, audio_file):
    with app.app_context():
        make_user("boss", admin=True)
    login(client, "boss")
    for name in ("audio", "video", "image", "anime", "artist", "studio"):
        assert client.get(f"/admin/catalogue/{name}").status_code == 200
    invalid = client.post("/admin/catalogue/anime/new", data={"name": "", "slug": "bad slug"})
    assert invalid.status_code == 422 and "The name field is required." in invalid.get_data(as_text=True)
    created = client.post("/admin/catalogue/anime/new", data={"name": "Hibike", "slug": "hibike", "year": "2015", "season": "Spring"})
    assert created.status_code == 303
    client.post("/admin/catalogue/anime/hibike/edit", data={"name": "Hibike! Euphonium", "slug": "hibike", "year": "2015"})
    assert "Hibike! Euphonium" in client.get("/admin/catalogue/anime").get_data(as_text=True)
    # Upload through the same API the page's progress-bar form uses (session + CSRF off in tests).
    upload = client.post("/api/audio", data={"file": (io.BytesIO(audio_file("mp3").read_bytes()), "clip.mp3")})
    assert upload.status_code == 201
    client.post("/admin/catalogue/audio/clip/delete")
    assert "clip" in client.get("/admin/catalogue/audio?trashed=1").get_data(as_text=True)
    client.post("/admin/catalogue/audio/clip/restore")
    assert client.get("/stream/audio/clip.mp3").status_code == 200
    client.post("/admin/catalogue/audio/clip/force-delete")
    with app.app_context():
        assert db.session.scalar(select(Audio)) is None
    assert client.post("/admin/catalogue/nothing/x/delete").status_code == 404
