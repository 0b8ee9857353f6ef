"""Two pages open: a click in one moves the counter in the other within a second."""
from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import wait_until

pytestmark = pytest.mark.e2e


def test_click_in_one_page_moves_the_counter_in_the_other(live_server, browser):
    assert live_server.app.test_cli_runner().invoke(args=["seed"]).exit_code == 0
    first = browser.new_context().new_page()
    second = browser.new_context(viewport={"width": 390, "height": 800}).new_page()  # a phone
    try:
        for page in (first, second):
            page.goto(f"{live_server.url}/soundboard")
            wait_until(page, "document.documentElement.dataset.sbSocket === 'open'")
        assert second.inner_text("#sb-counter") == "0"
        first.click("#sb-big-button")
        started = time.monotonic()
        wait_until(second, "document.getElementById('sb-counter').textContent === '1'", timeout=1000)
        assert time.monotonic() - started < 1.0
        for _ in range(4):
            first.keyboard.press("Space")
        wait_until(second, "document.getElementById('sb-counter').textContent === '5'", timeout=2000)
        # The board: a clip's own count moves on the other page too.
        first.goto(f"{live_server.url}/soundboard/board")
        second.goto(f"{live_server.url}/soundboard/board")
        for page in (first, second):
            wait_until(page, "document.documentElement.dataset.sbSocket === 'open'")
        first.click("#sound-explosion [data-board-click]")
        wait_until(second, "document.querySelector('#sound-explosion [data-count]').textContent === '1'", timeout=1000)
        # Search as you type hides the rest.
        second.fill("#sb-search", "fanf")
        assert second.locator(".sb-item:not([hidden])").count() == 1
    finally:
        first.context.close()
        second.context.close()
