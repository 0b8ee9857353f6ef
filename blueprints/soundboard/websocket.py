"""A server-side WebSocket that costs one greenlet (or thread) per open page.

An open soundboard page stays open for as long as the tab does, so what each one holds decides how
many a server can keep. A flask-sock/simple-websocket connection holds a reader greenlet besides the
request's own and an h11 handshake object, and a writer of ours made three greenlets a page. Here
the request's greenlet reads and parses frames with wsproto (the protocol library simple-websocket
is built on), and every write is a non-blocking send from whoever has something to say: the
fan-out, an acknowledgement, the heartbeat. Only a page whose socket is full gets a greenlet to
finish the write, and one that stays behind by ``MAX_PENDING`` bytes is dropped.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import socket
import threading
import time
from collections.abc import Iterator

from flask import Response
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3
PING = b"\x89\x00"  # an empty, unmasked ping frame: the same bytes for every page
MAX_PENDING = 256 * 1024  # bytes a page may fall behind before it is taken for gone
CLOSE_TOO_BIG = 1009


class HandshakeError(ValueError):
    """Not a WebSocket opening handshake this server can accept."""


def close_frame(code: int, reason: str = "") -> bytes:
    payload = code.to_bytes(2, "big") + reason.encode()[:120]
    return bytes([0x88, len(payload)]) + payload


class LiveSocket:
    """One open page: its socket after the handshake, the frames it sent, what waits to be written."""

    def __init__(self, sock: socket.socket, max_message_bytes: int):
        self.sock = sock
        # The OS-level socket: gevent's wrapper would wait for room to write, which must not hold
        # up the fan-out; a send with MSG_DONTWAIT writes what fits and returns at once.
        self._os_socket = getattr(sock, "_sock", sock)
        self._protocol = Connection(ConnectionType.SERVER)
        self._max_message = max_message_bytes
        self._pending = bytearray()
        self._writing = False
        self._lock = threading.Lock()
        self.closed = False
        self.last_heard = time.monotonic()

    @classmethod
    def accept(cls, environ: dict, max_message_bytes: int) -> "LiveSocket":
        """Answers the opening handshake (RFC 6455, section 4.2) on the request's own socket."""
        sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
        key = environ.get("HTTP_SEC_WEBSOCKET_KEY", "")
        try:
            valid_key = len(base64.b64decode(key, validate=True)) == 16
        except (binascii.Error, ValueError):
            valid_key = False
        if sock is None or environ.get("HTTP_SEC_WEBSOCKET_VERSION") != "13" or not valid_key:
            raise HandshakeError("A WebSocket handshake (version 13, with a 16-byte key) is expected here.")
        accept = base64.b64encode(hashlib.sha1(key.encode() + ACCEPT_GUID).digest()).decode()
        # No extension is agreed (no permessage-deflate): frames are encoded once for every page,
        # and a compressor per page would cost more memory than the page itself.
        sock.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
        )
        return cls(sock, max_message_bytes)

    # --- writing -------------------------------------------------------------------------------

    def send_frames(self, data: bytes) -> None:
        """Already framed bytes, in order; returns at once, whatever the page's reading speed."""
        with self._lock:
            if self.closed:
                return
            if self._writing:
                if len(self._pending) + len(data) > MAX_PENDING:
                    self._drop_locked()
                else:
                    self._pending += data
                return
            try:
                sent = self._os_socket.send(data, socket.MSG_DONTWAIT)
            except BlockingIOError:
                sent = 0
            except OSError:
                self._drop_locked()
                return
            if sent == len(data):
                return
            self._pending += data[sent:]
            self._writing = True
        threading.Thread(target=self._finish_writing, name="ws-backlog", daemon=True).start()

    def _finish_writing(self) -> None:
        """The rest of a write that did not fit, and whatever queued behind it meanwhile."""
        while True:
            with self._lock:
                if self.closed or not self._pending:
                    self._writing = False
                    self._pending.clear()
                    return
                chunk = bytes(self._pending)
                self._pending.clear()
            try:
                self.sock.sendall(chunk)
            except OSError:
                self.drop()
                return

    def close(self, code: int = 1000, reason: str = "") -> None:
        """A closing handshake with a code, then the socket is shut."""
        self.send_frames(close_frame(code, reason))
        self.drop()

    def drop(self) -> None:
        with self._lock:
            self._drop_locked()

    def _drop_locked(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._pending.clear()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the greenlet reading this socket
        except OSError:
            pass

    # --- reading -------------------------------------------------------------------------------

    def messages(self) -> Iterator[list[str]]:
        """The text messages that arrived together, burst by burst, until the page goes."""
        partial: list[str] = []
        size = 0
        while not self.closed:
            try:
                data = self.sock.recv(4096)
            except OSError:
                break
            if not data:
                break
            self.last_heard = time.monotonic()
            burst: list[str] = []
            try:
                self._protocol.receive_data(data)
                for event in self._protocol.events():
                    if isinstance(event, TextMessage):
                        partial.append(event.data)
                        size += len(event.data)
                        if size > self._max_message:
                            self.close(CLOSE_TOO_BIG, "Message too big.")
                            return
                        if event.message_finished:
                            burst.append("".join(partial))
                            partial, size = [], 0
                    elif isinstance(event, Ping):
                        self.send_frames(self._protocol.send(event.response()))
                    elif isinstance(event, CloseConnection):
                        if self._protocol.state == ConnectionState.REMOTE_CLOSING:
                            self.send_frames(self._protocol.send(event.response()))
                        self.drop()
                        break
                    elif isinstance(event, BytesMessage):
                        continue  # the protocol is text; binary messages are ignored
            except (LocalProtocolError, RemoteProtocolError):
                self.close(1002, "Protocol error.")
                return
            if burst:
                yield burst
        self.drop()


class TakenOver(Response):
    """What the view returns once the socket is the page's: nothing more goes out over HTTP."""

    def __call__(self, environ, start_response):
        if "gunicorn.socket" in environ:
            raise StopIteration()  # gunicorn's asynchronous workers: this connection is done
        return super().__call__(environ, start_response)
