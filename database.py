"""How the app talks to its database server so that a server that stops answering cannot hang it.

PostgreSQL gets three bounds (README, Configuration): ``DATABASE_CONNECT_TIMEOUT`` for opening a
connection (psycopg's ``connect_timeout``), ``DATABASE_STATEMENT_TIMEOUT`` for one statement (the
server cancels it: ``-c statement_timeout``) and ``DATABASE_POOL_TIMEOUT`` for waiting on a free
pooled connection. A server that accepts TCP but never answers (frozen, or behind a dropped
route) is not covered by any of those once a query is on the wire, and TCP keepalives and
``tcp_user_timeout`` are answered by whatever holds the socket open; so every wait for the
server's answer is also bounded on the client (``GuardedConnection``): the statement timeout plus
``RESPONSE_GRACE`` seconds, after which the connection is closed and SQLAlchemy discards it.

SQLite has no server: its lock wait (``PRAGMA busy_timeout``, app.py) is its only bound.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

RESPONSE_GRACE = 2  # seconds past the statement timeout for a live server's "canceled" answer
RESPONSE_TIMEOUT_ARG = "themeboard_response_timeout"  # consumed by _guarded_connect, never sent to libpq
# A peer that vanishes without a reset is noticed by the kernel within about a minute.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}


def postgres_connect_args(database_url: str, connect_timeout: int, statement_timeout: int) -> dict[str, Any]:
    """psycopg connection arguments carrying the timeouts (0 disables one)."""
    args: dict[str, Any] = dict(KEEPALIVES)
    if connect_timeout > 0:
        args["connect_timeout"] = connect_timeout
        # Unacknowledged bytes (a dead peer mid-query) break the connection after this long.
        args["tcp_user_timeout"] = connect_timeout * 1000
    if statement_timeout > 0:
        # Keep any options the URL already sets (?options=-c%20search_path%3D...).
        existing = make_url(database_url).query.get("options")
        existing = existing[-1] if isinstance(existing, tuple) else existing
        args["options"] = " ".join(filter(None, [existing, f"-c statement_timeout={statement_timeout * 1000}"]))
        args[RESPONSE_TIMEOUT_ARG] = statement_timeout + RESPONSE_GRACE
    return args


def _guarded_connection_class():
    import psycopg
    from psycopg import errors

    class GuardedConnection(psycopg.Connection):
        """A psycopg connection whose every wait for the server gives up after ``response_timeout``."""

        response_timeout: float | None = None

        def wait(self, gen, interval: float = 0.1, timeout: float | None = None):  # type: ignore[override]
            try:
                return super().wait(gen, interval=interval, timeout=timeout or self.response_timeout)
            except errors._WaitTimeout as error:
                # The protocol is mid-message: the connection cannot be used again. Closed, it
                # reads as a disconnect to SQLAlchemy, which discards it from the pool.
                self.pgconn.finish()
                raise psycopg.OperationalError(
                    f"the database server did not answer within {self.response_timeout} s"
                ) from error

    return GuardedConnection


_guarded = None


@event.listens_for(Engine, "do_connect")
def _guarded_connect(dialect, connection_record, cargs, cparams):
    """Connections of engines configured with a response timeout are GuardedConnections."""
    response_timeout = cparams.pop(RESPONSE_TIMEOUT_ARG, None)
    if response_timeout is None or dialect.driver != "psycopg":
        return None  # SQLAlchemy connects as usual
    global _guarded
    if _guarded is None:
        _guarded = _guarded_connection_class()
    connection = _guarded.connect(*cargs, **cparams)
    connection.response_timeout = float(response_timeout)
    return connection
