"""Register, log in, create an API token on the settings page, and use it against the API."""
from __future__ import annotations

import pytest
import requests

from tests.e2e.conftest import login_as

pytestmark = pytest.mark.e2e


def test_register_login_create_token_and_call_api(live_server, page):
    base = live_server.url
    page.goto(f"{base}/register")
    page.fill("input[name=name]", "haruka")
    page.fill("input[name=email]", "haruka@example.com")
    page.fill("input[name=password]", "a long password")
    page.fill("input[name=confirm]", "a long password")
    page.click("form button[type=submit]")
    page.wait_for_selector("text=Welcome, haruka!")

    # Log out (a POST form) and log in again.
    page.click("button:has-text('Log out')")
    page.wait_for_selector("text=You are logged out.")
    login_as(page, base, "haruka", "a long password")

    page.goto(f"{base}/settings")
    page.fill("input[name=label]", "e2e script")
    page.click("button:has-text('Create token')")
    token = page.locator("[data-testid=new-token]").inner_text().strip()
    assert token.startswith("tb_")
    assert page.locator("table >> text=e2e script").count() == 1

    # The token authenticates an API call made outside the browser.
    assert requests.get(f"{base}/api/me", timeout=5).status_code == 401
    me = requests.get(f"{base}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert me.status_code == 200 and me.json()["user"]["name"] == "haruka"

    # Revoking it on the page makes it stop working.
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Revoke')")
    page.wait_for_selector("text=revoked")
    after = requests.get(f"{base}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert after.status_code == 401 and after.json() == {"message": "Unauthenticated"}
