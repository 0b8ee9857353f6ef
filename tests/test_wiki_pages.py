"""Wiki pages on the demo content: anime, artist, season browsing, search (page and htmx fragment),
audio rows; a fixed number of queries per page, one h1, described images, no inline scripts or styles."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from blueprints.catalogue.seed import ANIME as DEMO_ANIME
from blueprints.catalogue.seed import seed_catalogue
from extensions import db
from models.base import utcnow
from models.catalogue import Anime, AnimeTheme, Artist, Song


@pytest.fixture()
def seeded(app):
    with app.app_context():
        seed_catalogue(lambda n: None)


def _html(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def _page_rules(html):
    assert html.count("<h1") == 1
    assert "<script>" not in html and not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert " style=" not in html and "<style" not in html
    for img in re.findall(r"<img[^>]*>", html):
        alt = re.search(r'alt="([^"]*)"', img)
        assert alt and len(alt.group(1)) > 3, img


def test_anime_page_lists_themes_with_songs_artists_and_players(client, seeded):
    html = _html(client, "/anime/starlight_drive")
    _page_rules(html)
    spec = next(s for s in DEMO_ANIME if s["slug"] == "starlight_drive")
    assert f"<h1>{spec['name']}</h1>" in html
    for _, text in spec["synonyms"]:
        assert text in html
    assert re.findall(r'class="badge theme-slug">(\w+)<', html) == ["OP1", "OP2", "ED1"]
    assert "Ignition Heart" in html and 'href="/artists/mika_hoshino"' in html
    assert "(as Hana Mizuki)" in html
    assert 'data-play-all="#theme-list"' in html and 'id="theme-list" data-play-queue' in html
    # Each theme row is a track with a real stream URL and a descriptive title.
    tracks = re.findall(r'<li class="theme-row" data-track-src="([^"]+)"\s+data-track-title="([^"]+)"', html)
    assert tracks and tracks[0][1] == "Starlight Drive OP1: Ignition Heart"
    assert client.get(tracks[0][0]).status_code == 200
    assert 'alt="Cover of Starlight Drive"' in html or "No cover for Starlight Drive" in html
    # OP1 has a second version (v2, episode 12, a spoiler)
    assert "OP1 v2" in html and "spoiler" in html


def test_missing_and_trashed_anime_are_404_pages(client, seeded, app):
    assert "<h1" in _html(client, "/anime/nope", 404)
    with app.app_context():
        db.session.scalar(select(Anime).where(Anime.slug == "frostbound")).deleted_at = utcnow()
        db.session.commit()
    _html(client, "/anime/frostbound", 404)
    _html(client, "/artists/nobody", 404)


def test_artist_page_lists_songs_and_their_anime(client, seeded, app):
    html = _html(client, "/artists/mika_hoshino")
    _page_rules(html)
    assert "<h1>Mika Hoshino</h1>" in html
    with app.app_context():
        titles = set(
            db.session.scalars(
                select(Song.title).join(Song.artists).where(Artist.slug == "mika_hoshino")
            )
        )
    assert titles and all(title in html for title in titles)
    assert 'href="/anime/starlight_drive"' in html and "data-track-src=" in html


def test_season_browsing(client, seeded):
    html = _html(client, "/anime")
    _page_rules(html)
    assert 'href="/anime?year=2024"' in html
    winter = _html(client, "/anime?year=2024&season=winter")
    assert "Frostbound" in winter and "Neon Samurai" not in winter
    assert 'href="/anime?year=2024&amp;season=Winter" aria-current="page"' in winter
    assert "Frostbound" not in _html(client, "/anime?year=2021")
    for bad in ("/anime?year=abc", "/anime?year=99999999999999999999", "/anime?season=Monsoon", "/anime?page=-1"):
        _html(client, bad)


def test_one_nav_entry_named_anime(client, seeded):
    html = _html(client, "/")
    nav = html[html.index('<ul class="nav-links"'):]
    nav = nav[: nav.index("</ul>")]
    assert nav.count('href="/anime"') == 1 and re.search(r'<a href="/anime"[^>]*>Anime</a>', nav)
    assert "OP/ED themes" in html  # the home page's card says what the wiki is


def test_search_page_and_fragment(client, seeded):
    html = _html(client, "/search?q=Mika+Hoshino")
    _page_rules(html)
    assert 'hx-trigger="input changed delay:250ms, search"' in html and 'hx-push-url="true"' in html
    assert 'href="/artists/mika_hoshino"' in html
    fragment = client.get("/search?q=Frostbound+OP", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert "<h1" not in body and "<html" not in body
    assert "Vary" in fragment.headers and "HX-Request" in fragment.headers["Vary"]
    assert 'href="/anime/frostbound"' in body
    assert re.search(r"Frostbound OP1</a>", body)
    assert "Nothing matches" in _html(client, "/search?q=zzzqqq")
    assert "Type an anime" in _html(client, "/search")


def test_audio_rows_show_their_theme(client, seeded):
    html = _html(client, "/audio?q=Frostbound")
    row = html[html.index('data-basename="Frostbound-OP1"'):]
    row = row[: row.index("</li>")]
    assert 'href="/anime/frostbound"' in row and ">OP1<" in row
    assert 'data-track-title="Frostbound OP1' in row
    assert "mika_hoshino" in row or "/artists/" in row
    assert 'alt="' in row or "No cover for Frostbound" in row


@pytest.mark.parametrize(
    "url",
    ["/anime/starlight_drive", "/artists/mika_hoshino", "/anime", "/search?q=o", "/audio"],
)
def test_pages_cost_a_fixed_number_of_queries(client, seeded, app, count_queries, url):
    client.get(url)  # warm anything lazily set up once per process
    with count_queries() as before:
        assert client.get(url).status_code == 200
    with app.app_context():
        # More of everything: a copy of every theme on another anime, sung by every artist.
        extra = Anime(name="Orbit Overdrive", slug="orbit_overdrive", year=2024, season="Winter")
        db.session.add(extra)
        db.session.flush()
        for theme in db.session.scalars(select(AnimeTheme)).all():
            db.session.add(AnimeTheme(type=theme.type, sequence=theme.sequence, anime_id=extra.id, song_id=theme.song_id))
        db.session.commit()
    with count_queries() as after:
        assert client.get(url).status_code == 200
    assert len(after) == len(before), url
