"""Browser tests: the real app on a free port, driven by Playwright in headless Debian Chromium.

Playwright cannot download its own browser here, so it launches /usr/bin/chromium (Debian's
package; `.ci/run` installs it). Without a browser the tests skip with the reason locally and
fail in CI (CI=true), where a skipped browser test would hide a broken page.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.factories import PASSWORD

CHROMIUM_CANDIDATES = (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


def find_chromium() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        if candidate and Path(candidate).exists():
            return candidate
    return shutil.which("chromium")


def require_browser_or_skip() -> str:
    executable = find_chromium()
    reason = None
    if executable is None:
        reason = "no Chromium found at /usr/bin/chromium (install Debian's 'chromium' package, as .ci/run does)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "the 'playwright' Python package is not installed (pip install -r requirements.txt)"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Browser tests cannot run in CI: {reason}")
        pytest.skip(f"Browser tests skipped: {reason}")
    return executable


@pytest.fixture(scope="session")
def browser():
    executable = require_browser_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    violations = page.csp_violations = watch_csp(page)  # a test expecting a refusal clears it
    yield page
    # Checked after the test's own assertions: a page the policy broke usually fails them first.
    assert violations == [], "Content-Security-Policy refused something on a page"
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        artifacts = Path("test-artifacts")
        artifacts.mkdir(exist_ok=True)
        page.screenshot(path=str(artifacts / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def login_as(page, base_url: str, name: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/login")
    page.fill("input[name=login]", name)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_selector(f"text={name}", state="attached")  # the phone menu may be closed


class GunicornLiveServer:
    """The production server (gunicorn.conf.py, gevent) on the test database; ``app`` is an
    in-process app on the same database and media folder, to seed and inspect."""

    def __init__(self, app, server):
        self.app, self.server, self.url = app, server, server.url


@pytest.fixture()
def live_server(app_factory):
    """Browser tests drive the same server and worker class as production (not Werkzeug's)."""
    from tests.servers import Gunicorn

    app = app_factory(WTF_CSRF_ENABLED=True, SERVER_NAME=None)
    env = {
        "APP_ENV": "development",  # plain http on 127.0.0.1
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "MEDIA_ROOT": app.config["MEDIA_ROOT"],
        "SOUNDBOARD_ADMIN_TOKEN": app.config["SOUNDBOARD_ADMIN_TOKEN"],
        "WEB_CONCURRENCY": "1",
    }
    server = Gunicorn(env, workers=1).start()
    try:
        yield GunicornLiveServer(app, server)
    finally:
        server.stop()


def watch_csp(page) -> list[str]:
    """Every Content-Security-Policy refusal the browser reports on ``page``, as it happens."""
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None)
    return violations


def wait_until(page, expression: str, timeout: float = 10_000) -> None:
    """``page.wait_for_function`` without eval inside the page, which the Content-Security-Policy
    refuses: the expression is evaluated through the DevTools protocol, every 50 ms."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} ms: {expression}")
        time.sleep(0.05)
