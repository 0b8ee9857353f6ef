"""The click writer: one process per web process that owns the click transactions.

Why a process: a click is acknowledged only after its commit, so every click waits for the
database. Done in a thread of the web process, each of a transaction's statements gave up the GIL
and then waited for it behind the request threads, which made a 0.1 ms commit take milliseconds
while holding the database's write lock. The writer is single-threaded, so its transactions run at
the database's speed, and request threads simply block on a socket until their click is counted.

Protocol, over a Unix socket in a private temporary folder, one JSON object per line:
- a request thread keeps one connection; it sends ``{"kind": ..., "sound": ...}`` per click and
  reads one line back, ``BatchResult.to_json()`` or ``{"error": ...}``, after the commit;
- every committed batch's result also goes down a socket pair made before the writer starts (so
  no batch can be committed before it is connected); the web process's listener thread reads it
  and broadcasts to open pages (``on_commit``).

Group commit falls out of the loop: everything that arrived while the previous transaction ran
is read at once and counted in one transaction. The writer exits when its parent process dies.
"""
from __future__ import annotations

import json
import logging
import os
import select
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from flask import Flask

from blueprints.soundboard.clicks import BatchResult, Click, ClickTransaction, sqlite_lock_path
from extensions import db

log = logging.getLogger(__name__)
PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0  # seconds for a new writer process to import and open the database


class ClickNotCounted(RuntimeError):
    """The click's transaction failed or the writer could not be reached: it was not acknowledged."""


@dataclass(frozen=True)
class WriterSettings:
    database_uri: str
    engine_options: dict[str, Any]
    lock_path: Path | None
    socket_path: str


# --- the writer process ------------------------------------------------------------------------


@dataclass
class _Peer:
    sock: socket.socket
    buffer: bytearray = field(default_factory=bytearray)
    subscriber: bool = False


def main() -> None:
    """Entry point of the writer process: settings arrive as JSON on stdin (not in argv, where
    the database password would show in ``ps``); "ready" on stdout once it listens."""
    raw = json.loads(sys.stdin.readline())
    settings = WriterSettings(
        database_uri=raw["database_uri"],
        engine_options=raw["engine_options"],
        lock_path=Path(raw["lock_path"]) if raw["lock_path"] else None,
        socket_path=raw["socket_path"],
    )
    serve(settings, parent_alive_fd=int(raw["parent_alive_fd"]), results_fd=int(raw["results_fd"]), ready=sys.stdout)


def serve(settings: WriterSettings, parent_alive_fd: int, results_fd: int, ready) -> None:
    # Ctrl+C and a service manager's SIGTERM reach the whole process group. The writer outlives
    # neither: it leaves when its web process does, after that process has drained its requests.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from sqlalchemy import create_engine

    import app  # noqa: F401 - registers the SQLite pragmas (WAL, busy timeout) on every engine

    engine = create_engine(settings.database_uri, **settings.engine_options)
    transaction = ClickTransaction(engine, settings.lock_path)
    transaction.ensure_counter_row()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(settings.socket_path)
    listener.listen(256)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    # The parent holds the other end of this pipe and never writes: it reads as closed (EOF)
    # exactly when the parent has died, however it died.
    selector.register(parent_alive_fd, selectors.EVENT_READ, "parent")
    results = socket.socket(fileno=results_fd)
    _kernel_timeouts(results, send=2.0)
    peers: dict[int, _Peer] = {results.fileno(): _Peer(results, subscriber=True)}
    selector.register(results, selectors.EVENT_READ, "peer")  # only to notice it closing
    ready.write("ready\n")
    ready.flush()
    while True:
        waiting = _receive(selector, listener, peers, timeout=None)
        if not waiting:
            continue
        with transaction.writer_lock():
            # Read again once the lock is ours: clicks that came in while another worker's writer
            # committed join this transaction instead of waiting for the next one.
            waiting += _receive(selector, listener, peers, timeout=0)
            try:
                reply = transaction.apply([click for _, click in waiting]).to_json()
            except Exception as error:  # noqa: BLE001 - every waiting click must hear about it
                log.exception("Could not count %d clicks", len(waiting))
                reply = {"error": f"{type(error).__name__}: {error}"}
        line = json.dumps(reply, separators=(",", ":")).encode() + b"\n"
        for peer, _ in waiting:
            _send(selector, peers, peer, line)
        if "error" not in reply:
            for peer in [p for p in peers.values() if p.subscriber]:
                _send(selector, peers, peer, line)


def _receive(selector, listener, peers: dict[int, _Peer], timeout: float | None) -> list[tuple[_Peer, Click]]:
    waiting: list[tuple[_Peer, Click]] = []
    for key, _ in selector.select(timeout):
        if key.data == "parent":
            # The web process is gone (it never cleans up after a kill -9 or a worker restart):
            # remove the socket's private folder, then leave; nobody is waiting for an answer.
            shutil.rmtree(os.path.dirname(listener.getsockname()), ignore_errors=True)
            os._exit(0)
        if key.data == "accept":
            connection, _ = listener.accept()
            _kernel_timeouts(connection, send=2.0)  # a peer that stops reading is dropped, not waited for
            peers[connection.fileno()] = _Peer(connection)
            selector.register(connection, selectors.EVENT_READ, "peer")
            continue
        peer = peers[key.fileobj.fileno()]
        try:
            data = peer.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            _drop(selector, peers, peer)
            continue
        peer.buffer += data
        *lines, rest = peer.buffer.split(b"\n")
        peer.buffer = bytearray(rest)
        for raw in lines:
            try:
                message = json.loads(raw)
                waiting.append((peer, Click(message["kind"], message.get("sound"))))
            except (ValueError, KeyError, TypeError):  # not our protocol: hang up on it
                _drop(selector, peers, peer)
                break
    return waiting


def _send(selector, peers: dict[int, _Peer], peer: _Peer, line: bytes) -> None:
    try:
        peer.sock.sendall(line)
    except OSError:
        _drop(selector, peers, peer)


def _drop(selector, peers: dict[int, _Peer], peer: _Peer) -> None:
    if peers.pop(peer.sock.fileno(), None) is None:
        return
    selector.unregister(peer.sock)
    peer.sock.close()


def _kernel_timeouts(sock: socket.socket, *, send: float | None = None, receive: float | None = None) -> None:
    """Timeouts kept by the kernel (SO_SNDTIMEO / SO_RCVTIMEO) on a blocking socket: Python's own
    ``settimeout`` polls before every send and receive, a syscall and a GIL round trip per click."""
    for option, seconds in ((socket.SO_SNDTIMEO, send), (socket.SO_RCVTIMEO, receive)):
        if seconds:
            whole = int(seconds)
            sock.setsockopt(socket.SOL_SOCKET, option, struct.pack("ll", whole, int((seconds - whole) * 1_000_000)))


def _ready_within(process: subprocess.Popen, timeout: float) -> bool:
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    return bool(ready) and process.stdout.readline().strip() == "ready"


def _read_line(sock: socket.socket) -> bytes:
    """One reply line (the writer sends exactly one per click, so nothing follows it)."""
    chunks = []
    while True:
        data = sock.recv(65536)
        if not data:
            raise EOFError("the click writer went away")
        chunks.append(data)
        if data.endswith(b"\n"):
            return b"".join(chunks)


# --- the web process's side --------------------------------------------------------------------


class ClickRecorder:
    """Hands clicks to this process's writer and waits for their commit.

    Each thread keeps its own connection to the writer (gthread's request threads and WebSocket
    handlers are long-lived), so a click costs one message each way and no thread hand-off here.
    """

    def __init__(self, app: Flask, on_commit: Callable[[BatchResult], None] | None = None):
        with app.app_context():
            url = db.engine.url.render_as_string(hide_password=False)
        self._folder = tempfile.mkdtemp(prefix="themeboard-clicks-")  # private (0700): only we connect
        self.settings = WriterSettings(
            database_uri=url,
            engine_options=dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})),
            lock_path=sqlite_lock_path(app.config["SQLALCHEMY_DATABASE_URI"]),
            socket_path=os.path.join(self._folder, "writer.sock"),
        )
        self.on_commit = on_commit
        self._local = threading.local()
        self._start_lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._alive_write: int | None = None
        self._results: socket.socket | None = None  # this writer's committed batches, for on_commit
        self._results_changed = threading.Condition()
        self._closed = threading.Event()
        # Started in the background: the first page view makes this recorder, and its visitor
        # should not wait for the writer to import and connect; the first click waits instead.
        threading.Thread(target=self._start_in_background, name="click-writer-start", daemon=True).start()
        if on_commit is not None:
            threading.Thread(target=self._listen, name="click-results", daemon=True).start()

    def record(self, click: Click, timeout: float = 30.0) -> BatchResult:
        """Blocks until the click is committed; raises ClickNotCounted otherwise."""
        message = json.dumps({"kind": click.kind, "sound": click.sound_filename}).encode() + b"\n"
        try:
            link = self._link(timeout)
            try:
                link.sendall(message)
            except OSError:
                # The writer this thread knew is gone (it restarted): the message never left, so
                # sending it once to the new writer cannot count the click twice.
                self._unlink()
                link = self._link(timeout)
                link.sendall(message)
            reply = json.loads(_read_line(link))
        except (OSError, EOFError) as error:
            # Sent but unanswered: it may or may not have been counted, so it is not acknowledged
            # (and not retried). The stream may be out of step now; the next click starts afresh.
            self._unlink()
            raise ClickNotCounted(f"the click writer did not answer: {error!r}") from error
        if "error" in reply:
            raise ClickNotCounted(reply["error"])
        return BatchResult.from_json(reply)

    def close(self) -> None:
        self._closed.set()
        with self._results_changed:
            self._results_changed.notify_all()  # the listener sees _closed and ends
        with self._start_lock:  # a start in progress finishes first, then its writer is stopped
            self._close_alive_pipe()  # the writer reads this as its parent leaving, and exits
            if self._process is not None:
                try:
                    self._process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
        shutil.rmtree(self._folder, ignore_errors=True)

    def forget_thread(self) -> None:
        """Close this thread's connection (a WebSocket handler that is about to end)."""
        self._unlink()

    # --- internals ---------------------------------------------------------------------------
    def _start_writer(self) -> None:
        with self._start_lock:
            if self._closed.is_set():
                raise ClickNotCounted("the click recorder is closed")
            if self._process is not None and self._process.poll() is None:
                return
            if self._process is not None:
                log.warning("The click writer exited with %s; starting a new one", self._process.returncode)
            Path(self.settings.socket_path).unlink(missing_ok=True)
            self._close_alive_pipe()
            alive_read, self._alive_write = os.pipe()  # see serve(): EOF there means we died
            results, results_for_writer = socket.socketpair()
            process = subprocess.Popen(
                [sys.executable, "-c", "from blueprints.soundboard.writer import main; main()"],
                cwd=PROJECT_ROOT,
                env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                pass_fds=(alive_read, results_for_writer.fileno()),
                text=True,
            )
            os.close(alive_read)
            settings = {
                **asdict(self.settings),
                "lock_path": str(self.settings.lock_path or ""),
                "parent_alive_fd": alive_read,
                "results_fd": results_for_writer.fileno(),
            }
            results_for_writer.close()
            process.stdin.write(json.dumps(settings) + "\n")
            process.stdin.close()
            started = _ready_within(process, START_TIMEOUT)
            process.stdout.close()
            if not started:
                process.kill()
                results.close()
                raise ClickNotCounted("the click writer did not start")
            self._process = process
            with self._results_changed:
                self._results = results
                self._results_changed.notify_all()

    def _start_in_background(self) -> None:
        try:
            self._start_writer()
        except Exception:  # noqa: BLE001 - the first click tries again and reports the failure
            if not self._closed.is_set():
                log.exception("The click writer did not start")

    def _close_alive_pipe(self) -> None:
        if self._alive_write is not None:
            os.close(self._alive_write)
            self._alive_write = None

    def _connect(self, timeout: float | None) -> socket.socket:
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(self.settings.socket_path)
        except OSError:
            sock.close()
            self._start_writer()  # it died (or was never up): start it again, once
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(self.settings.socket_path)
        _kernel_timeouts(sock, receive=timeout)
        return sock

    def _link(self, timeout: float) -> socket.socket:
        sock = getattr(self._local, "sock", None)
        if sock is None:
            sock = self._local.sock = self._connect(timeout)
        return sock

    def _unlink(self) -> None:
        sock = getattr(self._local, "sock", None)
        if sock is not None:
            sock.close()
            self._local.sock = None

    def _listen(self) -> None:
        """Broadcast every committed batch; after a writer restart, follow the new writer."""
        current = None
        while not self._closed.is_set():
            with self._results_changed:
                while self._results is current and not self._closed.is_set():
                    self._results_changed.wait(timeout=1.0)
                current = self._results
            if current is None:
                continue
            try:
                for line in current.makefile("rb"):
                    self._deliver(BatchResult.from_json(json.loads(line)))
            except (OSError, ValueError):
                if not self._closed.is_set():
                    log.warning("Lost the click writer's results", exc_info=True)
            current.close()  # that writer is gone; wait for the one that replaces it

    def _deliver(self, result: BatchResult) -> None:
        try:
            self.on_commit(result)  # type: ignore[misc]
        except Exception:  # noqa: BLE001 - one failed broadcast must not stop the next ones
            log.exception("Broadcasting a click batch failed")
