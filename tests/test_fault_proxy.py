"""The fault proxy itself: each mode does what the fault tests rely on."""
from __future__ import annotations

import socket
import socketserver
import threading
import time

import pytest

from tests.fault_proxy import FaultProxy


class _Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(1024):
            self.request.sendall(data)


@pytest.fixture()
def echo_proxy():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proxy = FaultProxy("127.0.0.1", server.server_address[1])
    proxy.start()
    yield proxy
    proxy.stop()
    server.shutdown()
    server.server_close()


def _connect(proxy: FaultProxy) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=1)


def _echo(sock: socket.socket, data: bytes = b"hello") -> bytes:
    sock.sendall(data)
    return sock.recv(1024)


def test_pass_forwards_both_ways(echo_proxy):
    with _connect(echo_proxy) as sock:
        assert _echo(sock) == b"hello"


def test_refuse_closes_new_connections_and_keeps_open_ones(echo_proxy):
    with _connect(echo_proxy) as kept:
        assert _echo(kept) == b"hello"
        echo_proxy.mode = "refuse"
        with _connect(echo_proxy) as refused:
            try:
                assert _echo(refused) == b""
            except ConnectionError:
                pass
        assert _echo(kept, b"still") == b"still"


def test_cut_resets_open_connections(echo_proxy):
    with _connect(echo_proxy) as sock:
        assert _echo(sock) == b"hello"
        echo_proxy.cut()
        time.sleep(0.1)
        try:
            assert _echo(sock) == b""
        except ConnectionError:
            pass


def test_blackhole_stays_silent_then_pass_recovers(echo_proxy):
    with _connect(echo_proxy) as open_before:
        assert _echo(open_before) == b"hello"
        echo_proxy.mode = "blackhole"
        with _connect(echo_proxy) as new:  # accepted, never answered
            for sock in (open_before, new):
                sock.sendall(b"anyone?")
                with pytest.raises(socket.timeout):
                    sock.settimeout(0.3)
                    sock.recv(1024)
        echo_proxy.mode = "pass"
    with _connect(echo_proxy) as after:
        assert _echo(after, b"back") == b"back"
