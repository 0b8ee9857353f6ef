"""Configuration: safe defaults, overridden by environment variables.

Every setting a user or operator may change is listed in the README.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from database import postgres_connect_args

DEV_SECRET_KEY = "dev-only-not-secret"  # refused when APP_ENV=production

log = logging.getLogger(__name__)


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:  # a typo must not silently fall back to the default
        raise RuntimeError(f"{name} must be an integer, got {raw!r}") from exc


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be a number, got {raw!r}") from exc


def _media_storage(value: str | None) -> str | None:
    """Refuse a malformed MEDIA_STORAGE at start-up rather than at the first upload."""
    from media.storage import parse_media_storage

    try:
        parse_media_storage(value)
    except ValueError as exc:
        raise RuntimeError(str(exc)) from exc
    return value or None


def normalise_database_url(url: str) -> str:
    """Accept Heroku-style ``postgres://`` and plain ``postgresql://`` URLs.

    SQLAlchemy wants ``postgresql+psycopg://`` for psycopg 3.
    """
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def is_sqlite(database_url: str | URL) -> bool:
    """True for a SQLite URL (text or URL object): the one place the app tells SQLite apart by URL."""
    return make_url(database_url).get_backend_name() == "sqlite"


def database_engine_options(database_url: str) -> dict[str, object]:
    """SQLAlchemy engine options for ``database_url``, timeouts included (DATABASE_* variables)."""
    # pre-ping: a connection the server dropped (restart, outage) is replaced, not handed out.
    # pool_timeout: seconds a request waits for a free pooled connection before it answers 503.
    engine_options: dict[str, object] = {"pool_pre_ping": True, "pool_timeout": _int("DATABASE_POOL_TIMEOUT", 10)}
    if not is_sqlite(database_url):
        # Connections each web process keeps for pages and APIs, and how many more a burst may
        # open (and close again when it is over): sized against the server's max_connections.
        engine_options |= {"pool_size": _int("DATABASE_POOL_SIZE", 5), "max_overflow": _int("DATABASE_MAX_OVERFLOW", 10)}
        # A server that is down or stops answering fails requests within these (database.py).
        engine_options["connect_args"] = postgres_connect_args(
            database_url, _int("DATABASE_CONNECT_TIMEOUT", 5), _int("DATABASE_STATEMENT_TIMEOUT", 30)
        )
    return engine_options


def load_config(instance_path: str) -> dict:
    """Build the config mapping from the environment (called by create_app)."""
    instance = Path(instance_path)
    database_url = normalise_database_url(os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'themeboard.db'}")
    engine_options = database_engine_options(database_url)
    return {
        "APP_ENV": os.environ.get("APP_ENV", "development"),
        "SECRET_KEY": os.environ.get("SECRET_KEY", DEV_SECRET_KEY),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "MEDIA_ROOT": os.environ.get("MEDIA_ROOT", str(instance / "media")),
        # Unset: files under MEDIA_ROOT. s3://bucket/prefix: an S3-compatible bucket (endpoint and
        # credentials from the AWS_* variables); MEDIA_ROOT then only stages uploads being received.
        "MEDIA_STORAGE": _media_storage(os.environ.get("MEDIA_STORAGE")),
        # With S3: downloads redirect to presigned URLs (the store serves the bytes) instead of
        # streaming through the app; the store must then be reachable by the browsers.
        "MEDIA_PRESIGNED_DOWNLOADS": _bool(os.environ.get("MEDIA_PRESIGNED_DOWNLOADS"), False),
        # The RQ queue that `flask worker` runs (only with REDIS_URL).
        "JOBS_QUEUE": os.environ.get("JOBS_QUEUE") or "themeboard",
        "SOUNDBOARD_ADMIN_TOKEN": os.environ.get("SOUNDBOARD_ADMIN_TOKEN") or None,
        "PLAYLIST_LIMIT": _int("PLAYLIST_LIMIT", 1000),
        "PLAYLIST_TRACK_LIMIT": _int("PLAYLIST_TRACK_LIMIT", 1000),
        "ALLOW_PLAYLIST_MANAGEMENT": _bool(os.environ.get("ALLOW_PLAYLIST_MANAGEMENT"), True),
        "MAX_UPLOAD_MB": _int("MAX_UPLOAD_MB", 50),
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        # Seconds a Redis call may take before the caller falls back to this process (redis_link.py).
        "REDIS_CONNECT_TIMEOUT": _float("REDIS_CONNECT_TIMEOUT", 1.0),
        "REDIS_SOCKET_TIMEOUT": _float("REDIS_SOCKET_TIMEOUT", 1.0),
        "SOUNDBOARD_CHANNEL": os.environ.get("SOUNDBOARD_CHANNEL", "themeboard:soundboard"),
        "API_CACHE_DISABLED": _bool(os.environ.get("API_CACHE_DISABLED"), False),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI")
        or os.environ.get("REDIS_URL")
        or "memory://",
        # Redis down: Flask-Limiter counts in this process's memory until its storage answers
        # again (with REDIS_*_TIMEOUT as its socket timeouts: blueprints/common/rate_limits.py).
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "CLICK_RATE_LIMIT": os.environ.get("CLICK_RATE_LIMIT", "20/second"),
        # Flask-Limiter (blueprints/common/rate_limits.py); "off" disables one of them.
        "API_RATE_LIMIT": os.environ.get("API_RATE_LIMIT", "600/minute"),
        "AUTH_FAILURE_RATE_LIMIT": os.environ.get("AUTH_FAILURE_RATE_LIMIT", "30/minute"),
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10/minute;50/hour"),
        "WS_CONNECTIONS_PER_ADDRESS": _int("WS_CONNECTIONS_PER_ADDRESS", 20),
        # Open soundboard pages one web process holds before it closes new ones (code 1013);
        # below gunicorn.conf.py's worker_connections so that pages and APIs still get through.
        "WS_MAX_CONNECTIONS": _int("WS_MAX_CONNECTIONS", 15000),
        "WS_HEARTBEAT_SECONDS": _int("WS_HEARTBEAT_SECONDS", 25),
        # Open pages hear of clicks at most this often (ms); megumin.love's admin may override it.
        "SOUNDBOARD_RESPONSE_INTERVAL_MS": _int("SOUNDBOARD_RESPONSE_INTERVAL_MS", 50),  # a ping this often; no pong by the next one closes
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are believed
        # (Werkzeug's ProxyFix); 0 ignores those headers, so nobody can fake an address.
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0),
        "CLICK_DB_CONNECTIONS": _int("CLICK_DB_CONNECTIONS", 8),  # per web process, PostgreSQL only
        # Tracks v1: signed upload URLs and background processing.
        "TRACKS_UPLOAD_TTL": _int("TRACKS_UPLOAD_TTL", 3600),  # seconds a signed upload URL works
        "TRACKS_PROCESSING_LEASE_SECONDS": _int("TRACKS_PROCESSING_LEASE_SECONDS", 120),  # then re-queued
        "TRACKS_SWEEP_SECONDS": _int("TRACKS_SWEEP_SECONDS", 30),  # how often each process looks for stuck tracks
        # A signed upload URL is held by the request sending its body for this long after the last
        # bytes arrived; a request that died mid-body frees the URL when it runs out.
        "TRACKS_UPLOAD_CLAIM_SECONDS": _int("TRACKS_UPLOAD_CLAIM_SECONDS", 60),
        # The sweep removes staging files (and S3 multipart uploads) untouched for this long.
        "STAGING_MAX_AGE_SECONDS": _int("STAGING_MAX_AGE_SECONDS", 3600),
        # Forms: tokens valid for the session's lifetime (htmx pages stay open for long).
        "WTF_CSRF_TIME_LIMIT": None,
        # CSRF is checked in one before_request hook so that bearer-token requests skip it.
        "WTF_CSRF_CHECK_DEFAULT": False,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
    }


def check_production_safety(config: dict) -> None:
    """Refuse to serve production traffic with settings that are only safe locally."""
    if config.get("APP_ENV") == "production" and config.get("SECRET_KEY") in (None, "", DEV_SECRET_KEY):
        raise RuntimeError(
            "SECRET_KEY is unset or the development default; set SECRET_KEY before running in production "
            "(APP_ENV=production)."
        )
    if not config.get("SOUNDBOARD_ADMIN_TOKEN") and not config.get("TESTING"):
        log.warning("SOUNDBOARD_ADMIN_TOKEN is not set: token-protected soundboard admin routes answer 401.")
