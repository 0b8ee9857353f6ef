"""Every unsafe route × every kind of caller, with the exact status each gets; then private and
unlisted data looked for by everyone but its owner on every list, include, search, export and page.

The table must name every POST/PUT/PATCH/DELETE route of ``app.url_map``: a new route fails
``test_every_unsafe_route_is_in_the_table`` until its row says who may call it.

Callers: API-family routes get the users' bearer tokens, pages get their sessions (pages ignore
bearer tokens). "user" owns every target; "other" is a second plain user; "admin" an admin; the
revoked and expired tokens are the user's; "soundboard" sends the raw SOUNDBOARD_ADMIN_TOKEN.
Each request gets fresh targets, so a successful delete never changes the next caller's answer.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Callable
from urllib.parse import urlsplit

import pytest

from blueprints.accounts import services as accounts
from blueprints.catalogue import services as catalogue
from blueprints.common.errors import family_for
from blueprints.playlists import services as playlists
from blueprints.soundboard import services as soundboard
from blueprints.tracks import services as tracks
from demo.images import cover
from extensions import db
from models.catalogue import Audio
from models.playlist import PRIVATE, PUBLIC, UNLISTED, Playlist
from models.soundboard import Milestone
from models.user import ApiToken, User
from tests.factories import PASSWORD, bearer, login, make_token, make_user

CALLERS = ("anonymous", "user", "other", "admin", "revoked", "expired", "soundboard")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
SOUNDBOARD_TOKEN = "test-soundboard-token"

# A logged-in non-admin (session or bearer token) on the soundboard admin routes: 403 since main's
# soundboard compatibility work (it was 401); one place for every such cell.
SOUNDBOARD_NON_ADMIN = 403


def expect(anonymous, user, other, admin, revoked, expired, soundboard_token) -> dict[str, int]:
    return dict(zip(CALLERS, (anonymous, user, other, admin, revoked, expired, soundboard_token)))


def anyone(status):
    return expect(status, status, status, status, status, status, status)


def api_owner(ok, stranger):
    """Owner-only API writes: no token 401, the owner ``ok``, anyone else ``stranger``."""
    return expect(401, ok, stranger, stranger, 401, 401, 401)


def api_signed_in(ok):
    return expect(401, ok, ok, ok, 401, 401, 401)


def api_admin(ok):
    return expect(401, 403, 403, ok, 401, 401, 401)


def page_owner(ok, stranger):
    """Pages: no session is a redirect to the log-in page (302), tokens count for nothing."""
    return expect(302, ok, stranger, stranger, 302, 302, 302)


def page_signed_in(ok):
    return expect(302, ok, ok, ok, 302, 302, 302)


def page_admin(ok):
    return expect(302, 403, 403, ok, 302, 302, 302)


def soundboard_admin(ok):
    return expect(401, SOUNDBOARD_NON_ADMIN, SOUNDBOARD_NON_ADMIN, ok, 401, 401, ok)


@dataclass
class World:
    """Who is calling, inside one test's app (call builders inside an app context)."""

    app: object
    user_id: int
    headers: dict[str, dict[str, str]]
    counter: int = 0

    @property
    def user(self) -> User:
        return db.session.get(User, self.user_id)

    def unique(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"


Build = Callable[[World], tuple[str, dict]]


@dataclass
class Row:
    method: str
    rule: str
    build: Build
    expected: dict[str, int]


# --- builders: each makes fresh targets owned by "user" and returns (url, request kwargs) -----


def _playlist(w: World, visibility: int = PUBLIC, tracks_count: int = 0) -> Playlist:
    playlist = playlists.create_playlist(w.user, {"name": w.unique("list"), "visibility": visibility})
    for _ in range(tracks_count):
        playlists.add_track(playlist, {"audio_id": _audio(w).id})
    return playlist


def _audio(w: World) -> Audio:
    name = w.unique("a")
    return catalogue.create(catalogue.AUDIO, {"basename": name, "filename": f"{name}.ogg", "path": f"/{name}.ogg", "size": 1, "mimetype": "audio/ogg"})


CATALOGUE_BODIES = {
    "audio": lambda n: {"basename": n, "filename": f"{n}.ogg", "path": f"/{n}.ogg", "size": 1, "mimetype": "audio/ogg"},
    "video": lambda n: {"basename": n, "filename": f"{n}.webm", "path": f"/{n}.webm", "size": 1, "mimetype": "video/webm"},
    "image": lambda n: {"path": f"cover/{n}.png", "facet": "Cover"},
    "anime": lambda n: {"name": n, "slug": n},
    "artist": lambda n: {"name": n, "slug": n},
    "studio": lambda n: {"name": n, "slug": n},
    "series": lambda n: {"name": n, "slug": n},
    "song": lambda n: {"title": n},
    "animesynonym": lambda n: {"text": n, "anime_id": _catalogue_row("anime", n).id},
    "animetheme": lambda n: {"type": "OP", "anime_id": _catalogue_row("anime", n).id},
    "animethemeentry": lambda n: {"theme_id": catalogue.create(catalogue.ANIMETHEME, CATALOGUE_BODIES["animetheme"](n)).id},
}


def _catalogue_row(name: str, n: str):
    """A parent row a body refers to (inside the builder's app context)."""
    return catalogue.create(catalogue.RESOURCES[name], CATALOGUE_BODIES[name](f"{n}-{name}"))


def _catalogue_item(w: World, name: str, *, trashed: bool = False):
    resource = catalogue.RESOURCES[name]
    instance = catalogue.create(resource, CATALOGUE_BODIES[name](w.unique(name[:2])))
    if trashed:
        catalogue.soft_delete(instance)
    return resource.key_of(instance)


def _collection(w: World):
    return tracks.create_collection(w.user, {"title": w.unique("c")})


def _track(w: World):
    return tracks.create_track(w.user, {"collection_id": str(_collection(w).id), "file_name": "x.mp3"})


def _milestone(w: World) -> Milestone:
    w.counter += 1
    return soundboard.add_milestone({"count": 1000 + w.counter})


def _next(w: World) -> int:
    w.counter += 1
    return w.counter


def catalogue_rows() -> list[Row]:
    rows = []
    for name, body in CATALOGUE_BODIES.items():
        key = "<int:key>" if catalogue.RESOURCES[name].key == "id" else "<key>"

        def store(w, name=name, body=body):
            return f"/api/{name}", {"json": body(w.unique(name[:2]))}

        def update(w, name=name):
            return f"/api/{name}/{_catalogue_item(w, name)}", {"json": {}}

        def destroy(w, name=name):
            return f"/api/{name}/{_catalogue_item(w, name)}", {}

        def restore(w, name=name):
            return f"/restore/{name}/{_catalogue_item(w, name, trashed=True)}", {}

        rows += [
            Row("POST", f"/api/{name}", store, api_admin(201)),
            Row("PUT", f"/api/{name}/{key}", update, api_admin(200)),
            Row("PATCH", f"/api/{name}/{key}", update, api_admin(200)),
            Row("DELETE", f"/api/{name}/{key}", destroy, api_admin(200)),
            Row("PATCH", f"/restore/{name}/{key}", restore, api_admin(200)),
            Row("DELETE", f"/forceDelete/{name}/{key}", destroy, api_admin(200)),
        ]
    return rows


def _pivot_pair(w: World, pivot, *, attached: bool):
    """Fresh rows for both sides of a pivot (linked first when the request detaches or edits)."""
    left = catalogue.create(pivot.left, CATALOGUE_BODIES[pivot.left.name](w.unique("l")))
    right = catalogue.create(pivot.right, CATALOGUE_BODIES[pivot.right.name](w.unique("r")))
    if attached:
        catalogue.attach(pivot, left, right, {})
    return pivot.left.key_of(left), pivot.right.key_of(right)


def pivot_rows() -> list[Row]:
    rows = []
    for name, pivot in catalogue.PIVOTS.items():
        rule = f"/api/{name}/{'<int:left>' if pivot.left.key == 'id' else '<left>'}/{'<int:right>' if pivot.right.key == 'id' else '<right>'}"

        def url(w, pivot=pivot, name=name, attached=False):
            left, right = _pivot_pair(w, pivot, attached=attached)
            return f"/api/{name}/{left}/{right}"

        rows += [
            Row("POST", rule, lambda w, url=url: (url(w), {"json": {}}), api_admin(201)),
            Row("DELETE", rule, lambda w, url=url: (url(w, attached=True), {}), api_admin(200)),
        ]
        if pivot.fields:
            rows += [
                Row(method, rule, lambda w, url=url: (url(w, attached=True), {"json": {"as": "x"}}), api_admin(200))
                for method in ("PUT", "PATCH")
            ]
    return rows


def _relation_page(action: str) -> Build:
    def build(w):
        pivot = catalogue.PIVOTS["animestudio"]
        anime, studio = _pivot_pair(w, pivot, attached=action == "detach")
        if action == "attach":
            return f"/admin/catalogue/anime/{anime}/relations/animestudio", {"data": {"other": studio}}
        return f"/admin/catalogue/anime/{anime}/relations/animestudio/{studio}", {"data": {"action": "detach"}}

    return build


def _admin_page(action: str, *, trashed: bool = False) -> Build:
    def build(w):
        return f"/admin/catalogue/anime/{_catalogue_item(w, 'anime', trashed=trashed)}/{action}", {"data": {"name": "Renamed", "slug": w.unique("s")}}

    return build


def _cover_upload(w):
    return f"/playlists/{_playlist(w).public_id}/cover", {"data": {"file": (io.BytesIO(cover("c", 32)), "c.png")}, "content_type": "multipart/form-data"}


def _signed_upload(kind: str) -> Build:
    def build(w):
        track = _track(w)
        upload = tracks.presigned_uploads(track)["track_upload" if kind == "audio" else "track_cover_upload"]["upload_url"]
        parts = urlsplit(upload)
        return f"{parts.path}?{parts.query}", ({"data": b"not audio at all"} if kind == "audio" else {})

    return build


ROWS: list[Row] = [
    # --- accounts (pages) ---
    Row("POST", "/login", lambda w: ("/login", {"data": {"login": "user", "password": PASSWORD}}), anyone(303)),
    Row("POST", "/logout", lambda w: ("/logout", {}), anyone(303)),
    Row("POST", "/register", lambda w: ("/register", {"data": {"name": (n := w.unique("new")), "email": f"{n}@example.com", "password": PASSWORD, "confirm": PASSWORD}}), anyone(303)),
    Row("POST", "/settings/tokens", lambda w: ("/settings/tokens", {"data": {"label": "t", "expires": ""}}), page_signed_in(200)),
    Row("POST", "/settings/tokens/<int:token_id>/revoke", lambda w: (f"/settings/tokens/{accounts.create_token(w.user, 'x').token.id}/revoke", {}), page_owner(303, 303)),
    Row("POST", "/settings/password", lambda w: ("/settings/password", {"data": {"current_password": PASSWORD, "new_password": PASSWORD, "confirm": PASSWORD}}), page_signed_in(303)),
    Row("POST", "/settings/logout-everywhere", lambda w: ("/settings/logout-everywhere", {}), page_signed_in(303)),
    # --- playlists (pages) ---
    Row("POST", "/playlists", lambda w: ("/playlists", {"data": {"name": "p", "visibility": "1"}}), page_signed_in(303)),
    Row("POST", "/playlists/<hashid>/edit", lambda w: (f"/playlists/{_playlist(w).public_id}/edit", {"data": {"name": "n", "visibility": "0"}}), page_owner(303, 403)),
    Row("POST", "/playlists/<hashid>/delete", lambda w: (f"/playlists/{_playlist(w).public_id}/delete", {}), page_owner(303, 403)),
    Row("POST", "/playlists/<hashid>/cover", _cover_upload, page_owner(303, 403)),
    Row("POST", "/playlists/add-track", lambda w: ("/playlists/add-track", {"data": {"audio_id": _audio(w).id, "playlist": _playlist(w).public_id}}), page_owner(200, 403)),
    Row("POST", "/playlists/<hashid>/tracks/<int:track_id>/remove", lambda w: (lambda p: (f"/playlists/{p.public_id}/tracks/{p.first_id}/remove", {}))(_playlist(w, tracks_count=1)), page_owner(200, 403)),
    Row("POST", "/playlists/<hashid>/tracks/restore", lambda w: (f"/playlists/{_playlist(w).public_id}/tracks/restore", {"data": {"audio_id": _audio(w).id}}), page_owner(200, 403)),
    Row("POST", "/playlists/import", lambda w: ("/playlists/import", {"data": {"file": (io.BytesIO(b'{"playlist": {"name": "i"}, "tracks": []}'), "p.json")}, "content_type": "multipart/form-data"}), page_signed_in(303)),
    # --- catalogue admin (pages) ---
    Row("POST", "/admin/catalogue/<resource_name>/upload", lambda w: ("/admin/catalogue/audio/upload", {"data": {}}), page_admin(422)),
    # --- collections and the soundboard admin (pages; htmx or plain forms) ---
    Row("POST", "/collections", lambda w: ("/collections", {"data": {"title": "t"}}), page_signed_in(303)),
    Row("POST", "/collections/<collection_id>/tracks", lambda w: (f"/collections/{_collection(w).id}/tracks", {"data": {}}), page_owner(422, 404)),
    Row("POST", "/collections/<collection_id>/tracks/<track_id>",
        lambda w: ((t := _track(w)) and f"/collections/{t.collection_id}/tracks/{t.id}", {"data": {"player_title": "p"}}), page_owner(303, 404)),
    Row("POST", "/collections/<collection_id>/tracks/<track_id>/delete",
        lambda w: ((t := _track(w)) and f"/collections/{t.collection_id}/tracks/{t.id}/delete", {}), page_owner(303, 404)),
    Row("POST", "/soundboard/admin/sounds", lambda w: ("/soundboard/admin/sounds", {"data": {}}), page_admin(422)),
    Row("POST", "/soundboard/admin/milestones", lambda w: ("/soundboard/admin/milestones", {"data": {"count": 20_000 + _next(w)}}), page_admin(303)),
    Row("POST", "/soundboard/admin/milestones/<int:milestone_id>",
        lambda w: (f"/soundboard/admin/milestones/{_milestone(w).id}", {"data": {"count": 30_000 + _next(w)}}), page_admin(303)),
    Row("POST", "/soundboard/admin/milestones/<int:milestone_id>/delete",
        lambda w: (f"/soundboard/admin/milestones/{_milestone(w).id}/delete", {}), page_admin(303)),
    Row("POST", "/soundboard/admin/notification", lambda w: ("/soundboard/admin/notification", {"data": {"text": "hi", "duration": "3"}}), page_admin(303)),
    Row("POST", "/admin/catalogue/<resource_name>/new", lambda w: ("/admin/catalogue/anime/new", {"data": {"name": "n", "slug": w.unique("s")}}), page_admin(303)),
    Row("POST", "/admin/catalogue/<resource_name>/<key>/edit", _admin_page("edit"), page_admin(303)),
    Row("POST", "/admin/catalogue/<resource_name>/<key>/delete", _admin_page("delete"), page_admin(303)),
    Row("POST", "/admin/catalogue/<resource_name>/<key>/restore", _admin_page("restore", trashed=True), page_admin(303)),
    Row("POST", "/admin/catalogue/<resource_name>/<key>/force-delete", _admin_page("force-delete"), page_admin(303)),
    # --- playlist API (the spec: owner only; 403 for others who can see it) ---
    Row("POST", "/api/playlist", lambda w: ("/api/playlist", {"json": {"name": "n", "visibility": 0}}), api_signed_in(201)),
    Row("PUT", "/api/playlist/<hashid>", lambda w: (f"/api/playlist/{_playlist(w).public_id}", {"json": {"name": "n"}}), api_owner(200, 403)),
    Row("PATCH", "/api/playlist/<hashid>", lambda w: (f"/api/playlist/{_playlist(w).public_id}", {"json": {"name": "n"}}), api_owner(200, 403)),
    Row("DELETE", "/api/playlist/<hashid>", lambda w: (f"/api/playlist/{_playlist(w).public_id}", {}), api_owner(200, 403)),
    Row("POST", "/api/playlist/<hashid>/track", lambda w: (f"/api/playlist/{_playlist(w).public_id}/track", {"json": {"audio_id": _audio(w).id}}), api_owner(201, 403)),
    Row("PATCH", "/api/playlist/<hashid>/track/<int:track_id>", lambda w: (lambda p: (f"/api/playlist/{p.public_id}/track/{p.last_id}", {"json": {"next": p.first_id}}))(_playlist(w, tracks_count=2)), api_owner(200, 403)),
    Row("PUT", "/api/playlist/<hashid>/track/<int:track_id>", lambda w: (lambda p: (f"/api/playlist/{p.public_id}/track/{p.last_id}", {"json": {"next": p.first_id}}))(_playlist(w, tracks_count=2)), api_owner(200, 403)),
    Row("DELETE", "/api/playlist/<hashid>/track/<int:track_id>", lambda w: (lambda p: (f"/api/playlist/{p.public_id}/track/{p.first_id}", {}))(_playlist(w, tracks_count=1)), api_owner(200, 403)),
    # --- Tracks v1 (everything is the owner's; others get 404, as if it did not exist) ---
    Row("POST", "/v1/collection", lambda w: ("/v1/collection", {"json": {"title": "c"}}), api_signed_in(200)),
    Row("PUT", "/v1/collection/<collection_id>", lambda w: (f"/v1/collection/{_collection(w).id}", {"json": {"title": "t"}}), api_owner(200, 404)),
    Row("DELETE", "/v1/collection/<collection_id>", lambda w: (f"/v1/collection/{_collection(w).id}", {}), api_owner(200, 404)),
    Row("POST", "/v1/creator", lambda w: ("/v1/creator", {"json": {"organization_index": "o"}}), api_signed_in(200)),
    Row("PUT", "/v1/creator/<creator_id>", lambda w: (f"/v1/creator/{tracks.create_creator(w.user, {'organization_index': 'o'}).id}", {"json": {"name": "n"}}), api_owner(200, 404)),
    Row("DELETE", "/v1/creator/<creator_id>", lambda w: (f"/v1/creator/{tracks.create_creator(w.user, {'organization_index': 'o'}).id}", {}), api_owner(200, 404)),
    # Someone else's collection is an invalid collection_id, like one that does not exist (400 is
    # how Tracks v1 reports every validation error).
    Row("POST", "/v1/track", lambda w: ("/v1/track", {"json": {"collection_id": str(_collection(w).id), "file_name": "x.mp3"}}), api_owner(200, 400)),
    Row("PUT", "/v1/track/<track_id>", lambda w: (f"/v1/track/{_track(w).id}", {"json": {"title": "t"}}), api_owner(200, 404)),
    Row("DELETE", "/v1/track/<track_id>", lambda w: (f"/v1/track/{_track(w).id}", {}), api_owner(200, 404)),
    # The signature is the authority: every caller alike (here a valid URL with a body that is not audio).
    Row("PUT", "/v1/upload/<track_id>/audio", _signed_upload("audio"), anyone(400)),
    Row("POST", "/v1/upload/<track_id>/cover", _signed_upload("cover"), anyone(400)),
    # --- soundboard (the original's API: its raw token, or an admin) ---
    Row("POST", "/admin/sounds/upload", lambda w: ("/admin/sounds/upload", {"data": {}}), soundboard_admin(400)),
    Row("POST", "/api/admin/sounds/upload", lambda w: ("/api/admin/sounds/upload", {"data": {}}), soundboard_admin(400)),
    Row("PATCH", "/api/admin/sounds/modify", lambda w: ("/api/admin/sounds/modify", {"json": {"id": 999999}}), soundboard_admin(404)),
    Row("DELETE", "/api/admin/sounds/delete", lambda w: ("/api/admin/sounds/delete", {"json": {"id": 999999}}), soundboard_admin(404)),
    Row("POST", "/api/admin/milestones/add", lambda w: ("/api/admin/milestones/add", {"json": {"count": 10_000 + _next(w)}}), soundboard_admin(200)),
    Row("PATCH", "/api/admin/milestones/modify", lambda w: ("/api/admin/milestones/modify", {"json": {"id": _milestone(w).id, "count": 50_000 + _next(w)}}), soundboard_admin(200)),
    Row("DELETE", "/api/admin/milestones/delete", lambda w: ("/api/admin/milestones/delete", {"json": {"id": _milestone(w).id}}), soundboard_admin(200)),
    # The original's admin login: the body's token is the credential, whoever sends it.
    Row("POST", "/api/login", lambda w: ("/api/login", {"json": {"token": SOUNDBOARD_TOKEN}}), anyone(200)),
    Row("PATCH", "/api/admin/config/<any(updateinterval, responseinterval, connectionlimit, connections, ratelimit):name>",
        lambda w: ("/api/admin/config/updateinterval", {"json": {"interval": 1000 + _next(w)}}), soundboard_admin(200)),
    Row("POST", "/api/admin/notification", lambda w: ("/api/admin/notification", {"json": {"text": "hi", "duration": 3}}), soundboard_admin(200)),
    # Public: the same answer for everyone (no sound exists here, so the click names none: 400).
    Row("POST", "/api/soundboard/click", lambda w: ("/api/soundboard/click", {"json": {"type": "click"}}), anyone(400)),
    Row("POST", "/admin/catalogue/<resource_name>/<key>/relations/<pivot_name>", _relation_page("attach"), page_admin(303)),
    Row("POST", "/admin/catalogue/<resource_name>/<key>/relations/<pivot_name>/<other_key>", _relation_page("detach"), page_admin(303)),
    *catalogue_rows(),
    *pivot_rows(),
]


def _world(app) -> World:
    with app.app_context():
        user, other, admin = make_user("user"), make_user("other"), make_user("admin", admin=True)
        headers = {name: bearer(make_token(who)) for name, who in (("user", user), ("other", other), ("admin", admin))}
        revoked = accounts.create_token(user, "revoked")
        accounts.revoke_token(user, revoked.token.id)
        expired = accounts.create_token(user, "expired", expires_in_days=1)
        db.session.get(ApiToken, expired.token.id).expires_at = datetime.now(UTC) - timedelta(minutes=1)
        db.session.commit()
        headers |= {"revoked": bearer(revoked.raw), "expired": bearer(expired.raw), "anonymous": {}, "soundboard": {"Authorization": SOUNDBOARD_TOKEN}}
        return World(app, user.id, headers)


def _client(w: World, caller: str, path: str):
    """API families: the caller's header on a cookie-less client. Pages: a session for the three
    users, and the header (which pages ignore) for the token callers."""
    client = w.app.test_client()
    if family_for(path) is None and caller in ("user", "other", "admin"):
        assert login(client, caller).status_code == 303
        return client, {}
    return client, w.headers[caller]


@pytest.fixture()
def world(app):
    return _world(app)


def test_every_unsafe_route_is_in_the_table(app):
    routes = {(method, rule.rule) for rule in app.url_map.iter_rules() for method in rule.methods & UNSAFE}
    table = [(row.method, row.rule) for row in ROWS]
    assert len(table) == len(set(table)), "a route is in the table twice"
    assert routes - set(table) == set(), "unsafe routes missing from the authorization matrix"
    assert set(table) - routes == set(), "rows for routes that do not exist"


@pytest.mark.parametrize("row", ROWS, ids=lambda row: f"{row.method} {row.rule}")
def test_who_may_call_what(world, row):
    answers = {}
    for caller in CALLERS:
        with world.app.app_context():
            url, kwargs = row.build(world)
            db.session.remove()
        client, headers = _client(world, caller, url)
        response = client.open(url, method=row.method, headers=headers, **kwargs)
        answers[caller] = response.status_code
    assert answers == row.expected


# --- private and unlisted data: nobody but the owner finds it ---------------------------------


@pytest.fixture()
def hidden(app):
    """The owner's private and unlisted playlists (with a track and a cover) and a public one."""
    # The response cache is per app (blueprints/common/cache.py): this test's app starts with none.
    w = _world(app)
    with app.app_context():
        audio = _audio(w)
        made = {}
        for kind, visibility in (("private", PRIVATE), ("unlisted", UNLISTED), ("public", PUBLIC)):
            playlist = playlists.create_playlist(w.user, {"name": f"Secret {kind} mix", "visibility": visibility})
            playlists.add_track(playlist, {"audio_id": audio.id})
            image = catalogue.store_image_bytes(cover(kind, 32), "Cover", f"cover/{kind}-secret.png")
            playlists.set_cover(db.session.get(Playlist, playlist.id), image)
            made[kind] = {"id": playlist.public_id, "name": playlist.name, "cover": image.path, "image_id": image.id}
        audio_basename = audio.basename
    return w, made, audio_basename


def _surfaces(made, basename):
    """Every list, include, search and page that could show a playlist or a cover to a non-owner."""
    return [
        "/api/playlist?page[size]=100&include=user,images,tracks.audio",
        "/api/playlist?filter[name-like]=%25Secret%25",
        "/api/playlist?sort=-tracks_count&fields[playlist]=id,name",
        "/api/image?page[size]=100&include=playlists",
        "/api/image?filter[path-like]=cover/%25",
        f"/api/audio?filter[basename]={basename}&include=videos",
        "/api/anime?include=images",
        "/playlists",
        "/playlists?q=Secret",
        "/images",
        "/images?facet=Cover",
        f"/audio/{basename}",
        "/audio?q=a",
        "/",
        "/soundboard",
    ]


@pytest.mark.parametrize("viewer", ["anonymous", "other", "admin", "revoked", "expired", "soundboard"])
def test_private_and_unlisted_data_is_invisible_to_all_but_the_owner(hidden, viewer):
    w, made, basename = hidden
    secrets = [made[kind][field] for kind in ("private", "unlisted") for field in ("id", "name", "cover")]
    for path in _surfaces(made, basename):
        client, headers = _client(w, viewer, path)
        response = client.get(path, headers=headers)
        assert response.status_code == 200, path
        body = response.get_data(as_text=True)
        for secret in secrets:
            assert secret not in body, (viewer, path, secret)
        if path.startswith("/api/playlist?page") or path == "/playlists":
            assert made["public"]["id"] in body  # the surface does show what is public
    # Direct: a private playlist is unknown (404) everywhere; an unlisted one opens by its link only.
    for suffix in ("", "/track", "/track/1"):
        client, headers = _client(w, viewer, "/api/")
        assert client.get(f"/api/playlist/{made['private']['id']}{suffix}", headers=headers).status_code == 404
    for path in (f"/playlists/{made['private']['id']}", f"/playlists/{made['private']['id']}/export.json",
                 f"/playlists/{made['private']['id']}/export.m3u", f"/stream/image/{made['private']['cover']}",
                 f"/images/{made['private']['image_id']}", f"/images/{made['unlisted']['image_id']}"):
        client, headers = _client(w, viewer, path)
        assert client.get(path, headers=headers).status_code == 404, path
    client, headers = _client(w, viewer, "/api/")
    assert client.get(f"/api/image/{made['private']['image_id']}", headers=headers).status_code == 404
    assert client.get(f"/api/playlist/{made['unlisted']['id']}", headers=headers).status_code == 200
    client, headers = _client(w, viewer, "/playlists/")
    assert client.get(f"/playlists/{made['unlisted']['id']}/export.json", headers=headers).status_code == 200


def test_the_owner_finds_everything_of_theirs(hidden):
    w, made, basename = hidden
    api, headers = _client(w, "user", "/api/")
    mine = api.get("/api/me/playlist", headers=headers).get_json()["playlists"]
    assert {p["id"] for p in mine} == {made[k]["id"] for k in made}
    images = api.get("/api/image?page[size]=100", headers=headers).get_json()["images"]
    assert {made[k]["image_id"] for k in made} <= {i["image_id"] for i in images}
    page, _ = _client(w, "user", "/playlists/mine")
    listing = page.get("/playlists/mine").get_data(as_text=True)
    assert all(made[k]["id"] in listing for k in made)
    assert page.get(f"/playlists/{made['private']['id']}/export.json").status_code == 200
    assert page.get(f"/stream/image/{made['private']['cover']}").status_code == 200
    # The public list is public for the owner too: listing is not owning.
    public = api.get("/api/playlist", headers=headers).get_json()["playlists"]
    assert {p["id"] for p in public} == {made["public"]["id"]}
