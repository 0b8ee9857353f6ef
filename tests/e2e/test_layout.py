"""Layout and keyboard, reached by clicking as people do: long names fit a phone, the phone menu
opens from the keyboard, the statistics chart reads, the soundboard admin is short and checks names."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import login_as
from tests.factories import make_user

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
LONG_USER = "Long" + "n" * 56 + "name"
LONG_PLAYLIST = "Soundtrack_" * 17 + "final"


def _context(browser, viewport):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


def _wide(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_long_names_wrap_or_truncate(live_server, browser, viewport):
    from blueprints.playlists.services import create_playlist
    from models.playlist import PUBLIC

    with live_server.app.app_context():
        create_playlist(make_user(LONG_USER), {"name": LONG_PLAYLIST, "visibility": PUBLIC})
    context, page = _context(browser, viewport)
    try:
        login_as(page, live_server.url, LONG_USER)
        phone = viewport["width"] < 720
        if phone:
            page.click("button.nav-toggle")
        page.click("nav[aria-label=Main] >> text=Playlists")
        page.wait_for_selector("h1:has-text('Public playlists')")
        assert _wide(page) <= viewport["width"]
        page.click(f"a:has-text('{LONG_PLAYLIST[:30]}')")
        page.wait_for_selector("h1:has-text('Soundtrack_')")
        assert _wide(page) <= viewport["width"]
        if phone:
            page.click("button.nav-toggle")
        # "Log out" stays on screen; the long name is cut short, with the whole of it on hover.
        logout = page.locator("button:has-text('Log out')").bounding_box()
        assert logout is not None and logout["x"] + logout["width"] <= viewport["width"]
        assert page.get_attribute(".nav-user", "title") == LONG_USER
    finally:
        context.close()


def test_the_phone_menu_opens_from_the_keyboard(live_server, browser):
    context, page = _context(browser, PHONE)
    try:
        page.goto(f"{live_server.url}/")
        assert not page.is_visible("nav[aria-label=Main] >> text=Audio")
        for _ in range(5):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.classList.contains('nav-toggle')"):
                break
        assert page.evaluate("document.activeElement.tagName") == "BUTTON"
        assert page.get_attribute(".nav-toggle", "aria-controls") == "nav-links"
        page.keyboard.press("Enter")
        assert page.get_attribute(".nav-toggle", "aria-expanded") == "true"
        assert page.is_visible("nav[aria-label=Main] >> text=Audio")
        page.keyboard.press("Escape")
        assert page.get_attribute(".nav-toggle", "aria-expanded") == "false"
        assert not page.is_visible("nav[aria-label=Main] >> text=Audio")
    finally:
        context.close()


def test_statistics_chart_names_months_and_shows_values_on_hover(live_server, browser):
    import requests

    assert live_server.app.test_cli_runner().invoke(args=["seed"]).exit_code == 0
    for _ in range(3):
        requests.post(f"{live_server.url}/api/soundboard/click", json={"type": "click", "soundFilename": "encore"}, timeout=5)
    context, page = _context(browser, DESKTOP)
    try:
        page.goto(f"{live_server.url}/")
        page.click("nav[aria-label=Main] >> text=Soundboard")
        page.click("nav.sb-tabs >> text=Statistics")
        page.wait_for_selector("h1:has-text('Statistics')")
        labels = page.locator(".sb-bar text:not(.sb-bar-value)").all_text_contents()
        assert len(labels) == 12 and all(label.isalpha() and len(label) == 3 for label in labels)
        last = page.locator(".sb-bar").last
        value = last.locator(".sb-bar-value")
        assert value.evaluate("el => getComputedStyle(el).opacity") == "0"
        last.hover()
        page.wait_for_timeout(300)  # the fade
        assert value.evaluate("el => getComputedStyle(el).opacity") == "1" and value.text_content() == "3"
        assert page.locator(".sb-chart-table tbody tr").last.text_content().strip().endswith("3")
    finally:
        context.close()


def test_soundboard_admin_is_short_on_a_phone_and_checks_filenames(live_server, browser):
    assert live_server.app.test_cli_runner().invoke(args=["seed"]).exit_code == 0
    with live_server.app.app_context():
        make_user("boss", admin=True)
    context, page = _context(browser, PHONE)
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    try:
        login_as(page, live_server.url, "boss")
        page.click("button.nav-toggle")
        page.click("nav[aria-label=Main] >> text=Soundboard")
        page.click("nav.sb-tabs >> text=Admin")
        page.wait_for_selector("h1:has-text('Sounds')")
        assert page.locator("[data-sound-row]").count() == 16
        assert page.evaluate("document.documentElement.scrollHeight") < 3000
        page.click("summary:has-text('Upload an MP3')")
        field = page.locator("#u-filename")
        field.fill("no spaces allowed")
        assert field.evaluate("el => el.validity.patternMismatch")
        field.fill("good_name-1")
        assert not field.evaluate("el => el.validity.patternMismatch")
        assert not [error for error in errors if "pattern" in error.lower()]
    finally:
        context.close()
