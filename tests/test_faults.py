"""Faults injected for real through tests/fault_proxy.py: a database or a Redis that refuses or
stops answering. Requests stay bounded in time, answer in their caller's format, and the app
recovers by itself when the dependency is back."""
from __future__ import annotations

import json
import socket
import time
import uuid

import pytest
import requests
import websocket
from sqlalchemy.engine import make_url

from config import database_engine_options, normalise_database_url
from tests.conftest import TEST_DATABASE_URL, LiveServer, _close_live, _empty_tables, _prepare_schema, make_app, require_redis
from tests.factories import user_with_token
from tests.fault_proxy import FaultProxy
from tests.servers import Gunicorn
from tests.test_soundboard_live import _add_sound, _server_env, _sound_in

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
    started = time.monotonic()
    click = client.post("/api/soundboard/click", json={"type": "click", "soundFilename": "laugh"})
    _assert_unavailable(click, "soundboard")
    assert time.monotonic() - started < DB_BOUND
    ping, seconds = _timed(client, "/ping")
    assert ping.status_code == 200 and seconds < 1.0
    health, seconds = _timed(client, "/healthz")
    assert health.status_code == 503 and seconds < DB_BOUND
    assert health.get_json()["checks"]["database"]["status"] == "down"

    proxy.mode = "pass"  # back: the same app serves again, no restart
    for path, _ in PAGES:
        assert client.get(path).status_code == 200, path
    assert client.get("/healthz").get_json()["checks"]["database"]["status"] == "ok"


# --- a live page while the database is gone ----------------------------------------------------

WS_HANDSHAKE = (
    "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
).encode()


def _raw_ws_open(port: int, timeout: float = DB_BOUND) -> tuple[bytes, bytes]:
    """(the response head, the first frame's first bytes) of a /ws handshake, read off the socket
    as they come: what a browser would parse, with nothing in between to hide an HTTP page."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(WS_HANDSHAKE)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(4096)
            assert chunk, received
            received += chunk
        head, rest = received.split(b"\r\n\r\n", 1)
        while len(rest) < 4:
            chunk = sock.recv(4096)
            if not chunk:
                break
            rest += chunk
        return head, rest


@pytest.mark.slow
def test_a_page_opened_while_the_database_is_gone_is_closed_with_try_again_later(faulty_db_app):
    app, proxy = faulty_db_app
    server = LiveServer(app).start()
    try:
        head, frame = _raw_ws_open(server.port)
        assert head.startswith(b"HTTP/1.1 101 ") and frame[0] == 0x81  # a text frame: the counter
        proxy.mode = "blackhole"
        head, frame = _raw_ws_open(server.port)
        assert head.startswith(b"HTTP/1.1 101 ")
        # A close frame with 1013 (try again later), never an HTTP error page after the upgrade.
        assert frame[0] == 0x88 and int.from_bytes(frame[2:4], "big") == 1013, frame[:200]
        proxy.mode = "pass"
        head, frame = _raw_ws_open(server.port)
        assert head.startswith(b"HTTP/1.1 101 ") and frame[0] == 0x81
    finally:
        server.stop()
        _close_live(app)


# --- Redis that refuses or stops answering -----------------------------------------------------

# A request that meets a Redis gone silent waits for its socket timeouts once per process (the
# click limit, the API limit), then every later one falls back at once.
REDIS_FIRST_BOUND = 4.0
REDIS_BOUND = 1.5
TOKEN = {"Authorization": "test-soundboard-token"}
CLICK = {"type": "click", "soundFilename": "laugh"}


@pytest.fixture()
def redis_proxy():
    require_redis()
    with FaultProxy("127.0.0.1", 6379) as proxy:
        yield proxy, f"redis://127.0.0.1:{proxy.port}/1"
    from extensions import limiter

    # The limiter is one object for every app of the test run: the next app starts with a storage
    # presumed alive, as a freshly started process would.
    limiter._storage_dead = False


def _post(url: str, **kwargs) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = requests.post(url, timeout=15, **kwargs)
    return response, time.monotonic() - started


def _ws(base: str) -> websocket.WebSocket:
    connection = websocket.create_connection(base.replace("http://", "ws://") + "/ws", timeout=5)
    assert json.loads(connection.recv())["type"] == "counterUpdate"
    return connection


def _next(connection, kind: str, timeout: float = 3.0) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        connection.settimeout(max(0.05, deadline - time.time()))
        message = json.loads(connection.recv())
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind} within {timeout}s")


def _counter_reaches(connection, expected: int, timeout: float = 3.0) -> None:
    deadline = time.time() + timeout
    while (counter := _next(connection, "counterUpdate", timeout=max(0.1, deadline - time.time()))["counter"]) != expected:
        assert counter < expected


def _health(base: str) -> tuple[int, dict]:
    response = requests.get(f"{base}/healthz", timeout=10)
    return response.status_code, response.json()


def _wait_for_health(base: str, status: str, timeout: float = 10.0) -> dict:
    deadline = time.time() + timeout
    while True:
        code, report = _health(base)
        if report["status"] == status or time.time() > deadline:
            assert report["status"] == status, report
            assert code == 200
            return report
        time.sleep(0.2)


def _exercise_without_redis(base: str, expected_counter: int, processes: int = 1, clicks: int = 10) -> int:
    """Clicks over HTTP and a WebSocket, a notification, /healthz and a new page, all while Redis is
    cut: each answers within its bound and counts. Returns the counter afterwards."""
    slow = []
    for _ in range(clicks):
        response, seconds = _post(f"{base}/api/soundboard/click", json=CLICK)
        assert response.status_code == 200, response.text
        assert seconds < REDIS_FIRST_BOUND, seconds
        if seconds >= REDIS_BOUND:
            slow.append(seconds)
        expected_counter += 1
        assert response.json() == {"counter": expected_counter}
    # Only the request that finds Redis gone in a process waits (and, seldom, one whose API limit
    # looks for its storage again): the others do not pay the timeout again.
    assert len(slow) <= 2 * processes, slow
    clicker = _ws(base)  # a page opened during the outage gets a WebSocket, not an HTTP page
    try:
        clicker.send(json.dumps(CLICK))
        expected_counter += 1
        _counter_reaches(clicker, expected_counter)  # the fan-out may pass on an earlier counter first
        response, seconds = _post(f"{base}/api/admin/notification", json={"text": "Still here", "duration": 3}, headers=TOKEN)
        assert response.status_code == 200 and seconds < REDIS_BOUND, (response.text, seconds)
        if processes == 1:  # with more, the notification may be posted on another process than the page's
            assert _next(clicker, "notification")["notification"]["text"] == "Still here"
    finally:
        clicker.close()
    code, report = _health(base)
    assert (code, report["status"], report["checks"]["redis"]["status"]) == (200, "degraded", "down"), report
    assert report["checks"]["database"]["status"] == "ok"
    return expected_counter


def _published_through_redis(channel: str, base: str) -> bool:
    """A click made now reaches Redis's channel (the updates are shared across processes again)."""
    import redis

    client = redis.Redis.from_url("redis://127.0.0.1:6379/1", socket_timeout=5)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel)
    try:
        pubsub.get_message(timeout=0.5)
        assert requests.post(f"{base}/api/soundboard/click", json=CLICK, timeout=5).status_code == 200
        deadline = time.time() + 3
        while time.time() < deadline:
            if pubsub.get_message(timeout=0.5) is not None:
                return True
        return False
    finally:
        pubsub.close()
        client.close()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["blackhole", "refuse"])
def test_without_redis_clicks_limits_and_notifications_fall_back_to_the_process(live_server_factory, redis_proxy, caplog, mode):
    proxy, url = redis_proxy
    channel = f"test:{uuid.uuid4().hex}"
    server = live_server_factory(
        REDIS_URL=url,
        SOUNDBOARD_CHANNEL=channel,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=url,
        API_RATE_LIMIT="10000/minute",
        CLICK_RATE_LIMIT="1000/second",
        WTF_CSRF_ENABLED=False,
    )
    _add_sound(server.app)
    base = server.url
    assert requests.post(f"{base}/api/soundboard/click", json=CLICK, timeout=5).json() == {"counter": 1}
    assert _wait_for_health(base, "ok")["checks"]["redis"]["status"] == "ok"
    watcher = _ws(base)  # open before the outage: keeps hearing this process's clicks through it
    try:
        proxy.mode = mode
        if mode == "refuse":
            proxy.close_connections()
        counter = _exercise_without_redis(base, 1)
        assert _next(watcher, "notification")["notification"]["text"] == "Still here"
        unreachable = [r for r in caplog.records if r.name == "redis_link" and "unreachable" in r.getMessage()]
        assert len(unreachable) == 1  # logged once for the whole outage, whoever met it

        proxy.mode = "pass"
        _wait_for_health(base, "ok")
        assert _published_through_redis(channel, base)
        counter += 1
        assert requests.get(f"{base}/api/counter", timeout=5).json() == {"counter": counter}
        assert [r.getMessage() for r in caplog.records if r.name == "redis_link" and "back" in r.getMessage()]
    finally:
        watcher.close()


@pytest.mark.slow
def test_gunicorn_workers_keep_counting_through_a_redis_outage(tmp_path, server_database, redis_proxy):
    """The production set-up (gunicorn.conf.py, gevent, two workers, limits and updates in Redis)."""
    proxy, url = redis_proxy
    env = _server_env(
        tmp_path, server_database, REDIS_URL=url, SOUNDBOARD_CHANNEL=f"test:{uuid.uuid4().hex}",
        SOUNDBOARD_ADMIN_TOKEN=TOKEN["Authorization"],
    )
    server = Gunicorn(env, workers=2)
    server.migrate()
    _sound_in(env["DATABASE_URL"])
    server.start()
    try:
        assert requests.post(f"{server.url}/api/soundboard/click", json=CLICK, timeout=5).json() == {"counter": 1}
        _wait_for_health(server.url, "ok")
        proxy.mode = "blackhole"
        counter = 1
        # Each worker meets the outage on its own: enough requests that both do.
        for _ in range(2):
            counter = _exercise_without_redis(server.url, counter, processes=2)
        for _ in range(8):  # a page opened on either worker is a WebSocket, never an HTTP page
            head, frame = _raw_ws_open(server.port, timeout=REDIS_FIRST_BOUND)
            assert head.startswith(b"HTTP/1.1 101 ") and frame[0] == 0x81, (head, frame[:200])

        proxy.mode = "pass"
        for _ in range(4):  # both workers answer ok again (requests land on either)
            _wait_for_health(server.url, "ok")
        for _ in range(10):
            assert requests.post(f"{server.url}/api/soundboard/click", json=CLICK, timeout=5).status_code == 200
            counter += 1
        assert requests.get(f"{server.url}/api/counter", timeout=5).json() == {"counter": counter}
    finally:
        server.stop()
