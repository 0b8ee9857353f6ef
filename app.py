"""The application factory. Only wsgi.py, the flask CLI and the tests import this module."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from config import check_production_safety, load_config
from extensions import csrf, db, login_manager, migrate


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
    migrate.init_app(app, db, render_as_batch=True)  # batch mode: SQLite can ALTER
    login_manager.init_app(app)
    csrf.init_app(app)
    from blueprints.common.auth import register_auth
    from blueprints.common.query import register_query_layer
    from blueprints.common.rate_limits import register_rate_limits

    register_query_layer(app)
    register_auth(app)
    register_rate_limits(app)


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
    from blueprints import accounts, apidocs, catalogue, main, playlists, soundboard, tracks

    for feature in (main, accounts, catalogue, playlists, tracks, soundboard, apidocs):
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
