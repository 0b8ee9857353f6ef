"""`make screenshots`: the main pages on a desktop and a phone, as PNGs in docs/screenshots/.

Starts Themeboard (gunicorn.conf.py) on a fresh SQLite database with the demo content in a
temporary folder, presses the big button a few times so the statistics have something to show,
and photographs each page with Playwright in /usr/bin/chromium. The PNGs are reduced to 256
colours (Pillow), which keeps each well under 150 KB.

    python tools/screenshots.py [--port 6600]
"""
from __future__ import annotations

import argparse
import io
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "screenshots"
VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
# (file name, path, log in as the admin first)
PAGES = [
    ("home", "/", False),
    ("audio", "/audio", False),
    ("anime", "/anime/frostbound", False),
    ("playlist", None, False),  # the first public playlist, found on /playlists
    ("soundboard", "/soundboard/board", False),
    ("statistics", "/soundboard/statistics", False),
    ("collection", "/collections", True),  # then its first collection
]


# A public playlist of the demo themes, made by the admin (the demo content has none).
PLAYLIST = """
from sqlalchemy import select
from app import create_app
from blueprints.playlists.services import add_track, create_playlist
from extensions import db
from models.catalogue import Audio
from models.playlist import PUBLIC
from models.user import Role, User
with create_app().app_context():
    owner = db.session.scalar(select(User).where(User.role == Role.admin).order_by(User.id).limit(1))
    playlist = create_playlist(owner, {"name": "Night drive", "description": "Openings for the road", "visibility": PUBLIC})
    for audio_id in db.session.scalars(select(Audio.id).order_by(Audio.basename).limit(6)):
        add_track(playlist, {"audio_id": audio_id})
"""


def flask(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return done.stdout


def start_server(env: dict[str, str], port: int) -> subprocess.Popen:
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    process = subprocess.Popen(
        [gunicorn, "-c", "gunicorn.conf.py", "wsgi:app", "-b", f"127.0.0.1:{port}", "-w", "1", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    os.killpg(process.pid, signal.SIGTERM)
    raise SystemExit("the server did not start")


def save_small(png: bytes, path: Path) -> int:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    image.save(path, optimize=True)
    return path.stat().st_size


def photograph(base: str, browser, admin: str, password: str) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for device, viewport in VIEWPORTS.items():
        context = browser.new_context(viewport=viewport, device_scale_factor=1)
        page = context.new_page()
        logged_in = False
        for name, path, as_admin in PAGES:
            if as_admin and not logged_in:
                page.goto(f"{base}/login")
                page.fill("input[name=login]", admin)
                page.fill("input[name=password]", password)
                page.click("main form button[type=submit]")
                page.wait_for_selector(".nav-user", state="attached")
                logged_in = True
            if name == "playlist":
                page.goto(f"{base}/playlists")
                link = page.locator("main a[href*='/playlists/']:not([href$='/mine'])").first
                path = link.get_attribute("href") if link.count() else "/playlists"
            page.goto(f"{base}{path}", wait_until="networkidle")
            if name == "collection":
                first = page.locator("main a[href*='/collections/']").first
                if first.count():
                    page.goto(f"{base}{first.get_attribute('href')}", wait_until="networkidle")
            try:
                page.wait_for_load_state("networkidle", timeout=3000)
            except PlaywrightTimeout:
                pass  # the soundboard's socket keeps the network busy; the page is there
            if name == "statistics":  # the chart, with the value of this month's bar under the pointer
                page.locator(".sb-chart").scroll_into_view_if_needed()
                page.locator(".sb-bar").last.hover()
                page.wait_for_timeout(300)
            size = save_small(page.screenshot(), OUT / f"{name}-{device}.png")
            print(f"{name}-{device}.png  {size // 1024} KB")
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=int(os.environ.get("SCREENSHOTS_PORT", 6600)))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM_ARGS, find_chromium

    executable = find_chromium()
    if executable is None:
        raise SystemExit("Chromium is needed at /usr/bin/chromium (apt-get install chromium).")
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="themeboard-screenshots-") as tmp:
        env = {
            **os.environ, "APP_ENV": "development", "SECRET_KEY": "screenshots", "LOG_LEVEL": "WARNING",
            "DATABASE_URL": f"sqlite:///{tmp}/app.db", "MEDIA_ROOT": f"{tmp}/media", "WEB_CONCURRENCY": "1",
            "CLICK_RATE_LIMIT": "1000000/second",  # the clicks below come from one address at once
        }
        env.pop("REDIS_URL", None)
        flask(env, "db", "upgrade")
        # The demo admin owns the demo collection; seed says its generated password.
        admin, password = re.search(r"log in as '([^']+)' with password '([^']+)'", flask(env, "seed")).groups()
        subprocess.run([sys.executable, "-c", PLAYLIST], cwd=ROOT, env=env, check=True, capture_output=True)
        server = start_server(env, args.port)
        base = f"http://127.0.0.1:{args.port}"
        try:
            import requests

            for number in range(42):  # the statistics page's chart and summary get a bar
                requests.post(f"{base}/api/soundboard/click", json={"type": "click", "soundFilename": "explosion"}, timeout=5)
            for number in range(12):
                requests.post(f"{base}/api/soundboard/click", json={"type": "sbClick", "soundFilename": "encore"}, timeout=5)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
                photograph(base, browser, admin, password)
                browser.close()
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=15)


if __name__ == "__main__":
    main()
