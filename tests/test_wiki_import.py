"""`flask catalogue import`: Themeboard -> Themeboard over loopback, a real gunicorn server with the
demo wiki as the source, imported twice into the test database."""
from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

import pytest
from sqlalchemy import func, select

from blueprints.catalogue.importer import INCLUDE
from extensions import db
from models.cache import DataVersion
from models.catalogue import Anime, AnimeTheme, AnimeThemeEntry, Artist, Audio, Image, Song, Video
from tests.servers import ROOT, Gunicorn, free_port

pytestmark = pytest.mark.slow
SEED_WIKI = "from app import create_app; from blueprints.catalogue.seed import seed_catalogue; app = create_app(); app.app_context().push(); seed_catalogue(lambda n: None)"
VOLATILE = {"created_at", "updated_at", "deleted_at", "link"}


@pytest.fixture()
def source(tmp_path, server_database):
    server = Gunicorn({"MEDIA_ROOT": str(tmp_path / "source-media"), "DATABASE_URL": server_database}, workers=1)
    server.migrate()
    subprocess.run([sys.executable, "-c", SEED_WIKI], cwd=ROOT, env=server.env, check=True, capture_output=True)
    server.start()
    yield server
    server.stop()


def _normalised(node):
    """The library as content: no ids, timestamps or links (those are each server's own), lists in a fixed order."""
    if isinstance(node, dict):
        return {key: _normalised(value) for key, value in node.items() if key not in VOLATILE and not key.endswith("_id")}
    if isinstance(node, list):
        return sorted((_normalised(item) for item in node), key=lambda item: json.dumps(item, sort_keys=True, ensure_ascii=False))
    return node


def _library(get_json) -> list:
    return _normalised(get_json(f"/api/anime?include={INCLUDE}&page[size]=100&sort=slug")["anime"])


def _counts(app) -> dict:
    with app.app_context():
        counts = {model.__name__: db.session.scalar(select(func.count()).select_from(model)) for model in (Anime, AnimeTheme, AnimeThemeEntry, Song, Artist, Video, Audio, Image)}
        counts["version"] = db.session.scalar(select(DataVersion.version).where(DataVersion.name == "library"))
        return counts


def test_import_copies_the_wiki_and_a_second_run_changes_nothing(app, client, runner, source):
    def remote(path):
        with urllib.request.urlopen(source.url + path, timeout=10) as response:
            return json.load(response)

    first = runner.invoke(args=["catalogue", "import", source.url, "--page-size", "2", "--download"])
    assert first.exit_code == 0, first.output
    assert "Imported 5 anime from 3 page(s)" in first.output
    assert _library(lambda path: client.get(path).get_json()) == _library(remote)
    before = _counts(app)
    assert before["AnimeTheme"] == 13 and before["Audio"] == 14 and before["Video"] == 28

    # Files came along: the imported audio streams the same bytes as the source.
    with urllib.request.urlopen(f"{source.url}/stream/audio/Frostbound-OP1.mp3", timeout=10) as response:
        original = response.read()
    assert client.get("/stream/audio/Frostbound-OP1.mp3").data == original
    cover = remote("/api/anime/frostbound?include=images")["anime"]["images"][0]["path"]
    assert client.get(f"/stream/image/{cover}").status_code == 200

    second = runner.invoke(args=["catalogue", "import", source.url, "--download"])
    assert second.exit_code == 0, second.output
    assert "0 row(s) written, 0 file(s) downloaded" in second.output
    assert _counts(app) == before  # not a row, not even the cache's data version


def test_import_errors_are_clear(runner, source):
    closed = f"http://127.0.0.1:{free_port()}"
    unreachable = runner.invoke(args=["catalogue", "import", closed, "--timeout", "2"])
    assert unreachable.exit_code == 1 and "Could not reach" in unreachable.output
    missing = runner.invoke(args=["catalogue", "import", f"{source.url}/nothing-here"])
    assert missing.exit_code == 1 and "answered HTTP 404" in missing.output
    not_a_url = runner.invoke(args=["catalogue", "import", "ftp://example.com"])
    assert not_a_url.exit_code == 1 and "is not an http(s) URL" in not_a_url.output
