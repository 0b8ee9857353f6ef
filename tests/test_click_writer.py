"""The click writer process: restarts, dies with its parent, survives a lost database connection."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from blueprints.soundboard.clicks import Click, ClickTransaction
from blueprints.soundboard.writer import ClickRecorder
from extensions import db

ROOT = Path(__file__).resolve().parent.parent


def _gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status  # exited; only its reaping is left


def test_a_killed_writer_is_replaced_without_losing_the_next_click(client, app):
    assert client.post("/api/soundboard/click", json={"type": "click"}).status_code == 200
    recorder = app.extensions["soundboard_live"].recorder
    first = recorder._process
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=5)
    # This thread's connection points at the dead writer; the click was never sent there, so it
    # goes to a new writer instead of failing.
    assert client.post("/api/soundboard/click", json={"type": "click"}).get_json() == {"counter": 2}
    assert recorder._process.pid != first.pid
    assert client.get("/api/counter").get_json() == {"counter": 2}


def test_the_writer_exits_when_its_web_process_is_killed(app, tmp_path):
    # ``app`` made the schema (and empties the tables afterwards); the web process below shares it.
    script = f"""
import sys, time
sys.path.insert(0, {str(ROOT)!r})
from pathlib import Path
from tests.conftest import make_app
from blueprints.soundboard.live import live
app = make_app(Path({str(tmp_path)!r}))
with app.app_context():
    state = live()
    state.click("click", None)
    print(state.recorder._process.pid, state.recorder.settings.socket_path, flush=True)
time.sleep(60)
"""
    web = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        writer_pid, socket_path = web.stdout.readline().split()
        writer_pid = int(writer_pid)
        assert not _gone(writer_pid) and Path(socket_path).exists()
    finally:
        web.kill()  # kill -9: no cleanup code of the web process runs
        web.wait(timeout=10)
    deadline = time.time() + 10
    while not _gone(writer_pid) and time.time() < deadline:
        time.sleep(0.05)
    assert _gone(writer_pid), "the click writer outlived its web process"
    assert not Path(socket_path).parent.exists(), "the writer left its socket folder behind"


def test_a_lost_database_connection_is_replaced_and_nothing_counts_twice(app):
    with app.app_context():
        transaction = ClickTransaction(db.engine, None)
        transaction.ensure_counter_row()
        assert transaction.apply([Click("click", None)]).counter == 1
        transaction._connection.connection.dbapi_connection.close()  # the database went away
        assert transaction.apply([Click("click", None), Click("click", None)]).counter == 3
        transaction._connection.close()


def _wait_for(predicate, seconds: float = 5.0) -> bool:
    deadline = time.time() + seconds
    while not predicate() and time.time() < deadline:
        time.sleep(0.01)
    return predicate()


def test_every_committed_batch_is_broadcast_even_the_first_and_after_a_restart(app):
    broadcast = []
    recorder = ClickRecorder(app, on_commit=broadcast.append)
    try:
        # Sent while the writer may still be starting: its result must still reach the listener.
        assert recorder.record(Click("click", None)).counter == 1
        assert _wait_for(lambda: [r.counter for r in broadcast] == [1])
        recorder._process.kill()
        recorder._process.wait(timeout=5)
        assert recorder.record(Click("click", None)).counter == 2  # resent to a new writer
        assert _wait_for(lambda: [r.counter for r in broadcast] == [1, 2]), broadcast
    finally:
        recorder.close()
