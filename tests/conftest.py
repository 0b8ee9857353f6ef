"""Shared fixtures: app, client, runner, query counting, users, tokens and real audio files.

The suite runs on a temporary SQLite file by default, and on PostgreSQL when TEST_DATABASE_URL
is set (the schema is created once per run and every table is emptied after each test).
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event, text
from werkzeug.serving import make_server

from app import create_app
from config import normalise_database_url
from extensions import db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
_schema_ready = False


def database_url(tmp_path: Path) -> str:
    if TEST_DATABASE_URL:
        return normalise_database_url(TEST_DATABASE_URL)
    return f"sqlite:///{tmp_path / 'test.db'}"


def make_app(tmp_path: Path, **overrides):
    config = {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "WTF_CSRF_ENABLED": False,
        "SOUNDBOARD_ADMIN_TOKEN": "test-soundboard-token",
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": "localhost",
    }
    config.update(overrides)
    return create_app(config)


def _prepare_schema(app) -> None:
    global _schema_ready
    with app.app_context():
        if not TEST_DATABASE_URL:
            db.create_all()
        elif not _schema_ready:
            db.drop_all()
            with db.engine.begin() as connection:  # leftovers of a migration test
                connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
            db.create_all()
            _schema_ready = True


def require_redis(url: str = "redis://127.0.0.1:6379/0") -> str:
    """Skip locally without Redis on 127.0.0.1:6379; in CI (.ci/run starts it) fail instead."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        if os.environ.get("CI") == "true":
            pytest.fail("Redis must run on 127.0.0.1:6379 in CI (.ci/run starts it)")
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    return url


def _close_live(app) -> None:
    """Each app that counted a click has its own click engine and announcer thread; close them."""
    live = app.extensions.get("soundboard_live")
    if live is not None:
        live.close()


def _empty_tables(app) -> None:
    if not TEST_DATABASE_URL:
        return
    with app.app_context():
        db.session.remove()
        names = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
        if names:
            with db.engine.begin() as connection:
                connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture()
def server_database(tmp_path) -> str:
    """An empty database for gunicorn servers that migrate their own schema: a SQLite file, or
    under TEST_DATABASE_URL a PostgreSQL database of its own next to the suite's."""
    if not TEST_DATABASE_URL:
        return f"sqlite:///{tmp_path / 'server.db'}"
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = make_url(normalise_database_url(TEST_DATABASE_URL))
    name = f"{url.database}_servers"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def moto_server():
    """One S3-compatible server (moto) for the whole run, started on first use."""
    from tests.storage_backends import MotoServer

    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture()
def media_storage(request, monkeypatch) -> dict:
    """The storage settings of the test's apps: the local folder, or with ``@both_storages``
    (tests/storage_backends.py) also a prefix of its own in moto's bucket, with the AWS_*
    variables an operator would set."""
    if getattr(request, "param", "local") == "local":
        return {}
    from tests.storage_backends import unique_prefix

    server = request.getfixturevalue("moto_server")
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    return {"MEDIA_STORAGE": f"s3://{server.bucket}/{unique_prefix()}"}


@pytest.fixture()
def app_factory(tmp_path, media_storage):
    """Build extra apps (e.g. CSRF on) that share the test database."""
    built = []

    def factory(**overrides):
        application = make_app(tmp_path, **{**media_storage, **overrides})
        _prepare_schema(application)
        built.append(application)
        return application

    yield factory
    for application in built:
        _close_live(application)
    if built:
        _empty_tables(built[0])
    for application in built:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture()
def app(app_factory):
    return app_factory()


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def runner(app):
    return app.test_cli_runner()


@pytest.fixture()
def count_queries(app):
    """``with count_queries() as queries: ...`` then ``len(queries)`` is the number of SQL statements."""

    @contextmanager
    def counter():
        statements: list[str] = []
        # Only this thread's statements: background threads (track processing, the click listener)
        # share the engine and would make counts flaky.
        thread = threading.get_ident()

        def record(conn, cursor, statement, parameters, context, executemany):
            if threading.get_ident() == thread:
                statements.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", record)

    return counter


@pytest.fixture()
def audio_file(tmp_path):
    """``audio_file("mp3")`` writes a real, short audio file and returns its path."""
    from demo.audio import make_audio_file

    made = {"n": 0}

    def make(fmt: str = "mp3", kind: str = "jingle", seconds: float | None = 1.5, name: str | None = None) -> Path:
        made["n"] += 1
        extension = {"ogg": "ogg", "opus": "opus", "flac": "flac", "mp3": "mp3"}[fmt]
        path = tmp_path / (name or f"sample{made['n']}.{extension}")
        return make_audio_file(path, fmt, kind=kind, seed=made["n"], seconds=seconds)

    return make


class LiveServer:
    def __init__(self, app):
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> "LiveServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


@pytest.fixture()
def live_server_factory(tmp_path, media_storage):
    servers: list[LiveServer] = []

    def factory(**config) -> LiveServer:
        settings = {"WTF_CSRF_ENABLED": True, "SERVER_NAME": None, "RATELIMIT_ENABLED": False, **media_storage}
        settings.update(config)
        app = make_app(tmp_path, **settings)
        _prepare_schema(app)
        server = LiveServer(app).start()
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()
        _close_live(server.app)
    if servers:
        _empty_tables(servers[0].app)
        from extensions import db

        for server in servers:
            with server.app.app_context():
                db.session.remove()
                db.engine.dispose()


@pytest.fixture()
def live_server(live_server_factory) -> LiveServer:
    return live_server_factory()
