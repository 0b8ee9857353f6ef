"""A small TCP proxy that injects network faults between the app and one of its dependencies.

Usage (tests, stress scripts)::

    from tests.fault_proxy import FaultProxy

    proxy = FaultProxy("127.0.0.1", 5432)
    port = proxy.start()           # listens on 127.0.0.1:<port> (or the port given to the constructor)
    # point DATABASE_URL / REDIS_URL at 127.0.0.1:<port>
    proxy.mode = "blackhole"      # or "refuse", or "pass"
    proxy.cut()                   # "refuse" and also reset every open connection at once
    proxy.mode = "pass"           # the dependency is back: new connections go through again
    proxy.stop()                  # also usable as a context manager: `with FaultProxy(...) as proxy:`

Modes (changing ``mode`` takes effect at once, on new and open connections alike):

- ``"pass"``: bytes are forwarded both ways, as if the proxy were not there.
- ``"refuse"``: new connections are accepted and closed at once (the client sees a reset/EOF),
  like a dependency that is restarting; open connections are left alone (``cut()`` closes them too).
- ``"blackhole"``: new connections are accepted and never answered, and open ones stop
  forwarding in both directions without being closed, like a host behind a dropped route or a
  frozen server. Bytes received meanwhile are discarded. Going back to ``"pass"`` closes the
  connections that were held (their protocol state is lost anyway), so clients reconnect.

Every connection runs on two threads (one per direction) so the proxy needs nothing but the
standard library and works from any test, sync or async, and from a subprocess-driven script
(``python -m tests.fault_proxy TARGET_HOST TARGET_PORT LISTEN_PORT`` reads modes on stdin).
"""
from __future__ import annotations

import select
import socket
import sys
import threading

MODES = ("pass", "refuse", "blackhole")


class FaultProxy:
    def __init__(self, target_host: str, target_port: int, listen_host: str = "127.0.0.1", listen_port: int = 0):
        self.target = (target_host, int(target_port))
        self.listen = (listen_host, int(listen_port))
        self.port: int | None = None
        self._mode = "pass"
        self._lock = threading.Lock()
        self._connections: set[_Connection] = set()
        self._server: socket.socket | None = None
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    # -- control -----------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {value!r}")
        with self._lock:
            previous, self._mode = self._mode, value
            held = list(self._connections) if previous == "blackhole" and value != "blackhole" else []
        for connection in held:  # a stream that lost bytes in the hole cannot be resumed
            connection.close()

    def cut(self) -> None:
        """Refuse new connections and reset every open one (a dependency that just died)."""
        self.mode = "refuse"
        self.close_connections()

    def close_connections(self) -> None:
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            connection.close()

    @property
    def connection_count(self) -> int:
        with self._lock:
            return len(self._connections)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> int:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(self.listen)
        server.listen(512)
        server.settimeout(0.2)
        self._server = server
        self.port = server.getsockname()[1]
        self._thread = threading.Thread(target=self._accept_loop, name=f"fault-proxy-{self.port}", daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        self._stopped.set()
        if self._thread:
            self._thread.join(timeout=2)
        if self._server:
            self._server.close()
        self.close_connections()

    def __enter__(self) -> "FaultProxy":
        if self.port is None:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- internals ---------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._server.accept()
            except (socket.timeout, OSError):
                continue
            mode = self._mode
            if mode == "refuse":
                _reset(client)
                continue
            connection = _Connection(self, client)
            with self._lock:
                self._connections.add(connection)
            connection.start(connect_upstream=mode == "pass")

    def _forget(self, connection: "_Connection") -> None:
        with self._lock:
            self._connections.discard(connection)


class _Connection:
    def __init__(self, proxy: FaultProxy, client: socket.socket):
        self.proxy = proxy
        self.client = client
        self.upstream: socket.socket | None = None
        self.closed = threading.Event()

    def start(self, connect_upstream: bool) -> None:
        threading.Thread(target=self._run, args=(connect_upstream,), daemon=True).start()

    def _run(self, connect_upstream: bool) -> None:
        # A connection accepted in blackhole mode waits, silent, until the mode changes.
        while not connect_upstream and not self.closed.is_set():
            if self.proxy.mode != "blackhole":
                # Held through a blackhole: the client's handshake bytes were swallowed, so close.
                self.close()
                return
            self._drain(self.client, 0.1)
        if self.closed.is_set():
            return
        try:
            self.upstream = socket.create_connection(self.proxy.target, timeout=5)
        except OSError:
            self.close()
            return
        self.upstream.settimeout(None)
        threading.Thread(target=self._pump, args=(self.upstream, self.client), daemon=True).start()
        self._pump(self.client, self.upstream)

    def _drain(self, sock: socket.socket, timeout: float) -> bool:
        """Read and discard what arrives; False when the peer closed."""
        try:
            readable, _, _ = select.select([sock], [], [], timeout)
            if readable and not sock.recv(65536):
                self.close()
                return False
        except (OSError, ValueError):
            self.close()
            return False
        return True

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        while not self.closed.is_set():
            try:
                readable, _, _ = select.select([source], [], [], 0.1)
            except (OSError, ValueError):
                break
            if not readable:
                continue
            try:
                data = source.recv(65536)
            except OSError:
                break
            if not data:
                break
            if self.proxy.mode == "blackhole":
                continue  # swallowed: neither side hears anything
            try:
                sink.sendall(data)
            except OSError:
                break
        self.close()

    def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for sock in (self.client, self.upstream):
            if sock is not None:
                _reset(sock)
        self.proxy._forget(self)


def _reset(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def main(argv: list[str]) -> None:
    """Run standalone: each line on stdin ("pass", "refuse", "blackhole", "cut", "quit") changes the mode."""
    target_host, target_port = argv[0], int(argv[1])
    listen_port = int(argv[2]) if len(argv) > 2 else 0
    proxy = FaultProxy(target_host, target_port, listen_port=listen_port)
    print(proxy.start(), flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "quit":
            break
        if command == "cut":
            proxy.cut()
        elif command:
            proxy.mode = command
        print(proxy.mode, flush=True)
    proxy.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
