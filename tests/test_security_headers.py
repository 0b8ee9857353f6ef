"""Security headers everywhere, and no inline script, style or event handler in any page's HTML.

The Content-Security-Policy refuses inline code; a page that still has some would break in the
browser, so every page is rendered here (with the demo content, as an admin) and parsed.
"""
from __future__ import annotations

from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from extensions import db
from tests.factories import login, make_user

# templates/soundboard/* belong to the soundboard's owners: these pages still carry an inline
# <style> (theme colours), an inline <script> (its config) and onchange= (theme switch).


class InlineCode(HTMLParser):
    """Collects every inline script, style element, style attribute and on...= handler."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and "src" not in names and names.get("type", "text/javascript") in ("text/javascript", "module", ""):
            self._in_inline_script = True
        if tag == "style":
            self.found.append("<style>")
        for name, value in attrs:
            if name == "style":
                self.found.append(f"<{tag} style={value!r}>")
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")

    def handle_data(self, data):
        if self._in_inline_script and data.strip():
            self.found.append(f"<script>{data.strip()[:60]}</script>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_inline_script = False


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def test_the_inline_code_finder_finds_each_kind():
    html = '<style>a{}</style><script>alert(1)</script><p style="color:red" onclick="x()"><a href="javascript:x()">'
    assert len(inline_code(html)) == 5
    assert inline_code('<script src="/static/js/app.js" defer></script><p data-style="x">') == []


def _page_urls(app) -> list[str]:
    """Every HTML page of the app, with real ids from the demo content."""
    from models.catalogue import Anime, Artist, Audio, Image
    from models.playlist import Playlist
    from models.tracks import Collection, Track

    with app.app_context():
        audio = db.session.scalar(select(Audio.basename).order_by(Audio.id))
        audio_id = db.session.scalar(select(Audio.id).order_by(Audio.id))
        image = db.session.scalar(select(Image.id).order_by(Image.id))
        playlist = db.session.scalar(select(Playlist).order_by(Playlist.id))
        collection = db.session.scalar(select(Collection.id).order_by(Collection.id))
        track = db.session.scalar(select(Track.id).order_by(Track.id))
        hashid = playlist.public_id
        slugs = {
            "wiki.anime_detail": db.session.scalar(select(Anime.slug).order_by(Anime.id)),
            "wiki.artist_detail": db.session.scalar(select(Artist.slug).order_by(Artist.id)),
        }
    samples = {
        "basename": audio,
        "audio_id": audio_id,
        "image_id": image,
        "hashid": hashid,
        "collection_id": collection,
        "track_id": track,
        "resource_name": "audio",
        "key": audio,
    }
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.websocket or rule.endpoint == "static":
            continue
        if rule.rule.startswith(("/api/", "/v1/", "/stream/", "/media/", "/sounds/", "/restore/", "/forceDelete/")):
            continue
        if rule.rule.endswith((".json", ".m3u")) or rule.rule in ("/healthz", "/ping"):
            continue
        values = {name: slugs[rule.endpoint] if name == "slug" else samples[name] for name in rule.arguments}
        urls.append(rule.build(values, append_unknown=False)[1])
    return sorted(set(urls)) + ["/no/such/page"]


def seed_pages(app, admin_name: str) -> None:
    """The demo content, plus a playlist, with the demo's Tracks v1 collection handed to a new admin."""
    from sqlalchemy import update

    from blueprints.playlists.services import add_track, create_playlist
    from models.catalogue import Audio
    from models.tracks import Collection, Creator, Track

    assert app.test_cli_runner().invoke(args=["seed"]).exit_code == 0
    with app.app_context():
        admin = make_user(admin_name, admin=True)
        playlist = create_playlist(admin, {"name": "Headers", "visibility": 0})
        add_track(playlist, {"audio_id": db.session.scalar(select(Audio.id).order_by(Audio.id))})
        for model in (Collection, Creator, Track):
            db.session.execute(update(model).values(user_id=admin.id))
        db.session.commit()


@pytest.fixture()
def seeded_admin(app, client):
    seed_pages(app, "headadmin")
    login(client, "headadmin")
    return client


def test_no_page_has_inline_script_style_or_handlers(app, seeded_admin):
    urls = _page_urls(app)
    assert {"/", "/audio", "/collections", "/login", "/settings", "/admin"} <= set(urls) and len(urls) > 20
    offenders = {}
    for url in urls:
        response = seeded_admin.get(url)
        assert response.status_code == (404 if url == "/no/such/page" else 200), url
        assert response.mimetype == "text/html", url
        found = inline_code(response.get_data(as_text=True))
        if found:
            offenders[url] = found
    assert offenders == {}
    anonymous = app.test_client()
    for url in ("/", "/login", "/register", "/audio", "/playlists"):
        assert inline_code(anonymous.get(url).get_data(as_text=True)) == [], url


def _assert_headers(response, *, framed: bool) -> None:
    policy = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["default-src"] == "'self'" and directives["object-src"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    if framed:
        assert directives["frame-ancestors"] == "*" and "X-Frame-Options" not in response.headers
    else:
        assert directives["frame-ancestors"] == "'none'" and response.headers["X-Frame-Options"] == "DENY"


def test_headers_on_pages_apis_files_and_errors(app, seeded_admin):
    from models.tracks import Track

    for url in ("/", "/audio", "/api/audio", "/v1/collection", "/api/counter", "/healthz", "/static/js/app.js", "/no/such/page", "/api/nothing"):
        _assert_headers(seeded_admin.get(url), framed=False)
    with app.app_context():
        track = db.session.scalar(select(Track.id).order_by(Track.id))
    embed = seeded_admin.get(f"/embed/track/{track}")
    assert embed.status_code == 200
    _assert_headers(embed, framed=True)
    assert "Strict-Transport-Security" not in embed.headers  # development: no TLS in front


def test_production_adds_hsts_and_secure_cookies(app_factory):
    production = app_factory(APP_ENV="production", SECRET_KEY="a-real-secret-for-this-test")
    with production.app_context():
        make_user("produser")
    client = production.test_client()
    response = login(client, "produser")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    session_cookie = next(value for value in response.headers.getlist("Set-Cookie") if value.startswith("session="))
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    assert "Strict-Transport-Security" in client.get("/api/audio").headers
