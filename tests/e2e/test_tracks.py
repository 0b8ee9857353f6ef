"""Drop two audio files on a collection page, watch the list show them processed, play one embedded."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import login_as, wait_until
from tests.factories import make_user

pytestmark = pytest.mark.e2e


def test_drop_two_files_then_play_in_the_embed_page(live_server, page, audio_file):
    with live_server.app.app_context():
        make_user("maker")
    base = live_server.url
    login_as(page, base, "maker")
    page.goto(f"{base}/collections")
    page.fill("input[name=title]", "Demo tapes")
    page.click("button:has-text('Create collection')")
    page.wait_for_selector("h1:has-text('Demo tapes')")

    files = [audio_file("mp3", seconds=3.0, name="first.mp3"), audio_file("flac", seconds=3.0, name="second.flac")]
    payload = [{"name": f.name, "mimeType": "audio/mpeg" if f.suffix == ".mp3" else "audio/flac", "buffer": list(f.read_bytes())} for f in files]
    # A real drop event carrying both files, as a person dragging them from their desktop would make.
    page.evaluate(
        """(files) => {
            const transfer = new DataTransfer();
            for (const f of files) transfer.items.add(new File([new Uint8Array(f.buffer)], f.name, {type: f.mimeType}));
            const zone = document.querySelector('[data-dropzone]');
            zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: transfer, bubbles: true, cancelable: true}));
            zone.dispatchEvent(new DragEvent('drop', {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }""",
        payload,
    )
    # The list refreshes itself: both tracks appear, then turn ready, without a reload.
    page.wait_for_selector("text=Uploaded 2 files: processing.")
    wait_until(page, "document.querySelectorAll('.track-item[data-status=ready]').length === 2", timeout=20_000)
    assert page.locator("#no-tracks").count() == 0
    embed_url = page.locator("a:has-text('Open the embed player')").first.get_attribute("href")

    page.goto(embed_url)
    page.wait_for_selector(".embed-title")
    page.evaluate("document.querySelector('audio').muted = true")
    page.click("[data-play]")
    wait_until(page, "document.querySelector('audio').currentTime > 0.3")
    # Click-to-seek on the waveform: near the end of the track.
    box = page.locator("canvas[data-seek]").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.9, box["y"] + box["height"] / 2)
    wait_until(page, "document.querySelector('audio').currentTime > 2.0")
