"""The WebSocket protocol with a real client, two workers sharing updates, and kill -9 durability."""
from __future__ import annotations

import io
import json
import threading
import time
import uuid

import pytest
import requests
import websocket

from tests.conftest import require_redis
from tests.servers import Gunicorn

TOKEN = {"Authorization": "test-soundboard-token"}


def _ws(url: str) -> websocket.WebSocket:
    connection = websocket.create_connection(url.replace("http://", "ws://") + "/ws", timeout=5)
    hello = json.loads(connection.recv())
    assert hello["type"] == "counterUpdate"
    return connection


def _next(connection, kind: str, timeout: float = 3.0) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        connection.settimeout(max(0.05, deadline - time.time()))
        message = json.loads(connection.recv())
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind} within {timeout}s")


def _each(connection, *kinds: str, timeout: float = 3.0) -> dict[str, dict]:
    """The next message of each kind, in whatever order they come (the counterUpdate of a commit
    and the crazyMode of the click that caused it are sent by different threads)."""
    found: dict[str, dict] = {}
    deadline = time.time() + timeout
    while len(found) < len(kinds) and time.time() < deadline:
        connection.settimeout(max(0.05, deadline - time.time()))
        message = json.loads(connection.recv())
        if message["type"] in kinds:
            found.setdefault(message["type"], message)
    missing = set(kinds) - set(found)
    assert not missing, f"no {', '.join(sorted(missing))} within {timeout}s"
    return found


def _upload(base: str, audio_file, filename: str) -> None:
    data = audio_file("mp3").read_bytes()
    response = requests.post(
        f"{base}/admin/sounds/upload",
        data={"filename": filename, "displayname": filename, "source": "Season 1"},
        files={"file": ("x.mp3", io.BytesIO(data), "audio/mpeg")},
        headers=TOKEN,
        timeout=10,
    )
    assert response.status_code == 200, response.text


def test_websocket_protocol(live_server, audio_file):
    base = live_server.url
    clicker, watcher = _ws(base), _ws(base)
    try:
        _upload(base, audio_file, "laugh")
        assert _next(watcher, "soundUpload")["sound"]["filename"] == "laugh"
        clicker.send(json.dumps({"type": "click", "soundFilename": "laugh"}))
        seen = _each(watcher, "counterUpdate", "crazyMode")
        update = seen["counterUpdate"]
        assert update["counter"] == 1 and update["statistics"]["summary"]["alltime"] == 1
        assert seen["crazyMode"]["soundFilename"] == "laugh"
        assert _next(clicker, "counterUpdate")["counter"] == 1  # the clicker's acknowledgement
        clicker.send(json.dumps({"type": "sbClick", "soundFilename": "laugh"}))
        assert _next(watcher, "soundClick") == {"type": "soundClick", "soundFilename": "laugh", "count": 1}
        for junk in ("not json", json.dumps([1, 2]), json.dumps({"type": "hack"}), json.dumps({"type": "click", "soundFilename": 5})):
            clicker.send(junk)  # ignored, the connection stays usable
        requests.post(f"{base}/api/admin/notification", json={"text": "Hi all", "duration": 3}, headers=TOKEN, timeout=5)
        assert _next(watcher, "notification")["notification"] == {"text": "Hi all", "duration": 3}
        clicker.send(json.dumps({"type": "click", "soundFilename": "laugh"}))
        assert _next(watcher, "counterUpdate")["counter"] == 2
        assert requests.get(f"{base}/api/counter", timeout=5).json() == {"counter": 2}
    finally:
        clicker.close()
        watcher.close()


def test_a_burst_of_websocket_clicks_is_counted_whole_and_answered(live_server):
    clicker, watcher = _ws(live_server.url), _ws(live_server.url)
    try:
        for _ in range(25):
            clicker.send(json.dumps({"type": "click"}))
        # However the server grouped them, the clicker's answers end at the full count, and the
        # other page is told the same by the announcer.
        assert _counter_reaches(clicker, 25) and _counter_reaches(watcher, 25)
        assert requests.get(f"{live_server.url}/api/counter", timeout=5).json() == {"counter": 25}
    finally:
        clicker.close()
        watcher.close()


def _counter_reaches(connection, expected: int, timeout: float = 3.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        message = _next(connection, "counterUpdate", timeout=max(0.1, deadline - time.time()))
        assert message["counter"] <= expected
        if message["counter"] == expected:
            return True
    return False


def test_websocket_rate_and_connection_limits(live_server_factory):
    server = live_server_factory(RATELIMIT_ENABLED=True, CLICK_RATE_LIMIT="3/minute", WS_CONNECTIONS_PER_ADDRESS=2)
    first, second = _ws(server.url), _ws(server.url)
    try:
        with pytest.raises(Exception):
            third = _ws(server.url)  # over the per-address limit: closed at once
            third.recv()
        for _ in range(6):
            first.send(json.dumps({"type": "click"}))
        time.sleep(1.0)
        assert requests.get(f"{server.url}/api/counter", timeout=5).json() == {"counter": 3}
    finally:
        first.close()
        second.close()


@pytest.mark.slow
def test_two_workers_share_updates_through_redis(tmp_path):
    require_redis()
    server = Gunicorn(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'two.db'}",
            "MEDIA_ROOT": str(tmp_path / "media"),
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "SOUNDBOARD_CHANNEL": f"test:{uuid.uuid4().hex}",
            "RATELIMIT_STORAGE_URI": "memory://",
            "CLICK_RATE_LIMIT": "10000/second",
        },
        workers=2,
    )
    server.migrate()
    server.start()
    watchers = []
    try:
        watchers = [_ws(server.url) for _ in range(8)]  # spread over both workers
        sent = 40
        session = requests.Session()
        for _ in range(sent):
            assert session.post(f"{server.url}/api/soundboard/click", json={"type": "click"}, timeout=5).status_code == 200
        started = time.time()
        for watcher in watchers:
            counter = 0
            while counter < sent:
                counter = _next(watcher, "counterUpdate", timeout=2.0)["counter"]
        assert time.time() - started < 2.0
        assert session.get(f"{server.url}/api/counter", timeout=5).json() == {"counter": sent}
    finally:
        for watcher in watchers:
            watcher.close()
        server.stop()


@pytest.mark.slow
def test_kill_9_loses_no_acknowledged_click(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'durable.db'}", "MEDIA_ROOT": str(tmp_path / "media"), "CLICK_RATE_LIMIT": "100000/second"}
    server = Gunicorn(env, workers=2)
    server.migrate()
    server.start()
    acknowledged = [0]
    sent = [0]
    stop = threading.Event()
    lock = threading.Lock()

    def clicker():
        session = requests.Session()
        while not stop.is_set():
            with lock:
                sent[0] += 1
            try:
                response = session.post(f"{server.url}/api/soundboard/click", json={"type": "click"}, timeout=5)
            except requests.RequestException:
                continue
            if response.status_code == 200:
                with lock:
                    acknowledged[0] += 1

    threads = [threading.Thread(target=clicker) for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(2.0)
    server.kill_hard()  # mid-load: requests in flight are cut off
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    assert acknowledged[0] > 50
    restarted = Gunicorn(env, workers=1, port=server.port).start()
    try:
        counted = requests.get(f"{restarted.url}/api/counter", timeout=5).json()["counter"]
    finally:
        restarted.stop()
    assert acknowledged[0] <= counted <= sent[0]
