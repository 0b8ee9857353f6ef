"""Create a playlist, add three tracks from the audio browser, reorder by dragging, play it through."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import login_as, wait_until
from tests.factories import make_user

pytestmark = pytest.mark.e2e


def test_build_reorder_and_play_a_playlist(live_server, page):
    assert live_server.app.test_cli_runner().invoke(args=["seed"]).exit_code == 0
    with live_server.app.app_context():
        make_user("dj")
    base = live_server.url
    login_as(page, base, "dj")

    page.goto(f"{base}/playlists/mine")
    page.fill("input[name=name]", "Short clips")
    page.click("form button:has-text('Create')")
    page.wait_for_selector("h1:has-text('Short clips')")

    page.goto(f"{base}/audio?q=MelonSodaDays")
    rows = page.locator(".audio-row")
    assert rows.count() == 3
    for index in range(3):
        row = rows.nth(index)
        row.locator("summary:has-text('Add to playlist')").click()
        row.locator(".menu-item:has-text('Short clips')").click()
        row.locator(".add-result:has-text('Added to')").wait_for()  # htmx, no page reload

    page.goto(f"{base}/playlists/mine")
    page.click("a:has-text('Short clips')")
    page.wait_for_selector(".playlist-track")  # the click returns before the playlist page has loaded
    titles = lambda: page.locator(".playlist-track").evaluate_all("els => els.map(e => e.dataset.trackTitle)")  # noqa: E731
    before = titles()
    assert before == ["MelonSodaDays-ED1", "MelonSodaDays-ED2", "MelonSodaDays-OP1"]

    # Drag the last track onto the first: it moves to the top, and the server keeps the order.
    with page.expect_response(lambda r: "/track/" in r.url and r.request.method == "PATCH"):
        page.drag_and_drop(".playlist-track:nth-child(3) .drag-handle", ".playlist-track:nth-child(1)")
    assert titles() == ["MelonSodaDays-OP1", "MelonSodaDays-ED1", "MelonSodaDays-ED2"]
    page.reload()
    assert titles() == ["MelonSodaDays-OP1", "MelonSodaDays-ED1", "MelonSodaDays-ED2"]

    # Keyboard users: the down button moves a track too.
    with page.expect_response(lambda r: "/track/" in r.url and r.request.method == "PATCH"):
        page.click(".playlist-track:nth-child(2) [data-move=down]")
    assert titles() == ["MelonSodaDays-OP1", "MelonSodaDays-ED2", "MelonSodaDays-ED1"]

    # Play: the first track starts in the layout's player, then it advances to the next one by itself.
    page.evaluate("const a = document.querySelector('#player audio'); a.defaultPlaybackRate = 4; a.muted = true")
    page.click("[data-play-all]:not([data-shuffle])")
    wait_until(page, "document.querySelector('[data-player-title]').textContent === 'MelonSodaDays-OP1'")
    wait_until(page, "document.querySelector('[data-player-title]').textContent === 'MelonSodaDays-ED2'", timeout=15_000)
    assert page.evaluate("!document.querySelector('#player audio').paused")
    assert "is-current" in page.get_attribute(".playlist-track:nth-child(2)", "class")
