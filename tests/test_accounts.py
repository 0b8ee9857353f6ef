from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, jsonify
from flask_login import current_user
from sqlalchemy import select

from blueprints.accounts import services
from blueprints.common.auth import api_login_required, safe_next_url
from extensions import db
from models.user import ApiToken, User
from tests.factories import PASSWORD, bearer, login, make_token, make_user


def add_probe(app):
    """A tiny API route that says who is calling (registered only in tests)."""
    probe = Blueprint("probe", __name__)

    @probe.route("/api/whoami", methods=["GET", "POST"])
    @api_login_required
    def whoami():
        return jsonify({"name": current_user.name})

    app.register_blueprint(probe)


def test_register_logs_in_and_rejects_duplicates(client, app):
    response = client.post(
        "/register", data={"name": "mika", "email": "mika@example.com", "password": PASSWORD, "confirm": PASSWORD}
    )
    assert response.status_code == 303
    assert "mika" in client.get("/").get_data(as_text=True)
    client.post("/logout")
    again = client.post(
        "/register", data={"name": "MIKA", "email": "MIKA@example.com", "password": PASSWORD, "confirm": PASSWORD}
    )
    assert again.status_code == 422
    page = again.get_data(as_text=True)
    assert "The name has already been taken." in page
    assert "The email has already been taken." in page
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(User)) == 1


def test_register_validates_password_and_confirmation(client):
    short = client.post("/register", data={"name": "a", "email": "a@example.com", "password": "short", "confirm": "short"})
    assert short.status_code == 422
    assert "at least 8" in short.get_data(as_text=True)
    mismatch = client.post(
        "/register", data={"name": "a", "email": "a@example.com", "password": PASSWORD, "confirm": PASSWORD + "x"}
    )
    assert "The passwords do not match." in mismatch.get_data(as_text=True)


def test_login_gives_no_hint_which_part_was_wrong(client, app):
    with app.app_context():
        make_user("rin")
    wrong_password = login(client, "rin", "not the password")
    wrong_name = login(client, "nobody", PASSWORD)
    assert wrong_password.status_code == wrong_name.status_code == 422
    assert "Wrong name, email or password." in wrong_password.get_data(as_text=True)
    assert "Wrong name, email or password." in wrong_name.get_data(as_text=True)
    assert login(client, "rin@example.com").status_code == 303


def test_login_next_only_follows_relative_paths(client, app):
    with app.app_context():
        make_user("yui")
    ok = client.post("/login", data={"login": "yui", "password": PASSWORD, "next": "/settings"})
    assert ok.headers["Location"] == "/settings"
    client.post("/logout")
    for evil in ("https://evil.test/", "//evil.test", "/\\evil.test", "javascript:alert(1)"):
        response = client.post("/login", data={"login": "yui", "password": PASSWORD, "next": evil})
        assert response.headers["Location"] == "/", evil
        client.post("/logout")
    assert safe_next_url("/playlists?page=2") == "/playlists?page=2"


def test_settings_requires_login_and_keeps_next(client):
    response = client.get("/settings")
    assert response.status_code == 302
    assert "/login?next=/settings" in response.headers["Location"]


def test_htmx_request_to_protected_page_gets_hx_redirect(client):
    response = client.get("/settings", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"].startswith("/login")


def test_token_lifecycle_on_settings_page(client, app):
    add_probe(app)
    with app.app_context():
        make_user("sora")
    login(client, "sora")
    page = client.post("/settings/tokens", data={"label": "laptop", "expires": ""})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Copy it now" in html
    raw = html.split('data-testid="new-token">')[1].split("<")[0]
    with app.app_context():
        token = db.session.scalar(select(ApiToken))
        assert token.token_hash != raw and raw not in token.token_hash  # stored only as a hash
        assert token.last_used_at is None
    anonymous = app.test_client()
    assert anonymous.get("/api/whoami", headers=bearer(raw)).get_json() == {"name": "sora"}
    with app.app_context():
        assert db.session.scalar(select(ApiToken)).last_used_at is not None
    # The token is listed afterwards, without its value.
    listing = client.get("/settings").get_data(as_text=True)
    assert "laptop" in listing and raw not in listing
    client.post(f"/settings/tokens/{token.id}/revoke")
    revoked = anonymous.get("/api/whoami", headers=bearer(raw))
    assert revoked.status_code == 401
    assert revoked.get_json() == {"message": "Unauthenticated"}


def test_settings_fragment_for_htmx(client, app):
    with app.app_context():
        make_user("nao")
    login(client, "nao")
    fragment = client.post("/settings/tokens", data={"label": "x"}, headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True)
    assert 'id="tokens"' in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]
    invalid = client.post("/settings/tokens", data={"label": ""}, headers={"HX-Request": "true"})
    assert invalid.status_code == 422


def test_expired_and_unknown_tokens_are_401(client, app):
    add_probe(app)
    with app.app_context():
        user = make_user()
        expired = services.create_token(user, "old", expires_in_days=1)
        expired.token.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
    assert client.get("/api/whoami", headers=bearer(expired.raw)).status_code == 401
    assert client.get("/api/whoami", headers=bearer("tb_nonsense")).status_code == 401
    assert client.get("/api/whoami", headers={"Authorization": "Bearer"}).status_code == 401
    assert client.get("/api/whoami").status_code == 401


def test_bearer_token_wins_over_session_cookie(client, app):
    add_probe(app)
    with app.app_context():
        make_user("owner")
        other = make_user("other")
        other_token = make_token(other)
    login(client, "owner")
    assert client.get("/api/whoami").get_json() == {"name": "owner"}
    assert client.get("/api/whoami", headers=bearer(other_token)).get_json() == {"name": "other"}
    assert client.get("/api/whoami", headers=bearer("tb_invalid")).status_code == 401


def test_csrf_enforced_for_session_not_for_bearer(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    add_probe(app)
    with app.app_context():
        make_user("kai")
        raw = make_token(db.session.scalar(select(User)))
    client = app.test_client()
    # The login form itself is protected.
    refused_login = client.post("/login", data={"login": "kai", "password": PASSWORD})
    assert refused_login.status_code == 400 and "CSRF" in refused_login.get_data(as_text=True)
    page = client.get("/login").get_data(as_text=True)
    csrf_token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert client.post("/login", data={"login": "kai", "password": PASSWORD, "csrf_token": csrf_token}).status_code == 303
    # A session-authenticated API write without the token is refused in the API's format.
    refused = client.post("/api/whoami")
    assert refused.status_code == 400 and "CSRF" in refused.get_json()["message"]
    assert client.post("/api/whoami", headers={"X-CSRFToken": csrf_token}).status_code == 200
    # htmx sends the header; logout without it is refused.
    assert client.post("/logout").status_code == 400
    # Bearer-token requests skip CSRF.
    assert app.test_client().post("/api/whoami", headers=bearer(raw)).get_json() == {"name": "kai"}


def test_a_token_cannot_manage_tokens_password_or_sessions(client, app):
    """Settings are for the session: a bearer token (even with the owner's cookie riding along) counts for nothing there."""
    with app.app_context():
        user = make_user("hikari")
        raw = make_token(user, "short-lived", expires_in_days=1)
        victim_id = services.create_token(user, "keep me").token.id
    for sender in (app.test_client(), client):
        if sender is client:
            login(client, "hikari")
        created = sender.post("/settings/tokens", data={"label": "forever", "expires": ""}, headers=bearer(raw))
        revoked = sender.post(f"/settings/tokens/{victim_id}/revoke", headers=bearer(raw))
        changed = sender.post(
            "/settings/password",
            data={"current_password": PASSWORD, "new_password": "x" * 12, "confirm": "x" * 12},
            headers=bearer(raw),
        )
        everywhere = sender.post("/settings/logout-everywhere", headers=bearer(raw))
        for response in (created, revoked, changed, everywhere):
            assert response.status_code == 302 and "/login" in response.headers["Location"]
    with app.app_context():
        labels = db.session.scalars(select(ApiToken.label).where(ApiToken.revoked_at.is_(None)).order_by(ApiToken.id)).all()
        assert labels == ["short-lived", "keep me"]
        assert db.session.get(User, user.id).check_password(PASSWORD)
    # The session alone still manages tokens.
    assert client.post("/settings/tokens", data={"label": "from the session", "expires": ""}).status_code == 200
    assert client.get("/api/me", headers=bearer(raw)).get_json()["user"]["name"] == "hikari"
