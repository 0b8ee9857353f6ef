"""The catalogue's AnimeThemes-style API against the spec documents' examples and rules."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from extensions import db
from media.storage import get_storage
from models.catalogue import Anime, Audio, Image, Studio, Video
from tests.factories import user_with_token
from tests.storage_backends import both_storages

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
SPEC_AUDIO = {
    "basename": "CowboyBebop-OP1",
    "filename": "CowboyBebop-OP1.ogg",
    "path": "/audio/CowboyBebop-OP1.ogg",
    "size": 5242880,
    "mimetype": "audio/ogg",
}


@pytest.fixture()
def admin(app):
    return user_with_token(app, admin=True)[1]


@pytest.fixture()
def bebop(app, client, admin):
    """The spec's example: an audio with two videos, an image with anime and studio."""
    assert client.post("/api/audio", json=SPEC_AUDIO, headers=admin).status_code == 201
    with app.app_context():
        audio = db.session.scalar(select(Audio))
        anime = Anime(name="Cowboy Bebop", slug="cowboy_bebop", year=1998, season="Spring")
        studio = Studio(name="Sunrise", slug="sunrise")
        image = Image(path="anime/cowboy_bebop_cover.jpg", facet="Cover")
        db.session.add_all([anime, studio, image])
        db.session.flush()
        db.session.refresh(image, ["anime", "studios", "artists"])
        image.anime.append(anime)
        image.studios.append(studio)
        db.session.add_all(
            [
                Video(basename="CowboyBebop-OP1", filename="CowboyBebop-OP1.webm", path="/v/a.webm", size=1, resolution=1080, source="BD", audio_id=audio.id, anime_id=anime.id),
                Video(basename="CowboyBebop-OP1-NCBD720", filename="CowboyBebop-OP1-NCBD720.webm", path="/v/b.webm", size=1, resolution=720, source="BD", audio_id=audio.id),
            ]
        )
        db.session.commit()
        return {"audio_id": audio.id, "image_id": image.id}


def test_list_audio_with_videos_matches_the_spec_example(client, bebop):
    body = client.get("/api/audio?include=videos&page[size]=10").get_json()
    assert list(body) == ["audios", "links", "meta"]
    audio = body["audios"][0]
    assert list(audio) == [
        "audio_id", "basename", "filename", "path", "size", "mimetype", "link", "created_at", "updated_at", "videos"
    ]
    assert {k: audio[k] for k in SPEC_AUDIO} == SPEC_AUDIO
    assert audio["audio_id"] == bebop["audio_id"]
    assert audio["link"] == "http://localhost/stream/audio/CowboyBebop-OP1.ogg"
    assert ISO.match(audio["created_at"]) and ISO.match(audio["updated_at"])
    assert [(v["video_id"], v["basename"], v["resolution"], v["source"]) for v in audio["videos"]] == [
        (1, "CowboyBebop-OP1", 1080, "BD"),
        (2, "CowboyBebop-OP1-NCBD720", 720, "BD"),
    ]
    assert audio["videos"][0]["link"] == "http://localhost/stream/video/CowboyBebop-OP1.webm"
    assert body["links"] == {
        "first": "http://localhost/api/audio?include=videos&page[size]=10&page[number]=1",
        "last": None,
        "prev": None,
        "next": None,
    }
    assert body["meta"] == {"current_page": 1, "from": 1, "to": 1, "path": "http://localhost/api/audio", "per_page": 10}


def test_show_audio_matches_the_spec_example(client, bebop):
    body = client.get("/api/audio/CowboyBebop-OP1?include=videos").get_json()
    assert list(body) == ["audio"]
    assert body["audio"]["basename"] == "CowboyBebop-OP1"
    assert body["audio"]["videos"][0]["filename"] == "CowboyBebop-OP1.webm"
    missing = client.get("/api/audio/Nope")
    assert missing.status_code == 404 and missing.get_json()["message"].startswith("No query results for model [Audio]")


def test_image_examples(client, bebop):
    body = client.get("/api/image?include=anime,artists&filter[facet]=Cover&page[size]=10").get_json()
    image = body["images"][0]
    assert list(image)[:4] == ["image_id", "path", "facet", "link"]
    assert image["path"] == "anime/cowboy_bebop_cover.jpg" and image["facet"] == "Cover"
    assert image["link"] == "http://localhost/stream/image/anime/cowboy_bebop_cover.jpg"
    assert image["anime"][0]["name"] == "Cowboy Bebop" and image["anime"][0]["slug"] == "cowboy_bebop"
    assert image["artists"] == []
    show = client.get(f"/api/image/{bebop['image_id']}?include=anime,artists,studios").get_json()["image"]
    assert show["anime"][0]["year"] == 1998
    assert show["studios"] == [
        {"studio_id": show["studios"][0]["studio_id"], "name": "Sunrise", "slug": "sunrise",
         "created_at": show["studios"][0]["created_at"], "updated_at": show["studios"][0]["updated_at"]}
    ]
    assert client.get("/api/image?filter[facet]=Grill").get_json()["images"] == []
    assert client.get("/api/image/abc").status_code == 404


def _make_audios(app, count: int) -> None:
    with app.app_context():
        db.session.add_all(
            Audio(basename=f"Theme-{n:03d}", filename=f"Theme-{n:03d}.ogg", path=f"/audio/Theme-{n:03d}.ogg", size=n * 100, mimetype="audio/ogg" if n % 2 else "audio/flac")
            for n in range(1, count + 1)
        )
        db.session.commit()


def test_pagination_links_and_meta(client, app):
    _make_audios(app, 35)
    first = client.get("/api/audio?filter[mimetype]=audio/ogg&page[size]=5").get_json()
    assert first["meta"]["from"] == 1 and first["meta"]["to"] == 5
    assert first["links"]["next"] == "http://localhost/api/audio?filter[mimetype]=audio/ogg&page[size]=5&page[number]=2"
    last = client.get("/api/audio?filter[mimetype]=audio/ogg&page[size]=5&page[number]=4").get_json()
    assert len(last["audios"]) == 3 and last["links"]["next"] is None
    assert last["links"]["prev"].endswith("page[number]=3")
    assert last["meta"] == {"current_page": 4, "from": 16, "to": 18, "path": "http://localhost/api/audio", "per_page": 5}
    past = client.get("/api/audio?page[number]=99").get_json()
    assert past["audios"] == [] and past["meta"]["from"] is None and past["links"]["next"] is None
    assert len(client.get("/api/audio").get_json()["audios"]) == 15


def test_sort_filter_fields(client, app):
    _make_audios(app, 12)
    by_size = client.get("/api/audio?sort=-size,basename&fields[audio]=basename,size").get_json()["audios"]
    assert by_size[0] == {"basename": "Theme-012", "size": 1200}
    assert [a["size"] for a in by_size] == sorted((a["size"] for a in by_size), reverse=True)
    assert len(client.get("/api/audio?filter[size-gte]=1000").get_json()["audios"]) == 3
    assert len(client.get("/api/audio?filter[size-lt]=300").get_json()["audios"]) == 2
    assert len(client.get("/api/audio?filter[basename]=Theme-001,Theme-002").get_json()["audios"]) == 2
    assert len(client.get("/api/audio?filter[basename-ne]=Theme-001,Theme-002").get_json()["audios"]) == 10
    assert len(client.get("/api/audio?filter[basename-like]=theme-01%").get_json()["audios"]) == 3
    assert len(client.get("/api/audio?filter[basename-notlike]=Theme-01%").get_json()["audios"]) == 9
    assert len(client.get("/api/audio?filter[created_at-lte]=2999-01-01").get_json()["audios"]) == 12
    assert len(client.get("/api/audio?sort=random").get_json()["audios"]) == 12
    assert len(client.get("/api/audio?whatever=1").get_json()["audios"]) == 12  # parameters outside the query language are ignored
    for invalid in ("filter[unknown]=x", "filter[size-zz]=1", "filter[basename-gt]=a", "sort=,,,", "sort=size,", "include=,", "page[bogus]=1"):
        response = client.get(f"/api/audio?{invalid}")
        assert response.status_code == 422, invalid
        assert set(response.get_json()) == {"message", "errors"}
    with_deleted = client.get("/api/audio?fields[audio]=basename,deleted_at&page[size]=1").get_json()["audios"][0]
    assert with_deleted == {"basename": "Theme-001", "deleted_at": None}


@pytest.mark.parametrize(
    ("query", "key", "message"),
    [
        ("include=nope", "include", "The selected include is invalid."),
        ("include=videos.nope", "include", "The selected include is invalid."),
        ("sort=nope", "sort", "The selected sort is invalid."),
        ("page[size]=101", "page.size", "The page.size must not be greater than 100."),
        ("page[size]=0", "page.size", "The page.size must be at least 1."),
        ("page[size]=abc", "page.size", "The page.size must be an integer."),
        ("page[number]=0", "page.number", "The page.number must be at least 1."),
        ("fields[audio]=basename,nope", "fields.audio", "The selected fields.audio is invalid."),
        ("filter[size]=big", "filter.size", "The filter.size must be an integer."),
        ("filter[size-like]=1", "filter.size-like", "The like operator is not supported for size."),
        ("filter[created_at]=yesterday", "filter.created_at", "The filter.created_at must be a valid date."),
        ("filter[trashed]=maybe", "filter.trashed", "The selected filter.trashed is invalid."),
    ],
)
def test_invalid_parameters_answer_422(client, query, key, message):
    response = client.get(f"/api/audio?{query}")
    assert response.status_code == 422
    assert response.get_json() == {"message": message, "errors": {key: [message]}}


def test_nested_includes_and_fields_per_type(client, bebop):
    # Audio allows only "videos" (upstream's AudioSchema); a video goes on to its anime's images.
    assert client.get("/api/audio?include=videos.anime").status_code == 422
    body = client.get("/api/video?include=anime.images&fields[video]=basename&fields[anime]=name&fields[image]=facet&sort=basename").get_json()
    videos = body["videos"]
    assert videos[0] == {"basename": "CowboyBebop-OP1", "anime": {"name": "Cowboy Bebop", "images": [{"facet": "Cover"}]}}
    assert videos[1]["anime"] is None
    anime = client.get("/api/anime?include=images,studios,videos").get_json()["anime"][0]
    assert anime["images"][0]["facet"] == "Cover" and anime["studios"] == [] and len(anime["videos"]) == 1
    assert client.get("/api/video/CowboyBebop-OP1?include=audio").get_json()["video"]["audio"]["basename"] == "CowboyBebop-OP1"
    assert client.get("/api/studio?include=images,anime").status_code == 200
    assert client.get("/api/artist").get_json()["artists"] == []


def test_list_query_count_does_not_grow(client, app, count_queries, bebop):
    _make_audios(app, 60)
    with app.app_context():
        anime_id = db.session.scalar(select(Anime.id))
        for audio_id in range(2, 60):
            db.session.add(Video(basename=f"v{audio_id}", filename=f"v{audio_id}.webm", path="/v", size=1, audio_id=audio_id, anime_id=anime_id))
        db.session.commit()
    counts = []
    for size in (5, 50):
        with count_queries() as queries:
            body = client.get(f"/api/video?include=audio,anime.images&page[size]={size}").get_json()
        assert len(body["videos"]) == size and any(video["anime"] and video["anime"]["images"] for video in body["videos"])
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 5  # data versions, page, audio, anime, images


def test_writes_need_an_admin(client, app, bebop):
    _, user = user_with_token(app)
    for method, url in [
        ("post", "/api/audio"), ("put", "/api/audio/CowboyBebop-OP1"), ("delete", "/api/audio/CowboyBebop-OP1"),
        ("patch", "/restore/audio/CowboyBebop-OP1"), ("delete", "/forceDelete/audio/CowboyBebop-OP1"),
        ("post", "/api/image"), ("post", "/api/anime"), ("put", "/api/video/CowboyBebop-OP1"),
    ]:
        anonymous = getattr(client, method)(url, json={})
        assert anonymous.status_code == 401 and anonymous.get_json() == {"message": "Unauthenticated"}, url
        forbidden = getattr(client, method)(url, json={}, headers=user)
        assert forbidden.status_code == 403 and forbidden.get_json() == {"message": "This action is unauthorized"}, url


def test_create_update_validation(client, admin, bebop):
    missing = client.post("/api/audio", json={"basename": "x"}, headers=admin)
    assert missing.status_code == 422
    assert missing.get_json()["errors"]["filename"] == ["The filename field is required."]
    taken = client.post("/api/audio", json=SPEC_AUDIO, headers=admin)
    assert taken.get_json()["errors"] == {"basename": ["The basename has already been taken."]}
    bad_types = client.put("/api/audio/CowboyBebop-OP1", json={"size": "big", "mimetype": 3}, headers=admin)
    assert bad_types.status_code == 422
    assert bad_types.get_json()["errors"] == {"size": ["The size field must be an integer."], "mimetype": ["The mimetype field must be a string."]}
    # A write answers with the row it wrote, whatever filter[trashed] the caller sent along.
    created = client.post("/api/artist?filter[trashed]=only", json={"name": "Kalafina", "slug": "kalafina"}, headers=admin)
    assert created.status_code == 201 and created.get_json()["artist"]["slug"] == "kalafina"
    # JSON types, as documented: a number in a string or a boolean in a string is not one.
    as_text = client.put("/api/audio/CowboyBebop-OP1", json={"size": "42"}, headers=admin)
    assert as_text.get_json()["errors"] == {"size": ["The size field must be an integer."]}
    as_text = client.post("/api/video", json={"basename": "v", "filename": "v.webm", "path": "/v", "size": 1, "mimetype": "video/webm", "nc": "true"}, headers=admin)
    assert as_text.get_json()["errors"] == {"nc": ["The nc field must be true or false."]}
    not_json = client.put("/api/audio/CowboyBebop-OP1", data="nope", headers={**admin, "Content-Type": "application/json"})
    assert not_json.status_code == 422
    updated = client.put("/api/audio/CowboyBebop-OP1", json={"size": 42}, headers=admin)
    assert updated.status_code == 200 and updated.get_json()["audio"]["size"] == 42
    renamed = client.put("/api/audio/CowboyBebop-OP1", json={"basename": "CowboyBebop-OP1v2"}, headers=admin)
    assert renamed.get_json()["audio"]["basename"] == "CowboyBebop-OP1v2"
    assert client.post("/api/image", json={"path": "a.png", "facet": "Poster"}, headers=admin).get_json()["errors"] == {
        "facet": ["The selected facet is invalid."]
    }
    created = client.post("/api/image", json={"path": "a.png", "facet": "Grill"}, headers=admin)
    assert created.status_code == 201 and created.get_json()["image"]["facet"] == "Grill"


@both_storages
def test_soft_delete_restore_force_delete(client, app, admin, audio_file):
    upload = client.post(
        "/api/audio", data={"file": (io.BytesIO(audio_file("ogg").read_bytes()), "my theme.ogg")}, headers=admin
    )
    assert upload.status_code == 201
    audio = upload.get_json()["audio"]
    assert audio["basename"] == "my-theme" and audio["mimetype"] == "audio/ogg" and audio["filename"] == "my-theme.ogg"
    assert client.get("/stream/audio/my-theme.ogg").status_code == 200

    deleted = client.delete("/api/audio/my-theme", headers=admin)
    assert deleted.status_code == 200 and deleted.get_json()["audio"]["basename"] == "my-theme"
    # Upstream's AudioShowTest "soft delete": the show endpoint still shows a soft-deleted row.
    trashed = client.get("/api/audio/my-theme?fields[audio]=basename,deleted_at").get_json()
    assert ISO.match(trashed["audio"]["deleted_at"])
    assert client.get("/api/audio").get_json()["audios"] == []
    assert client.get("/stream/audio/my-theme.ogg").status_code == 404
    assert len(client.get("/api/audio?filter[trashed]=only").get_json()["audios"]) == 1
    assert len(client.get("/api/audio?filter[trashed]=with").get_json()["audios"]) == 1

    restored = client.patch("/restore/audio/my-theme", headers=admin)
    assert restored.status_code == 200 and "deleted_at" not in restored.get_json()["audio"]
    # Upstream's AudioRestoreTest "trashed": restoring a row that is not deleted succeeds.
    assert client.patch("/restore/audio/my-theme", headers=admin).status_code == 200
    assert client.get("/stream/audio/my-theme.ogg").status_code == 200

    with app.app_context():
        assert get_storage().keys("audio/") == ["audio/my-theme.ogg"]
    gone = client.delete("/forceDelete/audio/my-theme", headers=admin)
    assert gone.get_json() == {"message": "Audio 'my-theme' was deleted."}
    with app.app_context():
        assert get_storage().keys("audio/") == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Audio)) == 0


@both_storages
def test_uploads_accept_only_real_audio_and_images(client, app, admin, tmp_path):
    fake = client.post("/api/audio", data={"file": (io.BytesIO(b"ID3 not really" * 100), "song.mp3")}, headers=admin)
    assert fake.status_code == 422 and "MP3" in fake.get_json()["message"]
    no_file = client.post("/api/audio", data={"basename": "x"}, headers=admin, content_type="multipart/form-data")
    assert no_file.get_json()["errors"] == {"file": ["The file field is required."]}
    not_image = client.post("/api/image", data={"file": (io.BytesIO(b"GIF89a broken"), "a.gif"), "facet": "Cover"}, headers=admin)
    assert not_image.status_code == 422
    from demo.images import cover

    good = client.post("/api/image", data={"file": (io.BytesIO(cover("x", 64)), "whatever.bin"), "facet": "Small Cover"}, headers=admin)
    assert good.status_code == 201
    image = good.get_json()["image"]
    assert image["path"].startswith("small_cover/") and image["path"].endswith(".png")
    assert client.get(image["link"].replace("http://localhost", "")).status_code == 200
    thumb = client.get(image["link"].replace("http://localhost", "") + "?w=32")
    assert thumb.status_code == 200 and len(thumb.data) > 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Audio)) == 0
        staging = list((tmp_path / "media" / ".staging").iterdir())
        assert staging == []


@both_storages
def test_stream_supports_ranges(client, admin, audio_file):
    data = audio_file("flac").read_bytes()
    client.post("/api/audio", data={"file": (io.BytesIO(data), "range.flac")}, headers=admin)
    part = client.get("/stream/audio/range.flac", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.data == data[:100] and part.headers["Content-Type"] == "audio/flac"
    assert client.get("/stream/audio/range.flac", headers={"Range": f"bytes={len(data) + 10}-"}).status_code == 416


def test_cached_pages_follow_every_write_and_answer_304(client, app, admin, count_queries):
    _make_audios(app, 3)
    first = client.get("/api/audio?sort=basename")
    etag = first.headers["ETag"]
    assert client.get("/api/audio?sort=basename", headers={"If-None-Match": etag}).status_code == 304
    with count_queries() as queries:
        again = client.get("/api/audio?sort=basename")
    assert again.get_json() == first.get_json() and len(queries) == 1  # only the version check
    client.put("/api/audio/Theme-001", json={"size": 7}, headers=admin)
    changed = client.get("/api/audio?sort=basename", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.get_json()["audios"][0]["size"] == 7
    # A write made with a plain statement (not through the ORM) invalidates too.
    with app.app_context():
        from sqlalchemy import update as sql_update

        db.session.execute(sql_update(Audio).where(Audio.basename == "Theme-002").values(size=99))
        db.session.commit()
    assert client.get("/api/audio?sort=basename").get_json()["audios"][1]["size"] == 99


def test_cached_pages_depend_only_on_the_tables_they_read(client, app, admin, count_queries):
    """A playlist write leaves /api/audio pages cached; a write to audio or to an included table
    (videos) invalidates them, and a page reading playlists (images' covers) follows playlists."""
    _make_audios(app, 2)
    _, user = user_with_token(app)
    plain = client.get("/api/audio?sort=basename")
    with_videos = client.get("/api/audio?include=videos")
    playlist = client.post("/api/playlist", json={"name": "Mix", "visibility": 0}, headers=user).get_json()["playlist"]
    with app.app_context():
        first_audio = db.session.scalar(select(Audio.id).order_by(Audio.id))
    assert client.post(f"/api/playlist/{playlist['id']}/track", json={"audio_id": first_audio}, headers=user).status_code == 201
    for url, earlier in (("/api/audio?sort=basename", plain), ("/api/audio?include=videos", with_videos)):
        with count_queries() as queries:
            again = client.get(url, headers={"If-None-Match": earlier.headers["ETag"]})
        assert again.status_code == 304 and len(queries) == 1  # still cached: only the version check
    with app.app_context():
        db.session.add(Video(basename="Theme-001-NC", filename="Theme-001-NC.webm", path="/v", audio_id=first_audio))
        db.session.commit()
    assert client.get("/api/audio?sort=basename", headers={"If-None-Match": plain.headers["ETag"]}).status_code == 304
    changed = client.get("/api/audio?include=videos", headers={"If-None-Match": with_videos.headers["ETag"]})
    assert changed.status_code == 200 and [v["basename"] for v in changed.get_json()["audios"][0]["videos"]] == ["Theme-001-NC"]
    # Deleting the audio cascades to the playlist's tracks in the database: their pages follow.
    tracks = client.get(f"/api/playlist/{playlist['id']}/track")
    assert len(tracks.get_json()["tracks"]) == 1
    client.delete("/forceDelete/audio/Theme-001", headers=admin)
    assert client.get(f"/api/playlist/{playlist['id']}/track").get_json()["tracks"] == []
