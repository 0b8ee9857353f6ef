"""The layout's player and the pages around it, driven as a person would: clicking links in the
navigation, Back and Forward, keys, on a desktop and a phone-sized window.

- one <audio> element keeps playing through boosted navigation, and a page reached by a link keeps
  its stylesheet;
- a queue (next, previous, the end), Media Session metadata, keyboard shortcuts;
- one "Add to playlist" menu per row (New playlist… with a name, a question before a duplicate),
  with counts that follow adds, removes and undo;
- a page script reached twice by links sets itself up once: one confirm, one request.
"""
from __future__ import annotations

import io

import pytest

from tests.e2e.conftest import login_as, wait_until
from tests.factories import make_user

pytestmark = pytest.mark.e2e

SIZES = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
NAMES = ("Alpha", "Beta", "Gamma")


@pytest.fixture(params=sorted(SIZES))
def sized_page(page, request):
    page.set_viewport_size(SIZES[request.param])
    page.size_name = request.param
    return page


@pytest.fixture()
def library(live_server, audio_file):
    """Three audio tracks long enough to keep playing through a few page changes."""
    from blueprints.catalogue import services as catalogue

    with live_server.app.app_context():
        for name in NAMES:
            path = audio_file("ogg", seconds=40.0, name=f"{name}.ogg")
            catalogue.upload_audio(io.BytesIO(path.read_bytes()), path.name)
    return live_server


def log_in(page, base: str, name: str) -> None:
    """login_as waits for the name in the header, which a phone folds into its menu."""
    page.set_viewport_size(SIZES["desktop"])
    login_as(page, base, name)
    page.set_viewport_size(SIZES[page.size_name])


def click_nav(page, label: str) -> None:
    """Click a link in the main navigation, opening the phone menu first when it is folded."""
    link = page.locator("nav[aria-label=Main] a", has_text=label).first
    if not link.is_visible():
        page.locator("header .nav-toggle-label, header button[aria-controls]").first.click()
    link.click()


def audio_js(expression: str) -> str:
    return f"(() => {{ const a = document.querySelector('#player audio'); return {expression}; }})()"


def start_marker(page) -> None:
    """Something a full page load would forget: proves navigation stayed boosted."""
    page.evaluate("window.__sameDocument = true")


def assert_same_player_still_playing(page, since: float) -> float:
    assert page.evaluate("window.__sameDocument === true"), "the navigation reloaded the page"
    assert page.evaluate("window.__audio === document.querySelector('#player audio') && window.__audio.isConnected")
    assert page.locator("#player audio").count() == 1
    wait_until(page, audio_js(f"!a.paused && a.currentTime > {since}"))
    return page.evaluate(audio_js("a.currentTime"))


def test_the_player_keeps_playing_through_links_back_and_forward(library, sized_page):
    page, base = sized_page, library.url
    page.goto(base)
    start_marker(page)
    click_nav(page, "Audio")
    page.wait_for_selector(".audio-row")
    # The page reached by a link has its own stylesheet: the rows are styled.
    assert page.evaluate("[...document.styleSheets].some(s => (s.href || '').endsWith('/css/catalogue.css'))")
    assert page.evaluate("getComputedStyle(document.querySelector('.audio-row')).backgroundColor") not in ("rgba(0, 0, 0, 0)", "transparent")
    assert page.locator(".audio-row audio").count() == 0  # no native player per row

    page.evaluate("document.querySelector('#player audio').muted = true")
    page.click(".audio-row[data-track-title=Alpha] [data-play]")
    wait_until(page, audio_js("!a.paused && a.currentTime > 0.3"))
    page.evaluate("window.__audio = document.querySelector('#player audio')")
    assert page.text_content("[data-player-title]") == "Alpha"
    played = page.evaluate(audio_js("a.currentTime"))

    click_nav(page, "Playlists")
    page.wait_for_selector("h1:has-text('Public playlists')")
    played = assert_same_player_still_playing(page, played)

    page.go_back()
    page.wait_for_selector(".audio-row")
    played = assert_same_player_still_playing(page, played)
    # The restored page knows which row plays.
    assert "is-current" in page.get_attribute(".audio-row[data-track-title=Alpha]", "class")

    page.go_forward()
    page.wait_for_selector("h1:has-text('Playlists')")
    played = assert_same_player_still_playing(page, played)

    page.go_back()
    page.click(".audio-row[data-track-title=Beta] .audio-meta a")
    page.wait_for_selector("h1:has-text('Beta')")
    assert_same_player_still_playing(page, played)
    assert page.text_content("[data-player-title]") == "Alpha"


def test_queue_media_session_and_keyboard(library, sized_page):
    page, base = sized_page, library.url
    page.goto(base)
    click_nav(page, "Audio")
    page.wait_for_selector(".audio-row")
    page.evaluate("document.querySelector('#player audio').muted = true")
    title = lambda: page.text_content("[data-player-title]")  # noqa: E731

    page.click(".audio-row[data-track-title=Alpha] [data-play]")
    wait_until(page, audio_js("!a.paused && a.currentTime > 0.2"))
    # The lock screen and headset see the track.
    assert page.evaluate("navigator.mediaSession.metadata.title") == "Alpha"
    wait_until(page, "navigator.mediaSession.playbackState === 'playing'")
    assert page.text_content("[data-player-queue-count]") == "3"

    page.keyboard.press("n")
    wait_until(page, "document.querySelector('[data-player-title]').textContent === 'Beta'")
    page.click("#player [data-player-action=next]")
    wait_until(page, "document.querySelector('[data-player-title]').textContent === 'Gamma'")
    wait_until(page, "navigator.mediaSession.metadata.title === 'Gamma'")
    assert page.is_disabled("#player [data-player-action=next]")  # the end of the queue
    page.keyboard.press("p")
    wait_until(page, "document.querySelector('[data-player-title]').textContent === 'Beta'")
    page.click("#player [data-player-action=previous]")
    wait_until(page, "document.querySelector('[data-player-title]').textContent === 'Alpha'")
    wait_until(page, audio_js("!a.paused && a.currentTime > 0.2"))

    # k and space pause and play (space only outside buttons and fields).
    page.keyboard.press("k")
    wait_until(page, audio_js("a.paused"))
    wait_until(page, "navigator.mediaSession.playbackState === 'paused'")
    page.locator("h1").click()
    page.keyboard.press(" ")
    wait_until(page, audio_js("!a.paused"))
    # l and j seek by five seconds.
    before = page.evaluate(audio_js("a.currentTime"))
    page.keyboard.press("l")
    wait_until(page, audio_js(f"a.currentTime >= {before + 4.5}"))
    page.keyboard.press("j")
    wait_until(page, audio_js(f"a.currentTime < {before + 3}"))
    # Typing in a field is typing: "k" goes into the search box and the music plays on.
    page.fill("input[name=q]", "")
    page.focus("input[name=q]")
    page.keyboard.press("k")
    assert page.input_value("input[name=q]") == "k"
    assert page.evaluate(audio_js("!a.paused"))
    assert title() == "Alpha"
    # ? shows the shortcuts; Escape closes them.
    page.locator("h1").click()
    page.keyboard.press("?")
    assert page.is_visible("#player-help")
    page.keyboard.press("Escape")
    assert not page.is_visible("#player-help")
    # On the soundboard the keys are the board's: the music plays on.
    click_nav(page, "Soundboard")
    page.wait_for_selector("#soundboard")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("k")
    page.wait_for_timeout(200)
    assert page.evaluate(audio_js("!a.paused"))


def test_add_to_playlist_menu_duplicates_and_live_counts(library, sized_page):
    page, base = sized_page, library.url
    with library.app.app_context():
        make_user("dj")
    log_in(page, base, "dj")
    click_nav(page, "Audio")
    page.wait_for_selector(".audio-row")
    row = lambda name: page.locator(f".audio-row[data-track-title={name}]")  # noqa: E731

    # New playlist… with a name, from the first row's menu.
    row("Alpha").locator("summary:has-text('Add to playlist')").click()
    row("Alpha").locator("input[name=new_name]").fill("Road trip")
    row("Alpha").locator("button:has-text('Create and add')").click()
    row("Alpha").locator(".add-result:has-text('Added to Road trip')").wait_for()

    # Done, the menu closes (the answer stays beside its button); the next row's menu lists the new
    # playlist with its count.
    assert not row("Alpha").locator(".add-menu-popover").is_visible()
    row("Beta").locator("summary:has-text('Add to playlist')").click()
    item = row("Beta").locator(".menu-item:has-text('Road trip')")
    item.wait_for()
    assert "1 track" in item.text_content()
    item.click()
    row("Beta").locator(".add-result:has-text('Added to Road trip')").wait_for()
    wait_until(page, "[...document.querySelectorAll('.audio-row[data-track-title=Beta] .menu-item')].some(b => b.textContent.includes('2 tracks'))")

    # The same track again: the server asks first, and only "Add again" adds it.
    row("Beta").locator("summary:has-text('Add to playlist')").click()
    with page.expect_response(lambda r: r.url.endswith("/playlists/add-track")):
        item.click()
    row("Beta").locator(".add-result:has-text('Already in Road trip')").wait_for()
    assert "2 tracks" in item.text_content()
    # A menu closes on a click outside it, too.
    row("Gamma").locator("summary:has-text('Add to playlist')").click()
    row("Gamma").locator(".menu-item").first.wait_for()
    page.locator("h1").click()
    assert not row("Gamma").locator(".add-menu-popover").is_visible()
    row("Beta").locator("button:has-text('Add again')").click()
    row("Beta").locator(".add-result:has-text('Added to Road trip')").wait_for()
    wait_until(page, "document.querySelector('.audio-row[data-track-title=Beta] .menu-item').textContent.includes('3 tracks')")

    # The playlist page (by the link in the answer): its header follows Remove and Undo.
    row("Beta").locator(".add-result a:has-text('Road trip')").click()
    page.wait_for_selector("h1:has-text('Road trip')")
    count = page.locator(".playlist-header [data-playlist-count]")
    assert count.text_content() == "3 tracks"
    assert page.locator(".playlist-track").count() == 3
    page.locator(".playlist-track").nth(1).locator("button:has-text('Remove')").click()
    page.wait_for_selector(".playlist-track.removed")
    wait_until(page, "document.querySelector('.playlist-header [data-playlist-count]').textContent === '2 tracks'")
    page.click(".playlist-track.removed button:has-text('Undo')")
    wait_until(page, "document.querySelector('.playlist-header [data-playlist-count]').textContent === '3 tracks'")
    assert page.locator(".playlist-track.removed").count() == 0
    titles = page.locator(".playlist-track").evaluate_all("els => els.map(e => e.dataset.trackTitle)")
    assert titles == ["Alpha", "Beta", "Beta"]  # back in its place

    # Play the playlist: its tracks become the player's queue, in order.
    page.evaluate("document.querySelector('#player audio').muted = true")
    page.click("[data-play-all]:not([data-shuffle])")
    wait_until(page, "document.querySelector('[data-player-title]').textContent === 'Alpha'")
    assert page.text_content("[data-player-queue-count]") == "3"
    click_nav(page, "Playlists")
    page.wait_for_selector("h1:has-text('Playlists')")
    page.click("#player [data-player-action=next]")
    wait_until(page, "document.querySelector('[data-player-title]').textContent === 'Beta'")


def test_a_page_reached_twice_by_links_confirms_once(live_server, sized_page, audio_file):
    """Deleting a collection track after leaving its page and coming back: one question, one request."""
    from blueprints.tracks import processing
    from blueprints.tracks import services as tracks

    page, base = sized_page, live_server.url
    with live_server.app.app_context():
        user = make_user("maker")
        collection = tracks.create_collection(user, {"title": "Demo tapes"})
        for name in ("first", "second"):
            track = tracks.create_track(user, {"collection_id": str(collection.id), "file_name": f"{name}.mp3", "player_title": name})
            tracks.ingest_audio(track, io.BytesIO(audio_file("mp3", seconds=2.0, name=f"{name}.mp3").read_bytes()))
            processing.process_track(track.id)
    log_in(page, base, "maker")
    for _ in range(2):  # there, away, and back again: each visit runs the page's script
        click_nav(page, "Collections")
        page.click("a:has-text('Demo tapes')")
        page.wait_for_selector("h1:has-text('Demo tapes')")
        click_nav(page, "Audio")
        page.wait_for_selector(".audio-row, .empty")
    page.go_back()
    page.wait_for_selector("h1:has-text('Demo tapes')")
    click_nav(page, "Collections")
    page.click("a:has-text('Demo tapes')")
    page.wait_for_selector(".track-item[data-status=ready]")

    dialogs, deletes = [], []
    is_delete = lambda r: r.method == "POST" and r.url.endswith("/delete")  # noqa: E731
    page.on("dialog", lambda d: (dialogs.append((d.type, d.message)), d.accept()))
    page.on("request", lambda r: deletes.append(r.url) if is_delete(r) else None)
    item = page.locator(".track-item:has-text('first')")
    item.locator("summary:has-text('Edit player')").click()
    with page.expect_response(lambda r: is_delete(r.request)):
        item.locator("button:has-text('Delete')").click()
    wait_until(page, "document.querySelectorAll('.track-item').length === 1")
    page.wait_for_timeout(300)  # a second handler would have asked and sent by now
    assert [kind for kind, _ in dialogs] == ["confirm"], dialogs
    assert len(deletes) == 1

    # The collection page's play buttons use the layout's player too.
    page.evaluate("document.querySelector('#player audio').muted = true")
    page.click(".track-item [data-play]")
    wait_until(page, "document.querySelector('[data-player-title]').textContent === 'second'")

    # What a page set up beyond itself is undone when it leaves, once: by a link, and after Back.
    page.evaluate("window.__left = 0; themeboard.onLeave(() => window.__left += 1)")
    click_nav(page, "Audio")
    page.wait_for_selector("h1:has-text('Audio')")
    assert page.evaluate("window.__left") == 1
    page.go_back()
    page.wait_for_selector("h1:has-text('Demo tapes')")
    page.evaluate("themeboard.onLeave(() => window.__left += 1)")
    page.go_forward()
    page.wait_for_selector("h1:has-text('Audio')")
    assert page.evaluate("window.__left") == 2
