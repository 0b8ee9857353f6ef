"""The application factory. Only wsgi.py, the flask CLI and the tests import this module."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix

from config import check_production_safety, load_config
from extensions import compress, csrf, db, login_manager, migrate


def create_app(test_config: dict | None = None) -> Flask:
    # Tests pass their own instance folder so they never touch the real one (database, demo login).
    instance_path = (test_config or {}).get("INSTANCE_PATH")
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    app.config.from_mapping(load_config(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    check_production_safety(app.config)
    register_request_guards(app)
    app.json.sort_keys = False  # keep the documented key order of every API body
    # Werkzeug answers 413 before a view reads a body larger than this (multipart included).
    app.config["MAX_CONTENT_LENGTH"] = (int(app.config["MAX_UPLOAD_MB"]) + 1) * 1024 * 1024
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    Path(app.config["MEDIA_ROOT"]).mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))

    trust_proxies(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_security_headers(app)
    register_commands(app)
    register_template_helpers(app)
    return app


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, every limit and log sees the visitor, not the proxy."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def register_request_guards(app: Flask) -> None:
    # First: its before_request hook runs before any other, its URL converter before any route.
    from blueprints.common.input_guard import register_input_guard

    register_input_guard(app)


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    # Flask runs teardowns in reverse order: this one runs before Flask-SQLAlchemy's own.
    app.teardown_appcontext(_end_session)
    migrate.init_app(app, db, render_as_batch=True)  # batch mode: SQLite can ALTER
    login_manager.init_app(app)
    csrf.init_app(app)
    # Pages, stylesheets and scripts travel compressed (about a third of their size); JSON, media and
    # the WebSocket are left as they are (the APIs' ETags and byte ranges stay exact).
    app.config.setdefault("COMPRESS_MIMETYPES", ["text/html", "text/css", "text/javascript", "application/javascript", "image/svg+xml"])
    compress.init_app(app)
    from blueprints.common.auth import register_auth
    from blueprints.common.query import register_query_layer
    from blueprints.common.rate_limits import register_rate_limits

    register_query_layer(app)
    register_auth(app)
    register_rate_limits(app)


def _end_session(error: BaseException | None) -> None:
    """End the request's session. A connection that died after the answer was made fails its
    rollback; it is discarded (its transaction died with it) and the answer still goes out."""
    try:
        db.session.remove()
    except SQLAlchemyError as failure:
        logging.getLogger(__name__).warning("A database connection was lost as a request ended (%s); it is discarded.", failure.__class__.__name__)
        db.session.remove()  # the failed rollback invalidated the connection: this only lets go of it


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """Foreign keys on; WAL so readers never block the writer; wait rather than fail on a lock."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable against a process crash in WAL mode
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def register_blueprints(app: Flask) -> None:
    from blueprints import accounts, apidocs, catalogue, main, operations, playlists, soundboard, tracks, wiki

    for feature in (main, accounts, catalogue, wiki, playlists, tracks, soundboard, apidocs, operations):
        feature.register(app)


def register_errorhandlers(app: Flask) -> None:
    from blueprints.common.errors import register_error_handlers

    register_error_handlers(app)


def register_security_headers(app: Flask) -> None:
    from blueprints.common.security_headers import register_security_headers as register

    register(app)


def register_commands(app: Flask) -> None:
    from commands import register_commands as register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from blueprints.common.templating import register_templating

    register_templating(app)
