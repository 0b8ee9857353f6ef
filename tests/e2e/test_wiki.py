"""The wiki as a visitor uses it: type in the search box, open an anime, play a theme, follow its
artist and come Back, with the player playing throughout."""
from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import wait_until

pytestmark = pytest.mark.e2e


def test_search_anime_play_theme_follow_artist_and_back(live_server, page):
    runner = live_server.app.test_cli_runner()
    assert runner.invoke(args=["seed"]).exit_code == 0
    page.goto(f"{live_server.url}/anime")
    assert page.text_content("h1") == "Anime"
    page.click("#wiki-search")
    page.keyboard.type("Frostbound OP", delay=30)
    result = page.locator("#search-results a[href='/anime/frostbound']").first
    result.wait_for()
    # As-you-type results: the URL follows the box, and themes are narrowed to openings.
    wait_until(page, "location.pathname === '/search' && location.search.includes('Frostbound')")
    assert page.locator("#search-results").get_by_text(re.compile(r"Frostbound OP1")).count() >= 1
    assert page.locator("#search-results").get_by_text(re.compile(r"Frostbound ED")).count() == 0
    result.click()
    wait_until(page, "document.querySelector('h1') && document.querySelector('h1').textContent === 'Frostbound'")
    assert page.url.endswith("/anime/frostbound")

    page.evaluate("document.querySelector('#player audio').muted = true")
    page.click(".theme-row [data-play]")
    wait_until(page, "document.querySelector('#player audio').currentTime > 0.2")
    assert page.text_content("[data-player-title]").startswith("Frostbound OP1")
    queued = int(page.text_content("[data-player-queue-count]"))
    assert queued == page.locator("#theme-list [data-track-src]").count() >= 2

    page.click(".theme-row a[href='/artists/mika_hoshino']")
    wait_until(page, "document.querySelector('h1').textContent === 'Mika Hoshino'")
    assert page.locator("a[href='/anime/frostbound']").count() >= 1
    # Boosted navigation kept the player, still playing.
    assert page.evaluate("!document.querySelector('#player audio').paused")

    page.go_back()
    wait_until(page, "document.querySelector('h1').textContent === 'Frostbound'")
    assert page.evaluate("!document.querySelector('#player audio').paused")
    page.go_back()
    wait_until(page, "location.pathname === '/search'")
    page.locator("#search-results a[href='/anime/frostbound']").first.wait_for()
    assert page.input_value("#wiki-search").startswith("Frostbound")
