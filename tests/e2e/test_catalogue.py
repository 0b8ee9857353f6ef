"""Play an audio track in the audio browser and seek in it (the stream must honour Range)."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import wait_until

pytestmark = pytest.mark.e2e


def test_play_and_seek_in_the_audio_browser(live_server, page):
    runner = live_server.app.test_cli_runner()
    assert runner.invoke(args=["seed"]).exit_code == 0
    range_requests = []
    page.on("request", lambda r: range_requests.append(r.headers.get("range")) if "/stream/audio/" in r.url else None)
    page.goto(f"{live_server.url}/audio")
    page.fill("input[name=q]", "MelonSodaDays-OP1")  # a 4 s demo theme with one version
    wait_until(page, "document.querySelectorAll('.audio-row').length === 1")
    # The row's play button plays it in the layout's player (rows have no native player of their own).
    assert page.locator(".audio-row audio").count() == 0
    page.evaluate("document.querySelector('#player audio').muted = true")
    page.click(".audio-row [data-play]")
    wait_until(page, "document.querySelector('#player audio').currentTime > 0.2")
    player = page.locator("#player audio")
    player.evaluate("a => { a.currentTime = 3.0; }")
    wait_until(page,
        "(() => { const a = document.querySelector('#player audio'); return a.currentTime >= 3.0 && !a.seeking; })()"
    )
    assert page.text_content("[data-player-title]") == "MelonSodaDays-OP1"
    # The list and the player say the same duration (both round to the second).
    assert page.text_content("[data-player-duration]") in page.text_content(".audio-row .audio-meta")
    seekable_end = player.evaluate("a => a.seekable.length ? a.seekable.end(0) : 0")
    assert seekable_end >= 3.5
    assert any(header and header.startswith("bytes=") for header in range_requests)
