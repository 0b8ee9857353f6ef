"""Every page, as a visitor, a user and the admin, on a desktop and a phone: axe-core finds no
serious or critical violation, each page has one h1, and nothing is wider than the screen even
with a 192-character playlist name and a 64-character user name on it.

The pages are found by following links from the home page (tests/e2e/crawl.py), so a new page is
checked without being listed here.
"""
from __future__ import annotations

import pytest

from tests.e2e.conftest import login_as
from tests.e2e.crawl import crawl
from tests.factories import make_user

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
LONG_USER = "Long" + "n" * 56 + "name"  # 64 characters, the most a name may have
LONG_PLAYLIST = "Soundtrack_" * 17 + "final"  # 192 characters and no space to break at
SERIOUS = {"serious", "critical"}


@pytest.fixture()
def demo_server(live_server):
    from blueprints.playlists.services import add_track, create_playlist
    from extensions import db
    from models.playlist import PUBLIC
    from models.catalogue import Audio

    assert live_server.app.test_cli_runner().invoke(args=["seed"]).exit_code == 0
    with live_server.app.app_context():
        make_user("boss", admin=True)
        user = make_user(LONG_USER)
        playlist = create_playlist(user, {"name": LONG_PLAYLIST, "visibility": PUBLIC})
        audio_id = db.session.scalar(db.select(Audio.id).limit(1))
        add_track(playlist, {"audio_id": audio_id})
    return live_server


def check_page(page, url: str, viewport: dict) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    problems = []
    results = Axe().run(page)
    for violation in results.response["violations"]:
        if violation["impact"] in SERIOUS:
            targets = ", ".join(str(node["target"]) for node in violation["nodes"][:3])
            problems.append(f"{url}: {violation['id']} ({violation['impact']}) {violation['help']} at {targets}")
    headings = page.locator("h1").count()
    if headings != 1:
        problems.append(f"{url}: {headings} h1 elements")
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > viewport["width"]:
        problems.append(f"{url}: {width} px wide on a {viewport['width']} px screen")
    return problems


@pytest.mark.parametrize("who", ["anonymous", "user", "admin"])
def test_every_page_is_accessible_and_fits(demo_server, browser, who):
    base = demo_server.url
    problems: list[str] = []
    pages_seen = {}
    for name, viewport in VIEWPORTS.items():
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        page.set_default_timeout(15_000)
        if who != "anonymous":
            login_as(page, base, "boss" if who == "admin" else LONG_USER)
        pages_seen[name] = [url for url in crawl(page, base) if not problems.extend(check_page(page, url, viewport))]
        context.close()
    assert problems == [], "\n".join(problems)
    assert len(pages_seen["desktop"]) >= 10, pages_seen
