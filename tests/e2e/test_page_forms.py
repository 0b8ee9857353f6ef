"""Forms that answer on the page, plain downloads, Back that restores the controls, the embed
snippet, the password change and the log-in sentence: reached by clicking links and pressing
Back/Forward, on a desktop and a phone."""
from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import wait_until, watch_csp
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.e2e

VIEWPORTS = pytest.mark.parametrize(
    "viewport", [{"width": 1366, "height": 900}, {"width": 390, "height": 844}], ids=["desktop", "phone"]
)


@pytest.fixture()
def open_page(browser):
    """A page in a context of the given size; its Content-Security-Policy refusals are checked at the end."""
    opened = []

    def make(viewport, **options):
        context = browser.new_context(viewport=viewport, accept_downloads=True, **options)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.csp_violations = watch_csp(page)
        opened.append((context, page))
        return page

    yield make
    for context, page in opened:
        violations = page.csp_violations
        context.close()
        assert violations == [], "Content-Security-Policy refused something on a page"


def nav(page, label: str) -> None:
    """Click a main-navigation link, opening the phone menu first when the link is hidden."""
    link = page.locator("nav[aria-label=Main]").get_by_role("link", name=label, exact=True)
    if not link.is_visible():
        page.locator("label[for=nav-toggle]:visible, button.nav-toggle:visible, .nav-toggle:visible").first.click()
    link.click()


def log_in(page, base: str, name: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/")
    nav(page, "Log in")
    page.fill("input[name=login]", name)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]:has-text('Log in')")
    page.wait_for_url(re.compile(r"/$"), timeout=30_000)  # a password hash on a loaded machine


def no_field_dump(page) -> None:
    assert "?file=" not in page.url and "%5Bobject" not in page.url and "basename=" not in page.url


@VIEWPORTS
def test_catalogue_upload_errors_and_success_appear_in_the_form(live_server, open_page, viewport, audio_file, tmp_path):
    with live_server.app.app_context():
        make_user("boss", admin=True)
    page = open_page(viewport)
    log_in(page, live_server.url, "boss")
    nav(page, "Admin")
    page.click("main >> a:has-text('Audio')")
    page.wait_for_url("**/admin/catalogue/audio")
    form = page.locator("#audio-upload")

    fake = tmp_path / "fake.mp3"
    fake.write_bytes(b"not audio at all " * 400)
    form.locator("input[type=file]").set_input_files(str(fake))
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#audio-upload-error:has-text('not MP3, Ogg or FLAC audio')")
    no_field_dump(page)
    assert page.url.endswith("/admin/catalogue/audio")

    page.locator("#audio-upload input[type=file]").set_input_files(str(audio_file("mp3", name="Opening.mp3")))
    page.locator("#audio-upload button[type=submit]").click()
    page.wait_for_selector("#audio-upload .flash-success:has-text('Uploaded “Opening”')")
    assert page.locator("#admin-list td strong", has_text="Opening").count() == 1  # the list refreshed
    no_field_dump(page)

    page.locator("#audio-upload input[type=file]").set_input_files(str(audio_file("ogg", name="Other.ogg")))
    page.fill("#audio-upload input[name=basename]", "Opening")
    page.locator("#audio-upload button[type=submit]").click()
    page.wait_for_selector("#audio-upload .error:has-text('has already been taken')")
    assert page.input_value("#audio-upload input[name=basename]") == "Opening"

    # Over the limit: refused in the browser with the limit, before anything is sent.
    big = tmp_path / "big.mp3"
    with big.open("wb") as handle:
        handle.truncate(51 * 1024 * 1024)
    uploads = []
    page.on("request", lambda request: uploads.append(request.url) if request.method == "POST" else None)
    page.locator("#audio-upload input[type=file]").set_input_files(str(big))
    page.locator("#audio-upload button[type=submit]").click()
    page.wait_for_selector("#audio-upload-error:has-text('Max 50 MB')")
    page.wait_for_timeout(300)
    assert uploads == []
    no_field_dump(page)


@VIEWPORTS
def test_collection_forms_upload_refresh_and_copy_the_embed_code(live_server, open_page, viewport, audio_file, tmp_path):
    with live_server.app.app_context():
        make_user("maker")
    page = open_page(viewport)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    log_in(page, live_server.url, "maker")
    nav(page, "Collections")
    page.wait_for_url("**/collections")

    page.click("button:has-text('Create collection')")  # blank title
    page.wait_for_selector(".error:has-text('Give the collection a title.')")
    page.fill("input[name=title]", "Demo tapes")
    page.click("button:has-text('Create collection')")
    page.wait_for_selector("h1:has-text('Demo tapes')")
    assert "/collections/" in page.url
    page.wait_for_selector("#no-tracks")

    fake = tmp_path / "notes.mp3"
    fake.write_bytes(b"plain text " * 300)
    page.set_input_files("#file-input", [str(audio_file("mp3", seconds=2.0, name="song.mp3")), str(fake)])
    page.wait_for_selector(".upload-outcome :text('Uploaded 1 file: processing.')")
    page.wait_for_selector(".upload-outcome :text('notes.mp3: The file is not MP3, Ogg or FLAC audio.')")
    assert page.locator("#no-tracks").count() == 0
    wait_until(page, "document.querySelectorAll('.track-item[data-status=ready]').length === 1", timeout=20_000)
    assert page.locator(".track-item").count() == 1  # no ghost for the refused file

    # Over the limit: said in the form, nothing created.
    big = tmp_path / "big.flac"
    with big.open("wb") as handle:
        handle.truncate(51 * 1024 * 1024)
    page.set_input_files("#file-input", str(big))
    page.wait_for_selector("#track-upload-error:has-text('Max 50 MB')")
    assert page.locator(".track-item").count() == 1

    page.click(".track-item summary:has-text('Edit player')")
    page.fill(".track-item input[name=player_title]", "Night drive")
    page.click(".track-item .track-edit button:has-text('Save')")
    page.wait_for_selector(".track-item [role=status]:has-text('Saved.')")
    assert page.locator(".track-item strong", has_text="Night drive").count() == 1
    no_field_dump(page)
    assert "player_title" not in page.url

    page.click("button:has-text('Copy embed code')")
    page.wait_for_selector("button:has-text('Copied')")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("<iframe src=\"http") and "/embed/track/" in copied and copied.endswith("</iframe>")


@VIEWPORTS
def test_soundboard_admin_forms_answer_in_place(live_server, open_page, viewport, audio_file):
    with live_server.app.app_context():
        make_user("boss", admin=True)
    page = open_page(viewport)
    log_in(page, live_server.url, "boss")
    nav(page, "Admin")
    page.click("main >> a:has-text('Milestones')")
    page.wait_for_selector("h1:has-text('Milestones')")
    url = page.url
    page.fill("#m-count", "abc")
    page.click("#milestone-add button:has-text('Add')")
    page.wait_for_selector("#milestone-add-error:has-text('Milestone count must be an integer.')")
    assert page.url == url and page.input_value("#m-count") == "abc"
    page.fill("#m-count", "123456")
    page.click("#milestone-add button:has-text('Add')")
    page.wait_for_selector("text=Milestone added.")
    assert page.locator("#sb-milestones input[name=count][value='123456']").count() == 1

    page.click("nav.sb-tabs >> text=Admin")
    page.wait_for_selector("h1:has-text('Sounds')")
    clip = str(audio_file("mp3", name="yay.mp3"))
    for attempt in range(2):
        page.set_input_files("#u-file", clip)
        page.fill("#u-filename", "yay")
        page.fill("#u-display", "Yay!")
        page.click("#sound-upload button[type=submit]")
        if attempt == 0:
            page.wait_for_selector("#sound-upload .flash-success:has-text('Uploaded “yay”')")
            assert page.locator("#sb-admin-sounds tr[data-sound-row]").count() == 1  # the list refreshed
    page.wait_for_selector("#sound-upload-error:has-text('Sound filename already in use.')")
    assert page.input_value("#u-display") == "Yay!"  # what was typed stays
    no_field_dump(page)


@VIEWPORTS
def test_downloads_are_downloads(live_server, open_page, viewport):
    from blueprints.catalogue import services as catalogue
    from blueprints.playlists import services as playlists
    from models.playlist import PUBLIC

    assert live_server.app.test_cli_runner().invoke(args=["seed"]).exit_code == 0
    with live_server.app.app_context():
        playlist = playlists.create_playlist(make_user("curator"), {"name": "Road trip", "visibility": PUBLIC})
        playlists.add_track(playlist, {"audio_id": catalogue.find(catalogue.AUDIO, "StarlightDrive-OP1").id})
    page = open_page(viewport)
    page.goto(f"{live_server.url}/")
    nav(page, "Audio")
    page.click(".audio-row a:has-text('StarlightDrive-OP1')")
    page.wait_for_selector("h1:has-text('StarlightDrive-OP1')")
    with page.expect_download() as download:
        page.click("a:has-text('Download')")
    assert download.value.suggested_filename.startswith("StarlightDrive-OP1.")
    assert page.locator("h1").inner_text() == "StarlightDrive-OP1"  # the page is still the page

    nav(page, "Playlists")
    page.click("main a.card:has-text('Road trip')")
    page.wait_for_selector("a:has-text('Export M3U')")
    for label, suffix in (("Export M3U", ".m3u"), ("Export JSON", ".json")):
        with page.expect_download() as download:
            page.click(f"a:has-text('{label}')")
        assert download.value.suggested_filename.endswith(suffix)

    nav(page, "Images")
    page.locator(".image-card").first.click()
    page.wait_for_selector("h1")
    assert page.locator("h1").inner_text() not in ("Cover", "Small Cover", "Grill")  # says whose image it is
    with page.expect_download() as download:
        page.click("dd >> a:has-text('Download')")
    assert download.value.suggested_filename.endswith((".png", ".jpg", ".jpeg", ".webp"))
    page.click("dd >> a:has-text('Open')")
    page.wait_for_load_state()
    assert "/stream/image/" in page.url and page.locator("img").count() == 1  # the browser's image view, not bytes as text
    # Chromium's own image viewer styles itself inline, which the media response's policy refuses:
    # that refusal is the browser's page, not ours.
    page.csp_violations[:] = [v for v in page.csp_violations if "inline style" not in v]


@VIEWPORTS
def test_back_restores_the_controls_that_made_the_list(live_server, open_page, viewport):
    assert live_server.app.test_cli_runner().invoke(args=["seed"]).exit_code == 0
    page = open_page(viewport)
    page.goto(f"{live_server.url}/")
    nav(page, "Audio")
    page.wait_for_url("**/audio")
    page.fill("#audio-search", "starlight")
    page.wait_for_url(re.compile(r"q=starlight"))
    page.select_option("#audio-format", "flac")
    page.wait_for_url(re.compile(r"format=flac"))
    wait_until(page, "[...document.querySelectorAll('.audio-row')].every(r => /StarlightDrive/.test(r.textContent))")
    rows = page.locator(".audio-row").count()
    page.locator(".audio-row .audio-meta a").first.click()
    page.wait_for_selector("a:has-text('All audio')")
    page.go_back()
    page.wait_for_url(re.compile(r"format=flac"))
    page.wait_for_selector("#audio-search")
    assert page.input_value("#audio-search") == "starlight"
    assert page.input_value("#audio-format") == "flac"
    assert page.locator(".audio-row").count() == rows
    page.go_forward()
    page.wait_for_selector("a:has-text('All audio')")
    page.go_back()
    page.wait_for_selector("#audio-search")
    assert page.input_value("#audio-search") == "starlight" and page.input_value("#audio-format") == "flac"

    nav(page, "Images")
    page.click("nav[aria-label=Facets] >> text=Grill")
    page.wait_for_url(re.compile(r"facet=Grill"))
    page.locator(".image-card").first.click()
    page.wait_for_selector("a:has-text('All images')")
    page.go_back()
    page.wait_for_selector("nav[aria-label=Facets] a[aria-current=page]")
    assert page.locator("nav[aria-label=Facets] a[aria-current=page]").inner_text() == "Grill"


@VIEWPORTS
def test_login_sentence_and_password_change(live_server, open_page, viewport, browser):
    with live_server.app.app_context():
        make_user("walker")
    page = open_page(viewport)
    page.goto(f"{live_server.url}/")
    nav(page, "Collections")  # needs a session
    page.wait_for_selector("text=Log in to see that page.")
    assert "/login?next=" in page.url
    page.fill("input[name=login]", "walker")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]:has-text('Log in')")
    page.wait_for_selector("h1:has-text('My collections')")

    other = open_page(viewport)  # a second browser logged in as the same account
    log_in(other, live_server.url, "walker")

    nav(page, "walker")
    page.wait_for_selector("h1:has-text('Settings')")
    page.fill("#current_password", "wrong password")
    page.fill("#new_password", "a new long password")
    page.fill("#confirm", "a new long password")
    page.click("button:has-text('Change password')")
    page.wait_for_selector("text=The current password is not correct.")
    assert page.locator("text=The current password is not correct.").count() == 1
    page.fill("#current_password", PASSWORD)
    page.fill("#new_password", "a new long password")
    page.fill("#confirm", "a new long password")
    page.click("button:has-text('Change password')")
    page.wait_for_selector("text=Password changed.")

    nav(other, "Collections")  # the other session has ended
    other.wait_for_selector("text=Log in to see that page.")
