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


# Counts what the page does: every clip played and every socket opened, across boosted navigations
# (an init script runs once per document, and boosted navigation keeps the document).
COUNT_PLAYS_AND_SOCKETS = """
window.__plays = 0;
const realPlay = HTMLMediaElement.prototype.play;
HTMLMediaElement.prototype.play = function () { window.__plays++; return realPlay.call(this); };
window.__sockets = [];
const RealWebSocket = window.WebSocket;
window.WebSocket = function (url, protocols) {
  const socket = new RealWebSocket(url, protocols);
  window.__sockets.push(socket);
  return socket;
};
window.WebSocket.prototype = RealWebSocket.prototype;
Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
"""


def _open_sockets(page) -> int:
    return page.evaluate("window.__sockets.filter(s => s.readyState <= 1).length")


def _sound_count(base: str, filename: str) -> int:
    import requests

    return next(s["count"] for s in requests.get(f"{base}/api/sounds", timeout=5).json() if s["filename"] == filename)


@pytest.mark.parametrize("viewport", [{"width": 1366, "height": 900}, {"width": 390, "height": 844}], ids=["desktop", "phone"])
def test_soundboard_pages_reached_by_links_set_themselves_up_once(live_server, browser, viewport):
    assert live_server.app.test_cli_runner().invoke(args=["seed"]).exit_code == 0
    context = browser.new_context(viewport=viewport)
    context.add_init_script(COUNT_PLAYS_AND_SOCKETS)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/")
        if viewport["width"] < 600:
            page.click("button.nav-toggle")
        page.click("nav[aria-label=Main] >> text=Soundboard")
        wait_until(page, "document.documentElement.dataset.sbSocket === 'open'")
        for tab in ("Board", "Rankings", "Home", "Statistics", "Board", "Home", "Board"):
            page.click(f"nav.sb-tabs >> text={tab}")
            page.wait_for_selector(f"nav.sb-tabs a[aria-current=page]:text('{tab}')")
        page.go_back()
        page.wait_for_selector("nav.sb-tabs a[aria-current=page]:text('Home')")
        page.go_forward()
        page.wait_for_selector("#sound-explosion")
        wait_until(page, "document.documentElement.dataset.sbSocket === 'open'")
        assert _open_sockets(page) == 1
        key_one = page.get_attribute(".sb-item[data-key='1']", "data-sound")
        before = _sound_count(live_server.url, key_one)
        page.keyboard.press("1")
        page.wait_for_timeout(800)
        assert page.evaluate("window.__plays") == 1  # one press, one clip
        assert _sound_count(live_server.url, key_one) == before + 1  # and one click counted
        # Leaving the soundboard by a link closes its socket; coming back opens exactly one.
        if viewport["width"] < 600:
            page.click("button.nav-toggle")
        page.click("nav[aria-label=Main] >> text=Audio")
        page.wait_for_url("**/audio")
        wait_until(page, "window.__sockets.every(s => s.readyState >= 2)")
        page.go_back()
        wait_until(page, "document.documentElement.dataset.sbSocket === 'open'")
        assert _open_sockets(page) == 1
    finally:
        context.close()
