"""Rate limits on logins and the APIs (Flask-Limiter), answered in each API family's format.

- ``API_RATE_LIMIT``: every request to an API family (``/api/``, ``/v1/``, the soundboard routes)
  counts against its caller: the account for a valid token or a session, the address otherwise.
  The soundboard click route has its own limit (``CLICK_RATE_LIMIT``, soundboard/throttle.py).
- ``AUTH_FAILURE_RATE_LIMIT``: API answers of 401 (unknown, revoked or expired tokens, a wrong
  soundboard token) count against the address; past the limit the address gets 429 on the APIs.
- ``LOGIN_RATE_LIMIT``: failed logins, registrations and password changes, counted per address and
  per account (the name or email typed, or the logged-in user).

Counts live in ``RATELIMIT_STORAGE_URI`` (Redis when ``REDIS_URL`` is set, else this process's
memory); while that Redis is unreachable, Flask-Limiter's in-memory fallback counts them here. A limit set to ``off`` (or empty) is not applied; ``RATELIMIT_ENABLED=False`` turns all off.
This module imports nothing of the app at import time: extensions.py builds the limiter from it.
"""
from __future__ import annotations

import hashlib
import math
import time

from flask import Flask, current_app, request
from flask_limiter import ApplicationLimit
from flask_limiter.errors import RateLimitExceeded
from flask_login import current_user
from werkzeug.wrappers import Response

FAMILY_MESSAGES = {
    "animethemes": "Too Many Attempts.",  # Laravel's throttle wording, as the AnimeThemes API says it
    "tracks": "Too many requests",
    "soundboard": "Too many requests; try again later.",
}


def client_address() -> str:
    return "address:" + (request.remote_addr or "unknown")


def _configured(name: str) -> str:
    value = (current_app.config.get(name) or "").strip()
    return "" if value.lower() in ("off", "0", "none") else value


def api_limit() -> str:
    return _configured("API_RATE_LIMIT")


def auth_failure_limit() -> str:
    return _configured("AUTH_FAILURE_RATE_LIMIT")


def login_limit() -> str:
    return _configured("LOGIN_RATE_LIMIT")


def api_caller() -> str:
    """The account behind a valid token or session, else the address (runs after authentication)."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return client_address()


def login_account() -> str:
    """The account a login names, as typed (lower case, so 'Rin' and 'rin' share a count)."""
    typed = (request.form.get("login") or "").strip().lower()[:254]
    return "account:" + hashlib.sha256(typed.encode()).hexdigest()[:32]


def logged_in_account() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else client_address()


def _not_api() -> bool:
    from blueprints.common.errors import family_for

    return family_for(request.path) is None


CLICK_PATH = "/api/soundboard/click"  # CLICK_RATE_LIMIT counts it (soundboard/throttle.py)


def _not_api_or_counted_elsewhere() -> bool:
    return _not_api() or request.path == CLICK_PATH


def refused_credentials(response: Response) -> bool:
    return response.status_code == 401


def form_refused(response: Response) -> bool:
    """A failed login, registration or password change re-renders its form with 422."""
    return response.status_code == 422


APPLICATION_LIMITS = [
    ApplicationLimit(api_limit, key_function=api_caller, scope="api", exempt_when=_not_api_or_counted_elsewhere),
    ApplicationLimit(
        auth_failure_limit,
        key_function=client_address,
        scope="auth-failures",
        exempt_when=_not_api,
        deduct_when=refused_credentials,
    ),
]


def retry_after_seconds() -> int:
    from extensions import limiter

    breached = limiter.current_limit
    if breached is None:
        return 1
    return max(1, math.ceil(breached.window.reset_time - time.time()))


def too_many_requests(error: RateLimitExceeded) -> Response:
    from blueprints.common.errors import error_response, family_for

    retry_after = retry_after_seconds()
    family = family_for(request.path)
    if family is None:
        minutes, seconds = divmod(retry_after, 60)
        wait = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
        message = f"Too many attempts. Try again in {wait}."
    else:
        message = FAMILY_MESSAGES[family.name]
    response = error_response(429, message)
    response.headers["Retry-After"] = str(retry_after)
    return response


def register_rate_limits(app: Flask) -> None:
    """After register_auth: the limiter's before_request must see who the caller is."""
    from extensions import limiter
    from redis_link import client_options, is_redis_uri

    if is_redis_uri(app.config.get("RATELIMIT_STORAGE_URI")):
        # A Redis that stops answering must cost a request a second at most, not hang it.
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {**client_options(app.config), **app.config.get("RATELIMIT_STORAGE_OPTIONS", {})}
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, too_many_requests)
