"""Rate limits: logins per address and per account, the APIs per caller, refused tokens per address.

Every 429 comes in the format of what was called, with Retry-After; an unknown name costs a login
as much as a wrong password.
"""
from __future__ import annotations

import random
import uuid

import pytest

import models.user
from blueprints.accounts import services
from extensions import db
from tests.conftest import require_redis
from tests.factories import PASSWORD, bearer, make_token, make_user

ADDRESS_A = {"REMOTE_ADDR": "127.0.0.11"}
ADDRESS_B = {"REMOTE_ADDR": "127.0.0.12"}


def limited_app(app_factory, **limits):
    settings = {"RATELIMIT_ENABLED": True, "API_RATE_LIMIT": "off", "AUTH_FAILURE_RATE_LIMIT": "off", "LOGIN_RATE_LIMIT": "off"}
    return app_factory(**{**settings, **limits})


def _login(client, name, password, address):
    return client.post("/login", data={"login": name, "password": password}, environ_base=address)


def _retry_after(response, window: int = 60) -> int:
    value = int(response.headers["Retry-After"])
    assert 1 <= value <= window
    return value


def test_failed_logins_are_limited_per_address_with_an_html_page(app_factory):
    app = limited_app(app_factory, LOGIN_RATE_LIMIT="3/minute")
    with app.app_context():
        make_user("rin")
    client = app.test_client()
    for n in range(3):  # a different account each time: only the address is the same
        assert _login(client, f"nobody{n}", "wrong password", ADDRESS_A).status_code == 422
    refused = _login(client, "rin", PASSWORD, ADDRESS_A)  # even the right password, from there
    assert refused.status_code == 429 and refused.mimetype == "text/html"
    _retry_after(refused)
    page = refused.get_data(as_text=True)
    assert "Slow down" in page and "Too many attempts. Try again in" in page
    assert _login(client, "rin", PASSWORD, ADDRESS_B).status_code == 303


def test_failed_logins_are_limited_per_account_from_any_address(app_factory):
    app = limited_app(app_factory, LOGIN_RATE_LIMIT="3/minute")
    with app.app_context():
        make_user("asuka")
        make_user("rei")
    client = app.test_client()
    for n in range(3):
        assert _login(client, "Asuka", "wrong password", {"REMOTE_ADDR": f"127.0.1.{n}"}).status_code == 422
    assert _login(client, "asuka", PASSWORD, {"REMOTE_ADDR": "127.0.1.9"}).status_code == 429
    assert _login(client, "rei", PASSWORD, {"REMOTE_ADDR": "127.0.1.9"}).status_code == 303


def test_successful_logins_and_get_requests_do_not_count(app_factory):
    app = limited_app(app_factory, LOGIN_RATE_LIMIT="2/minute")
    with app.app_context():
        make_user("misato")
    for _ in range(5):
        client = app.test_client()
        assert client.get("/login", environ_base=ADDRESS_A).status_code == 200
        assert _login(client, "misato", PASSWORD, ADDRESS_A).status_code == 303


def test_wrong_current_passwords_are_limited_per_account(app_factory):
    app = limited_app(app_factory, LOGIN_RATE_LIMIT="2/minute")
    with app.app_context():
        make_user("kaji")
    client = app.test_client()
    assert _login(client, "kaji", PASSWORD, ADDRESS_A).status_code == 303
    wrong = {"current_password": "guess", "new_password": "n" * 12, "confirm": "n" * 12}
    assert [client.post("/settings/password", data=wrong, environ_base=ADDRESS_A).status_code for _ in range(3)] == [422, 422, 429]


def test_animethemes_api_is_limited_per_account_and_per_address(app_factory):
    app = limited_app(app_factory, API_RATE_LIMIT="3/minute")
    with app.app_context():
        first, second = make_user(), make_user()
        first_tokens = [bearer(make_token(first)), bearer(make_token(first))]
        second_token = bearer(make_token(second))
    client = app.test_client()
    statuses = [client.get("/api/audio", headers=first_tokens[n % 2], environ_base=ADDRESS_A).status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]  # both tokens of one account share its count
    refused = client.get("/api/me", headers=first_tokens[0], environ_base=ADDRESS_B)
    assert refused.status_code == 429 and refused.get_json() == {"message": "Too Many Attempts."}
    _retry_after(refused)
    assert client.get("/api/audio", headers=second_token, environ_base=ADDRESS_A).status_code == 200
    # Anonymous callers count per address.
    assert [client.get("/api/audio", environ_base=ADDRESS_A).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert client.get("/api/audio", environ_base=ADDRESS_B).status_code == 200


def test_tracks_v1_answers_429_in_its_own_format(app_factory):
    app = limited_app(app_factory, API_RATE_LIMIT="2/minute")
    with app.app_context():
        token = bearer(make_token(make_user()))
    client = app.test_client()
    assert [client.get("/v1/collection", headers=token).status_code for _ in range(2)] == [200, 200]
    refused = client.get("/v1/collection", headers=token)
    body = refused.get_json()
    assert refused.status_code == 429 and body == {"ok": False, "message": "Too many requests", "api_request_id": body["api_request_id"]}
    assert refused.headers["X-Api-Request-Id"] == body["api_request_id"]
    _retry_after(refused)


def test_soundboard_answers_429_in_its_own_format_and_clicks_keep_their_own_limit(app_factory):
    app = limited_app(app_factory, API_RATE_LIMIT="2/minute", CLICK_RATE_LIMIT="1000/minute")
    client = app.test_client()
    assert [client.get("/api/counter").status_code for _ in range(2)] == [200, 200]
    refused = client.get("/api/sounds")
    assert refused.status_code == 429
    assert refused.get_json() == {"code": 429, "name": "Too many requests", "message": "Too many requests; try again later."}
    _retry_after(refused)
    # Clicks are not counted by API_RATE_LIMIT (this one names no sound, so it is refused, but not 429).
    assert [client.post("/api/soundboard/click", json={"type": "click"}).status_code for _ in range(5)] == [400] * 5


def test_refused_tokens_are_limited_per_address(app_factory):
    app = limited_app(app_factory, AUTH_FAILURE_RATE_LIMIT="5/minute")
    with app.app_context():
        valid = bearer(make_token(make_user()))
    client = app.test_client()
    for _ in range(5):
        guess = bearer("tb_" + uuid.uuid4().hex)
        assert client.get("/api/me", headers=guess, environ_base=ADDRESS_A).status_code == 401
    assert client.get("/api/me", headers=bearer("tb_" + uuid.uuid4().hex), environ_base=ADDRESS_A).status_code == 429
    assert client.get("/api/me", headers=valid, environ_base=ADDRESS_A).status_code == 429  # the address, whatever it sends
    assert client.get("/api/me", headers=valid, environ_base=ADDRESS_B).status_code == 200
    # Wrong soundboard admin tokens count too, and are refused in the soundboard's format.
    for _ in range(5):
        assert client.delete("/api/admin/milestones/delete?id=1", headers={"Authorization": "wrong"}, environ_base=ADDRESS_B).status_code == 401
    refused = client.delete("/api/admin/milestones/delete?id=1", headers={"Authorization": "wrong"}, environ_base=ADDRESS_B)
    assert refused.status_code == 429 and refused.get_json()["code"] == 429


def test_limits_can_be_turned_off(app_factory):
    app = app_factory(RATELIMIT_ENABLED=False, API_RATE_LIMIT="1/minute", LOGIN_RATE_LIMIT="1/minute")
    client = app.test_client()
    assert all(client.get("/api/audio").status_code == 200 for _ in range(5))
    assert all(_login(client, "nobody", "wrong", ADDRESS_A).status_code == 422 for _ in range(5))


def test_off_turns_one_limit_off(app_factory):
    app = limited_app(app_factory, API_RATE_LIMIT="off", LOGIN_RATE_LIMIT="1/minute")
    client = app.test_client()
    assert all(client.get("/api/audio").status_code == 200 for _ in range(20))
    assert [_login(client, "nobody", "wrong", ADDRESS_A).status_code for _ in range(2)] == [422, 429]


def test_counts_live_in_redis_when_configured(app_factory):
    url = require_redis()
    import redis

    app = limited_app(app_factory, API_RATE_LIMIT="2/minute", RATELIMIT_STORAGE_URI=url)
    address = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(1, 254)}"
    client = app.test_client()
    statuses = [client.get("/api/audio", environ_base={"REMOTE_ADDR": address}).status_code for _ in range(3)]
    connection = redis.Redis.from_url(url)
    keys = connection.keys(f"*address:{address}*")
    try:
        assert statuses == [200, 200, 429]
        assert keys, "the API count is not in Redis"
    finally:
        if keys:
            connection.delete(*keys)


def test_an_unknown_name_costs_one_password_hash_like_a_known_one(app, monkeypatch):
    with app.app_context():
        user = make_user("toji")
        real_hash = user.password_hash
    calls = []
    original = models.user.check_password_hash

    def counting(pwhash, password):
        calls.append(pwhash)
        return original(pwhash, password)

    monkeypatch.setattr(models.user, "check_password_hash", counting)
    with app.app_context():
        for login, password in (("nobody", "wrong"), ("toji", "wrong"), ("toji", PASSWORD), ("", "")):
            calls.clear()
            services.authenticate(login, password)
            assert len(calls) == 1, login
        calls.clear()
        services.authenticate("nobody", PASSWORD)
        dummy = calls[0]
        db.session.remove()
    # Same method and cost parameters, so the same work: "scrypt:32768:8:1$salt$hash".
    assert dummy.split("$")[0] == real_hash.split("$")[0] and dummy != real_hash


@pytest.mark.parametrize("proxies, expected", [(0, "127.0.0.1"), (1, "127.0.0.99")])
def test_trusted_proxies_decide_which_address_is_counted(app_factory, proxies, expected):
    app = limited_app(app_factory, API_RATE_LIMIT="1/minute", TRUSTED_PROXIES=proxies)
    client = app.test_client()
    headers = {"X-Forwarded-For": "127.0.0.99"}
    assert client.get("/api/audio", headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
    # A second caller behind the same proxy: limited only when the proxy's address is what counts.
    second = client.get("/api/audio", headers={"X-Forwarded-For": "127.0.0.98"}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert second.status_code == (429 if expected == "127.0.0.1" else 200)
