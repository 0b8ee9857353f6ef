"""Under the real Content-Security-Policy: every page loads with nothing refused, boosted
navigation keeps working, the track player can be framed by another site and other pages cannot."""
from __future__ import annotations

import http.server
import threading
import time

import pytest
from sqlalchemy import select

from extensions import db
from tests.e2e.conftest import login_as
from tests.test_security_headers import _page_urls, seed_pages

pytestmark = pytest.mark.e2e


@pytest.fixture()
def seeded(live_server):
    seed_pages(live_server.app, "cspadmin")
    return live_server


def test_every_page_loads_without_a_policy_refusal(seeded, page):
    base = seeded.url
    login_as(page, base, "cspadmin")
    urls = _page_urls(seeded.app)
    for url in urls:
        page.goto(f"{base}{url}")
        page.wait_for_load_state("load")
    # Boosted navigation swaps pages in and runs their scripts under the same policy.
    page.goto(f"{base}/")
    page.click("nav >> text=Audio")
    page.wait_for_selector(".audio-row")
    page.click("nav >> text=Playlists")
    page.wait_for_url(f"{base}/playlists")
    page.go_back()
    page.wait_for_selector(".audio-row")
    assert page.evaluate("htmx.config.includeIndicatorStyles === false && htmx.config.allowEval === false")
    assert page.evaluate("document.querySelectorAll('head style').length") == 0
    # The fixture fails the test if the browser reported any refusal on the way.


def test_only_the_track_player_can_be_framed_by_another_site(seeded, page):
    from models.tracks import Track, TrackStatus

    with seeded.app.app_context():
        track_id = db.session.scalar(select(Track.id).where(Track.status == TrackStatus.ready).order_by(Track.id))
    embed_url = f"{seeded.url}/embed/track/{track_id}"
    audio_url = f"{seeded.url}/audio"
    html = f'<iframe id="player" src="{embed_url}"></iframe><iframe id="other" src="{audio_url}"></iframe>'.encode()

    class OtherSite(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    other_site = http.server.HTTPServer(("127.0.0.1", 0), OtherSite)
    threading.Thread(target=other_site.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{other_site.server_port}/")  # another origin than the app's
        player = page.frame_locator("#player")
        player.locator(".embed-title").wait_for()
        colour = player.locator(".embed-player").evaluate("e => getComputedStyle(e).getPropertyValue('--player').trim()")
        assert colour.startswith("#")  # tracks.js ran inside the frame and set the track's colour
        deadline = time.monotonic() + 5
        while not any("frame-ancestors 'none'" in text for text in page.csp_violations) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [text for text in page.csp_violations if "frame-ancestors 'none'" in text], page.csp_violations
        assert page.frame_locator("#other").locator(".audio-row").count() == 0
    finally:
        other_site.shutdown()
    page.csp_violations.clear()  # the refusal was the point of this test
