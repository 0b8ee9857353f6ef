"""Faults injected for real through tests/fault_proxy.py: a database or a Redis that refuses or
stops answering. Requests stay bounded in time, answer in their caller's format, and the app
recovers by itself when the dependency is back."""
from __future__ import annotations

import time

import pytest
from sqlalchemy.engine import make_url

from config import database_engine_options, normalise_database_url
from tests.conftest import TEST_DATABASE_URL, _empty_tables, _prepare_schema, make_app
from tests.factories import user_with_token
from tests.fault_proxy import FaultProxy

# Each request through a faulty database must end within this (seconds): the connect and response
# timeouts below, twice (pre-ping, then one reconnect), plus slack for a busy machine.
DB_BOUND = 8.0


def _through(proxy: FaultProxy, url: str) -> str:
    return make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


@pytest.fixture()
def postgres_proxy():
    if not TEST_DATABASE_URL:
        pytest.skip("PostgreSQL faults need TEST_DATABASE_URL")
    url = make_url(normalise_database_url(TEST_DATABASE_URL))
    with FaultProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        yield proxy, _through(proxy, str(url.render_as_string(hide_password=False)))


@pytest.fixture()
def faulty_db_app(tmp_path, postgres_proxy, monkeypatch):
    proxy, url = postgres_proxy
    for name in ("DATABASE_CONNECT_TIMEOUT", "DATABASE_STATEMENT_TIMEOUT", "DATABASE_POOL_TIMEOUT"):
        monkeypatch.setenv(name, "1")
    app = make_app(tmp_path, SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS=database_engine_options(url))
    _prepare_schema(app)
    yield app, proxy
    from extensions import db

    proxy.mode = "pass"
    _empty_tables(app)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _timed(client, path: str, **kwargs):
    started = time.monotonic()
    response = client.get(path, **kwargs)
    return response, time.monotonic() - started


PAGES = [
    ("/api/anime", "animethemes"),
    ("/v1/collection", "tracks"),
    ("/api/counter", "soundboard"),
    ("/audio", "html"),
]


def _assert_unavailable(response, family: str) -> None:
    assert response.status_code == 503, (response.status_code, response.get_data(as_text=True)[:300])
    assert int(response.headers["Retry-After"]) > 0
    if family == "html":
        assert response.mimetype == "text/html"
        assert "unavailable" in response.get_data(as_text=True).lower()
        return
    body = response.get_json()
    assert body is not None, response.get_data(as_text=True)[:300]
    if family == "animethemes":
        assert body == {"message": "The database is unavailable; try again shortly."}
    elif family == "tracks":
        assert body["ok"] is False and body["api_request_id"] == response.headers["X-Api-Request-Id"]
    else:
        assert body["code"] == 503 and body["name"] == "Service unavailable"


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["blackhole", "refuse"])
def test_a_database_that_stops_answering_gets_503_in_each_format_then_recovers(faulty_db_app, mode):
    app, proxy = faulty_db_app
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = user_with_token(app, name="alice")[1]["Authorization"]
    for path, _ in PAGES:
        assert client.get(path).status_code == 200, path  # pooled connections exist and work

    proxy.mode = mode  # open connections go silent (blackhole) or new ones are refused
    if mode == "refuse":
        proxy.close_connections()
    for path, family in PAGES:
        response, seconds = _timed(client, path)
        _assert_unavailable(response, family)
        assert seconds < DB_BOUND, (path, seconds)
    ping, seconds = _timed(client, "/ping")
    assert ping.status_code == 200 and seconds < 1.0
    health, seconds = _timed(client, "/healthz")
    assert health.status_code == 503 and seconds < DB_BOUND
    assert health.get_json()["checks"]["database"]["status"] == "down"

    proxy.mode = "pass"  # back: the same app serves again, no restart
    for path, _ in PAGES:
        assert client.get(path).status_code == 200, path
    assert client.get("/healthz").get_json()["checks"]["database"]["status"] == "ok"
