"""One app-level error handler; each API family answers in its own JSON format.

The family is chosen by path prefix (longest match wins), so routing 404s and 405s, which
blueprint handlers never see, are answered in the right format too. Pages get an HTML page.
A database that cannot be reached answers 503 with Retry-After; a value the database refuses
to store (out of range, NUL in text) answers as invalid input, never 500.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask_login import AnonymousUserMixin
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from domain import DomainError
from extensions import db

log = logging.getLogger(__name__)

ErrorRenderer = Callable[[int, str, "dict[str, list[str]] | None"], Response]


@dataclass(frozen=True)
class ApiFamily:
    name: str
    # A prefix ending in "/" covers everything below it; any other names a whole path segment
    # ("/api/sounds" covers "/api/sounds" and "/api/sounds/x", not "/api/soundsystem").
    prefixes: tuple[str, ...]
    render: ErrorRenderer

    def match_length(self, path: str) -> int:
        """The length of this family's longest prefix of ``path``; 0 if none."""
        best = 0
        for prefix in self.prefixes:
            covers = path.startswith(prefix) if prefix.endswith("/") else path == prefix or path.startswith(prefix + "/")
            if covers and len(prefix) > best:
                best = len(prefix)
        return best


def _animethemes_error(status: int, message: str, errors: dict | None) -> Response:
    body: dict = {"message": message}
    if errors:
        body["errors"] = errors
    return jsonify(body)


def _tracks_error(status: int, message: str, errors: dict | None) -> Response:
    body: dict = {"ok": False, "message": message, "api_request_id": api_request_id()}
    if errors:
        body["errors"] = errors
    return jsonify(body)


SOUNDBOARD_ERROR_NAMES = {
    400: "Bad request",
    401: "Access denied",
    403: "Access denied",
    404: "Invalid route",  # the original's answer to a path it has no endpoint for
    405: "Method not allowed",
    413: "File too large",
    429: "Too many requests",
    500: "Serverside error",
    503: "Service unavailable",
}


def _soundboard_error(status: int, message: str, errors: dict | None) -> Response:
    name = (errors or {}).get("__name__") or SOUNDBOARD_ERROR_NAMES.get(status, "Error")
    return jsonify({"code": status, "name": name, "message": message})


ANIMETHEMES = ApiFamily("animethemes", ("/api/", "/restore/", "/forceDelete/"), _animethemes_error)
TRACKS = ApiFamily("tracks", ("/v1/",), _tracks_error)
# The original's endpoints (and what is below them); the rest of /api/ is the AnimeThemes API's.
SOUNDBOARD = ApiFamily(
    "soundboard",
    (
        "/api/meta",
        "/api/counter",
        "/api/sounds",
        "/api/themes",
        "/api/statistics",
        "/api/login",
        "/api/admin",
        "/api/soundboard",
        "/admin/sounds/upload",
    ),
    _soundboard_error,
)
FAMILIES = (ANIMETHEMES, TRACKS, SOUNDBOARD)

# Messages a client sees for plain HTTP errors in the AnimeThemes family (Laravel's wording).
DEFAULT_MESSAGES = {
    401: "Unauthenticated",
    403: "This action is unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    429: "Too Many Attempts.",
    500: "Server Error",
    503: "Service Unavailable",
}
SOUNDBOARD_MESSAGES = {
    500: "An unexpected error occurred.",
    401: "Invalid token provided.",
    404: "Endpoint not found.",
    429: "Too many clicks from this address; slow down.",
}
TRACKS_MESSAGES = {500: "Internal server error", 404: "Not found", 401: "Unauthorized"}
# Operational endpoints (health check) answer JSON like their success bodies.
SERVICE_PATHS = ("/healthz", "/ping")
DATABASE_UNAVAILABLE = "The database is unavailable; try again shortly."
RETRY_AFTER_SECONDS = 5
# SQLite reports both a busy or unreadable database and a programming error (no such table) as
# OperationalError; only these messages mean "try again later".
SQLITE_UNAVAILABLE = ("database is locked", "unable to open database", "disk i/o error", "database or disk is full")


try:
    import psycopg

    # psycopg's own: connection refused, lost or timed out (database.py), statement timeout.
    DRIVER_UNAVAILABLE: tuple[type[BaseException], ...] = (psycopg.OperationalError, psycopg.InterfaceError)
except ImportError:  # pragma: no cover - psycopg is in requirements.txt
    DRIVER_UNAVAILABLE = ()


@lru_cache(maxsize=1024)  # asked on every request (after_request too), of a handful of paths
def family_for(path: str) -> ApiFamily | None:
    best: tuple[int, ApiFamily] | None = None
    for family in FAMILIES:
        length = family.match_length(path)
        if length and (best is None or length > best[0]):
            best = (length, family)
    return best[1] if best else None


def is_api_request() -> bool:
    return family_for(request.path) is not None


def api_request_id() -> str:
    """The Tracks v1 request id: one per request, sent in the body and the X-Api-Request-Id header."""
    if "api_request_id" not in g:
        g.api_request_id = str(uuid.uuid4())
    return g.api_request_id


def default_message(family: ApiFamily, status: int, fallback: str) -> str:
    if family is SOUNDBOARD:
        return SOUNDBOARD_MESSAGES.get(status, fallback)
    if family is TRACKS:
        return TRACKS_MESSAGES.get(status, fallback)
    return DEFAULT_MESSAGES.get(status, fallback)


def error_response(status: int, message: str | None = None, errors: dict | None = None) -> Response:
    """Answer an error in the format of whatever the current request hit."""
    family = family_for(request.path)
    if family in (TRACKS, SOUNDBOARD) and status == 422:
        status = 400  # Tracks v1 and the soundboard report every validation error as 400
    if family is None and request.path in SERVICE_PATHS:
        body = {"status": "unavailable" if status == 503 else "error", "message": message or DEFAULT_MESSAGES.get(status, "Error")}
        response = jsonify(body)
    elif family is None:
        response = Response(
            render_template("errors/error.html", status=status, message=message or DEFAULT_MESSAGES.get(status, "Error")),
            mimetype="text/html",
        )
    else:
        response = family.render(status, message or default_message(family, status, "Error"), errors)
    response.status_code = status
    return response


def upload_limit_message() -> str:
    """What a page says about a body over the limit: the limit in words, as the form states it."""
    return f"The file is too large. Max {current_app.config['MAX_UPLOAD_MB']} MB."


def page_too_large_response() -> Response:
    """413 for pages. An htmx upload gets the sentence in its form's error slot (``<form id>-error``),
    so the form stays as it was; other requests get the error page."""
    message = upload_limit_message()
    if request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true":
        trigger = request.headers.get("HX-Trigger")
        response = Response(render_template("errors/_inline.html", message=message), status=413, mimetype="text/html")
        response.headers["HX-Retarget"] = f"#{trigger}-error" if trigger else "#notifications"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    return error_response(413, message)


def database_unavailable(error: BaseException) -> bool:
    """True when the database cannot be reached or is too busy, as opposed to a bug in a query."""
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, DRIVER_UNAVAILABLE):  # raised by a raw driver cursor (the click counter's)
        return True
    if not isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        return False
    if type(error.orig).__module__.startswith("sqlite3"):
        text = str(error.orig).lower()
        return any(marker in text for marker in SQLITE_UNAVAILABLE)
    return True  # psycopg: connection refused or lost, server shutting down, too many clients


def _rollback_quietly() -> None:
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - a dead connection cannot roll back; the pool discards it
        db.session.close()


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def handle_domain_error(error: DomainError):
        response = error_response(error.status, error.message, error.errors)
        if getattr(error, "retry_after", None) is not None:
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.errorhandler(CSRFError)
    def handle_csrf_error(error: CSRFError):
        return error_response(400, f"CSRF check failed: {error.description}")

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        family = family_for(request.path)
        if family is None and error.code == 413 and request.path not in SERVICE_PATHS:
            return page_too_large_response()
        if family is None:
            message = error.description if error.code not in (404, 500) else None
            response = error_response(error.code, message)
        else:
            response = error_response(error.code, default_message(family, error.code, error.name))
        # Keep headers such as Allow (405) and Retry-After (429).
        for key, value in error.get_headers():
            if key.lower() != "content-type":
                response.headers[key] = value
        return response

    def handle_database_unavailable(error: Exception) -> Response:
        _rollback_quietly()
        log.error("Database unavailable on %s %s: %s", request.method, request.path, error.__class__.__name__)
        # The page cannot know who is logged in without the database: render it as anonymous.
        g._login_user = AnonymousUserMixin()
        response = error_response(503, DATABASE_UNAVAILABLE)
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    def handle_unstorable_value(error: Exception) -> Response:
        _rollback_quietly()
        reason = getattr(error, "orig", None) or error
        log.warning("Value refused by the database on %s %s: %s", request.method, request.path, reason)
        message = "A value in the request is out of range or cannot be stored."
        return error_response(422, message, {"value": [message]})

    @app.errorhandler(Exception)
    def handle_unexpected_error(error: Exception):
        if isinstance(error, HTTPException):
            return handle_http_error(error)
        if database_unavailable(error):
            return handle_database_unavailable(error)
        # SQLSTATE class 22 (value out of range, text with NUL, too long) is about the data sent;
        # SQLite's driver raises OverflowError itself for an integer beyond 64 bits.
        if isinstance(error, (sa_exc.DataError, OverflowError)):
            return handle_unstorable_value(error)
        # Never leak a trace; the log keeps it. Roll back so the session is usable again.
        _rollback_quietly()
        log.exception("Unhandled error on %s %s", request.method, request.path)
        return error_response(500)

    @app.after_request
    def add_api_request_id(response: Response) -> Response:
        if family_for(request.path) is TRACKS:
            response.headers["X-Api-Request-Id"] = api_request_id()
            log.info("api_request_id=%s %s %s -> %s", api_request_id(), request.method, request.path, response.status_code)
        return response

