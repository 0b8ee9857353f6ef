"""The soundboard's Rankings and Statistics pages: the same per-theme counts on both, each theme its
own figures, the big button's figures labelled as every theme's, months by name with their values."""
from __future__ import annotations

import io
import re
from datetime import UTC, datetime

from blueprints.soundboard import services
from tests.test_soundboard_api import TOKEN

CLIPS = (("encore", "Movie", "megumin"), ("finale", "Movie", "megumin"), ("splash", "OVA", "aqua"))


def _upload_clips(client, audio_file):
    content = audio_file("mp3").read_bytes()
    for filename, source, theme in CLIPS:
        form = {"filename": filename, "displayname": filename.title(), "source": source, "theme": theme, "file": (io.BytesIO(content), "a.mp3")}
        assert client.post("/admin/sounds/upload", data=form, headers=TOKEN, content_type="multipart/form-data").status_code == 200


def _click(client, kind: str, filename: str, times: int) -> None:
    for _ in range(times):
        assert client.post("/api/soundboard/click", json={"type": kind, "soundFilename": filename}).status_code == 200


def _counts(html: str) -> dict[str, int]:
    """Each clip's count as a page lists it: {filename: count}."""
    rows = re.findall(r'<li data-sound="([^"]+)">.*?data-count>([\d,]+)<', html, re.S)
    return {name: int(count.replace(",", "")) for name, count in rows}


def _theme_total(html: str) -> int:
    return int(re.search(r"data-theme-total>([\d,]+)<", html)[1].replace(",", ""))


def test_rankings_and_statistics_show_the_same_counts_per_theme(client, audio_file):
    _upload_clips(client, audio_file)
    _click(client, "sbClick", "encore", 7)  # board plays: counted on the clip
    _click(client, "sbClick", "finale", 2)
    _click(client, "sbClick", "splash", 4)
    _click(client, "click", "encore", 3)  # big-button presses: the counter and the daily statistics

    rankings = client.get("/soundboard/rankings?theme=megumin").get_data(as_text=True)
    statistics = client.get("/soundboard/statistics?theme=megumin").get_data(as_text=True)
    assert _counts(rankings) == _counts(statistics) == {"encore": 7, "finale": 2}
    assert _theme_total(statistics) == sum(_counts(rankings).values()) == 9
    assert "9 plays of 2 clips" in rankings
    # The big button's figures are every theme's, and say so; no clip has more plays than "all time" pretends.
    assert "Big button, every theme" in statistics
    assert re.search(r'data-summary="alltime">3<', statistics)

    aqua = client.get("/soundboard/statistics?theme=aqua").get_data(as_text=True)
    assert _counts(aqua) == {"splash": 4} and _theme_total(aqua) == 4
    assert "Statistics · Aqua" in aqua and "Statistics · Megumin" in statistics


def test_theme_plays_counts_every_clip_of_the_board(app, client, audio_file):
    _upload_clips(client, audio_file)
    _click(client, "sbClick", "finale", 5)
    with app.app_context():
        plays = services.theme_plays("megumin", limit=1)
        assert [sound.filename for sound in plays.top] == ["finale"]
        assert (plays.total, plays.clips) == (5, 2)
        assert services.theme_plays("nobody").total == 0


def test_the_chart_names_its_months_and_gives_each_value(client, audio_file):
    _upload_clips(client, audio_file)
    _click(client, "click", "encore", 1234)
    html = client.get("/soundboard/statistics").get_data(as_text=True)
    now = datetime.now(UTC)
    month = now.strftime("%B %Y")
    assert f"<title>{month}: 1,234 presses</title>" in html  # on hover
    assert f'<th scope="row">{month}</th><td>1,234</td>' in html  # for screen readers
    labels = re.findall(r'text-anchor="middle">([A-Z][a-z]{2})</text>', html)
    assert len(labels) == 12 and labels[-1] == now.strftime("%b") and not any(label.isdigit() for label in labels)


def test_an_admin_notification_shows_on_every_page(client):
    assert "site-notification" not in client.get("/audio").get_data(as_text=True)
    sent = client.post("/api/admin/notification", json={"text": "Maintenance at noon", "duration": 60}, headers=TOKEN)
    assert sent.status_code == 200
    for path in ("/", "/audio", "/playlists", "/soundboard/rankings"):
        assert 'class="flash site-notification" role="status">Maintenance at noon<' in client.get(path).get_data(as_text=True), path
    page = client.get("/audio").get_data(as_text=True)
    assert 'hx-trigger="every 20s"' in page  # pages without the soundboard's socket poll for the next one
    polled = client.get("/notification")
    assert polled.status_code == 200 and "Maintenance at noon" in polled.get_data(as_text=True)
    assert polled.headers["Cache-Control"] == "no-store"


def test_a_notification_disappears_when_its_time_is_up(app, client, monkeypatch):
    import time as real_time

    from blueprints.soundboard import live as live_module

    assert client.post("/api/admin/notification", json={"text": "Soon over", "duration": 2}, headers=TOKEN).status_code == 200
    assert "Soon over" in client.get("/notification").get_data(as_text=True)
    later = real_time.monotonic() + 3
    monkeypatch.setattr(live_module.time, "monotonic", lambda: later)
    assert "Soon over" not in client.get("/notification").get_data(as_text=True)
