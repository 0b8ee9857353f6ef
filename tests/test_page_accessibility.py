"""Page markup the accessibility check relies on, without a browser: alt text that describes the
picture, one h1 on the soundboard's pages, the menu button's state and the admin's filename pattern."""
from __future__ import annotations

import re


def test_images_are_described_by_facet_and_owner_not_by_path(app, client):
    assert app.test_cli_runner().invoke(args=["seed"]).exit_code == 0
    grid = client.get("/images").get_data(as_text=True)
    alts = re.findall(r'<img [^>]*alt="([^"]*)"', grid)
    assert alts and all("/" not in alt and "." not in alt for alt in alts), alts
    assert any(re.fullmatch(r"Cover of [A-Z].+", alt) for alt in alts), alts
    detail_url = re.search(r'href="(/images/\d+)"', grid)[1]
    detail = client.get(detail_url).get_data(as_text=True)
    assert re.search(r'<img [^>]*alt="[A-Z][\w ]+ of [^"/]+"', detail)


def test_every_soundboard_page_has_one_h1(client):
    for path in ("/soundboard", "/soundboard/board", "/soundboard/rankings", "/soundboard/statistics"):
        assert client.get(path).get_data(as_text=True).count("<h1") == 1, path


def test_the_menu_is_a_button_that_says_what_it_controls(client):
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'<button type="button" class="nav-toggle" aria-expanded="false" aria-controls="nav-links"', page)
    assert 'id="nav-links"' in page and 'type="checkbox"' not in page


def test_the_soundboard_admin_filename_pattern_compiles_with_the_v_flag(app, client):
    from tests.factories import login, make_user

    with app.app_context():
        make_user("boss", admin=True)
    login(client, "boss")
    page = client.get("/soundboard/admin").get_data(as_text=True)
    pattern = re.search(r'id="u-filename"[^>]*pattern="([^"]+)"', page)[1]
    # Under the v flag a "-" inside a class must be escaped, or the browser drops the whole check.
    inside = re.search(r"\[(.*)\]", pattern)[1]
    assert re.search(r"(?<!\\)-", inside.replace("A-Z", "").replace("a-z", "").replace("0-9", "")) is None, pattern
