"""Page weight: every page's first load (an empty cache), media excluded, in KB transferred.

The pages are found as the accessibility test finds them (tests/e2e/crawl.py: links from the home
page, plus the admin's), as a visitor and as the admin, on the demo content. Each page is loaded in
a fresh browser context (no cache, the session's cookies only) in headless Chromium, and what
travels is summed: the HTML, stylesheets, scripts and XHR, headers and bodies as sent (compressed
when the server compresses); images, audio and video are left out. Target: at most 150 KB a page.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_KB = 150
MEDIA = {"image", "media", "font"}
ADMIN_PASSWORD = "bench-admin-password"


def page_weight(browser, url: str, storage_state=None) -> int:
    """Bytes transferred by the first load of ``url``, media excluded."""
    context = browser.new_context(storage_state=storage_state)
    page = context.new_page()
    sizes: list[int] = []

    def finished(request) -> None:
        if request.resource_type in MEDIA:
            return
        size = request.sizes()
        sizes.append(size["responseBodySize"] + size["responseHeadersSize"])

    page.on("requestfinished", finished)
    page.goto(url, wait_until="networkidle")
    context.close()
    return sum(sizes)


def run(ctx) -> None:
    sys.path.insert(0, str(ROOT))
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM_ARGS, find_chromium
    from tests.e2e.crawl import crawl

    executable = find_chromium()
    if executable is None:
        print("  skipped: no Chromium at /usr/bin/chromium (apt-get install chromium)")
        return
    env = ctx.env()
    ctx.flask(env, "db", "upgrade")
    ctx.flask(env, "seed")
    ctx.flask(env, "users", "create", "bench-admin", "--email", "bench-admin@example.com", "--password", ADMIN_PASSWORD, "--admin")
    with ctx.server(env, migrate=False, workers=1) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        heaviest = 0
        for who in ("visitor", "admin"):
            context = browser.new_context()
            page = context.new_page()
            if who == "admin":
                page.goto(f"{server.url}/login")
                page.fill("input[name=login]", "bench-admin")
                page.fill("input[name=password]", ADMIN_PASSWORD)
                page.click("form button[type=submit]")
                page.wait_for_load_state("networkidle")
            state = context.storage_state()
            urls = list(crawl(page, server.url))
            context.close()
            for url in urls:
                weight = page_weight(browser, url, state)
                heaviest = max(heaviest, weight)
                path = url.removeprefix(server.url) or "/"
                ctx.report(f"{who}: {path[:48]}", weight / 1024, "KB", target=TARGET_KB, at_most=True)
        ctx.report("heaviest page, first load", heaviest / 1024, "KB", target=TARGET_KB, at_most=True)
        browser.close()


if __name__ == "__main__":  # python -m bench pages
    os.execv(sys.executable, [sys.executable, "-m", "bench", "pages"])
