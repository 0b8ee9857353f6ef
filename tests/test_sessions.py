"""Sessions end on the server: a cookie saved before logout, "log out everywhere" or a password change opens nothing."""
from __future__ import annotations

from sqlalchemy import func, select

from blueprints.accounts import services
from extensions import db
from models.user import LoginSession
from tests.factories import PASSWORD, bearer, login, make_token, make_user

NEW_PASSWORD = "a much better passphrase"


def _logged_in(app, name: str, password: str = PASSWORD):
    client = app.test_client()
    assert login(client, name, password).status_code == 303
    return client


def _replay(app, client):
    """A fresh client carrying only the cookie ``client`` holds now (what an attacker would have saved)."""
    saved = client.get_cookie("session", domain="localhost")
    thief = app.test_client()
    thief.set_cookie("session", saved.value, domain="localhost")
    return thief


def _opens_account(client) -> bool:
    me, settings = client.get("/api/me"), client.get("/settings")
    assert (me.status_code == 200) == (settings.status_code == 200), (me.status_code, settings.status_code)
    if me.status_code == 200:
        return True
    assert me.status_code == 401 and me.get_json() == {"message": "Unauthenticated"}
    assert settings.status_code == 302 and "/login" in settings.headers["Location"]
    return False


def _sessions(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(LoginSession))


def test_a_cookie_saved_before_logout_is_refused_after_it(app):
    with app.app_context():
        make_user("rei")
    client = _logged_in(app, "rei")
    saved = _replay(app, client)
    assert _opens_account(saved) and _sessions(app) == 1
    assert client.post("/logout").status_code == 303
    assert not _opens_account(saved)
    assert not _opens_account(client)
    assert _sessions(app) == 0


def test_logout_ends_only_its_own_session(app):
    with app.app_context():
        make_user("asuka")
    phone, laptop = _logged_in(app, "asuka"), _logged_in(app, "asuka")
    phone.post("/logout")
    assert not _opens_account(phone) and _opens_account(laptop)


def test_log_out_everywhere_from_another_session(app):
    with app.app_context():
        make_user("misato")
    phone, laptop = _logged_in(app, "misato"), _logged_in(app, "misato")
    saved_phone = _replay(app, phone)
    assert "logged in 2 times" in laptop.get("/settings").get_data(as_text=True)
    response = laptop.post("/settings/logout-everywhere")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert not _opens_account(saved_phone) and not _opens_account(phone) and not _opens_account(laptop)
    assert _sessions(app) == 0


def test_password_change_ends_every_other_session(app):
    with app.app_context():
        make_user("kaji")
    phone, laptop = _logged_in(app, "kaji"), _logged_in(app, "kaji")
    saved_phone = _replay(app, phone)
    changed = laptop.post(
        "/settings/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert changed.status_code == 303
    assert "Password changed" in laptop.get("/settings").get_data(as_text=True)
    assert not _opens_account(saved_phone) and not _opens_account(phone)
    assert _opens_account(laptop)  # the session that changed it stays
    assert login(app.test_client(), "kaji", PASSWORD).status_code == 422
    assert login(app.test_client(), "kaji", NEW_PASSWORD).status_code == 303


def test_password_change_errors_are_clear_and_change_nothing(app):
    with app.app_context():
        make_user("toji")
    client = _logged_in(app, "toji")
    other = _logged_in(app, "toji")
    cases = [
        ({"current_password": "wrong password", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, "The current password is not correct."),
        ({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"}, "The passwords do not match."),
        ({"current_password": PASSWORD, "new_password": "short", "confirm": "short"}, "at least 8 characters"),
        ({"current_password": "", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, "Enter your current password."),
    ]
    for data, message in cases:
        response = client.post("/settings/password", data=data)
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True), message
    assert _opens_account(other)
    assert login(app.test_client(), "toji", PASSWORD).status_code == 303


def test_tokens_survive_logout_everywhere_and_cookies_of_user_ids_do_not_log_in(app):
    with app.app_context():
        user = make_user("gendo")
        raw = make_token(user)
        user_id = user.id
    client = _logged_in(app, "gendo")
    client.post("/settings/logout-everywhere")
    assert app.test_client().get("/api/me", headers=bearer(raw)).status_code == 200
    # A cookie as Flask-Login wrote it before server-side sessions (the user id) is anonymous.
    forged = app.test_client()
    with forged.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
    assert not _opens_account(forged)


def test_start_and_end_session_services(app):
    with app.app_context():
        user = make_user()
        first, second = services.start_session(user), services.start_session(user)
        assert first != second and services.count_sessions(user) == 2
        assert db.session.scalar(select(LoginSession.key_hash).limit(1)) not in (first, second)  # only hashes stored
        assert services.end_sessions(user, keep=second) == 1
        services.end_session(second)
        assert services.count_sessions(user) == 0
