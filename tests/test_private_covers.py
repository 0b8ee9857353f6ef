"""Covers of private and unlisted playlists are their owner's: no list, show, include or gallery shows them to others."""
from __future__ import annotations

import pytest

from blueprints.catalogue import services as catalogue
from blueprints.playlists import services
from demo.images import cover
from extensions import db
from models.playlist import PRIVATE, PUBLIC, UNLISTED, Playlist
from tests.factories import bearer, login, make_token, make_user

KINDS = ("private", "unlisted", "public", "catalogue")


@pytest.fixture()
def world(app):
    """An owner's three playlists with a cover each, a catalogue image, and the people looking."""
    with app.app_context():
        owner, stranger, admin = make_user("owner"), make_user("stranger"), make_user("boss", admin=True)
        images, playlists = {}, {}
        for kind, visibility in (("private", PRIVATE), ("unlisted", UNLISTED), ("public", PUBLIC)):
            playlist = services.create_playlist(owner, {"name": f"{kind} list", "visibility": visibility})
            image = catalogue.store_image_bytes(cover(kind, 32), "Cover", f"cover/{kind}-cover.png")
            services.set_cover(db.session.get(Playlist, playlist.id), image)
            images[kind], playlists[kind] = (image.id, image.path), playlist.public_id
        image = catalogue.store_image_bytes(cover("anime", 32), "Cover", "cover/catalogue-cover.png")
        images["catalogue"] = (image.id, image.path)
        headers = {name: bearer(make_token(user)) for name, user in (("owner", owner), ("stranger", stranger), ("admin", admin))}
    headers["anonymous"] = {}
    return {"images": images, "playlists": playlists, "headers": headers}


def _expected(viewer: str) -> set[str]:
    return set(KINDS) if viewer == "owner" else {"public", "catalogue"}


@pytest.mark.parametrize("viewer", ["anonymous", "stranger", "admin", "owner"])
def test_image_api_lists_and_shows_only_what_the_caller_may_see(client, world, viewer):
    headers, images = world["headers"][viewer], world["images"]
    listed = {image["image_id"] for image in client.get("/api/image?page[size]=100", headers=headers).get_json()["images"]}
    assert listed == {images[kind][0] for kind in _expected(viewer)}
    for kind in KINDS:
        shown = client.get(f"/api/image/{images[kind][0]}?include=playlists", headers=headers)
        assert shown.status_code == (200 if kind in _expected(viewer) else 404), kind
    # Filters and sorts cannot pull a hidden one out either.
    by_path = client.get("/api/image?filter[path-like]=cover/%25&sort=-image_id", headers=headers).get_json()["images"]
    assert {image["path"] for image in by_path} == {images[kind][1] for kind in _expected(viewer)}


@pytest.mark.parametrize("viewer", ["anonymous", "stranger", "boss", "owner"])
def test_files_of_private_covers_are_the_owners(app, world, viewer):
    """Files are fetched by browsers, so by session (a page ignores bearer tokens)."""
    client, images = app.test_client(), world["images"]
    if viewer != "anonymous":
        login(client, viewer)
    for kind in KINDS:
        # The unlisted playlist's page shows its cover to anyone with the link, so its file is served.
        allowed = kind in _expected(viewer) or kind == "unlisted"
        for suffix in ("", "?w=64"):
            response = client.get(f"/stream/image/{images[kind][1]}{suffix}")
            assert response.status_code == (200 if allowed else 404), (kind, suffix)


def test_a_playlist_one_may_open_includes_its_own_cover(client, world):
    stranger = world["headers"]["stranger"]
    unlisted = client.get(f"/api/playlist/{world['playlists']['unlisted']}?include=images", headers=stranger)
    assert [image["image_id"] for image in unlisted.get_json()["playlist"]["images"]] == [world["images"]["unlisted"][0]]
    assert client.get(f"/api/playlist/{world['playlists']['private']}?include=images", headers=stranger).status_code == 404
    # Public lists with includes of images never surface the hidden covers; going back to
    # playlists from there is outside the include allow-list (upstream's PlaylistSchema).
    assert client.get("/api/playlist?include=images.playlists", headers=stranger).status_code == 422
    body = client.get("/api/playlist?include=images", headers=stranger).get_data(as_text=True)
    assert world["images"]["public"][1] in body
    assert world["images"]["private"][1] not in body and world["images"]["unlisted"][1] not in body


def test_gallery_pages_and_admin_writes(app, world):
    images = world["images"]
    for name in ("stranger", "boss", "owner"):
        client = app.test_client()
        login(client, name)
        gallery = client.get("/images").get_data(as_text=True)
        viewer = "owner" if name == "owner" else "other"
        for kind in KINDS:
            visible = kind in _expected(viewer)
            assert (images[kind][1] in gallery) == visible, (name, kind)
            assert client.get(f"/images/{images[kind][0]}").status_code == (200 if visible else 404), (name, kind)
        if name == "boss":
            admin_list = client.get("/admin/catalogue/image").get_data(as_text=True)
            assert images["public"][1] in admin_list and images["private"][1] not in admin_list
    anonymous = app.test_client().get("/images").get_data(as_text=True)
    assert images["private"][1] not in anonymous and images["unlisted"][1] not in anonymous
    admin = world["headers"]["admin"]
    hidden = images["private"][0]
    assert app.test_client().patch(f"/api/image/{hidden}", json={"facet": "Grill"}, headers=admin).status_code == 404
    assert app.test_client().delete(f"/forceDelete/image/{hidden}", headers=admin).status_code == 404


def test_making_a_playlist_public_shows_its_cover(client, world):
    stranger, owner = world["headers"]["stranger"], world["headers"]["owner"]
    private_image = world["images"]["private"][0]
    assert client.get(f"/api/image/{private_image}", headers=stranger).status_code == 404
    client.patch(f"/api/playlist/{world['playlists']['private']}", json={"visibility": PUBLIC}, headers=owner)
    assert client.get(f"/api/image/{private_image}", headers=stranger).status_code == 200
