"""Who is calling: bearer tokens for APIs, server-side login sessions for pages, and CSRF.

A request carrying ``Authorization: Bearer ...`` is authenticated by that token alone (never by a
cookie that happens to ride along), and skips CSRF: a cross-site page cannot set that header. On a
page (any path outside the API families) the token authenticates nobody.
Every other unsafe request that a session could authenticate is CSRF-checked.

The session cookie names a ``LoginSession`` row, not a user: logging out, "log out everywhere" and a
password change delete rows, and a cookie whose row is gone is anonymous.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Callable
from urllib.parse import urlsplit

from flask import Flask, current_app, g, redirect, request, url_for
from flask_login import AnonymousUserMixin, current_user
from sqlalchemy import select, update

from domain import Forbidden, Unauthenticated
from extensions import csrf, db, login_manager
from models.user import ApiToken, LoginSession, User, hash_token

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Writing last_used_at on every request would turn each API read into a write.
LAST_USED_PRECISION = timedelta(minutes=1)


@login_manager.user_loader
def load_user(session_key: str) -> User | None:
    """The cookie names a login session; it counts only while its row exists (logout deletes it)."""
    login_session = db.session.scalar(select(LoginSession).where(LoginSession.key_hash == hash_token(session_key)))
    if login_session is None:
        return None
    user = login_session.user
    user.login_session_key = session_key
    return user


def bearer_token_from_header() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def user_for_token(raw_token: str) -> User | None:
    """The token's user if the token exists, is not revoked and not expired."""
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(raw_token)))
    now = datetime.now(UTC)
    if token is None or not token.is_usable(now):
        return None
    last = token.last_used_at
    if last is None or (last if last.tzinfo else last.replace(tzinfo=UTC)) < now - LAST_USED_PRECISION:
        db.session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
        db.session.commit()
    return token.user


def authenticate_bearer() -> None:
    raw = bearer_token_from_header()
    g.auth_via_token = raw is not None
    if raw is None:
        return
    from blueprints.common.errors import is_api_request

    # Tokens are for the APIs only: on a page (Settings above all) a token counts for nothing, so it
    # can never mint another token, change the password or end sessions.
    user = user_for_token(raw) if is_api_request() else None
    # Flask-Login reads g._login_user; setting it makes the token win over any session cookie.
    g._login_user = user if user is not None else AnonymousUserMixin()


def mark_csrf_exempt(view: Callable) -> Callable:
    """For endpoints authenticated by something other than the session (signed URLs, raw tokens)."""
    view.csrf_exempt = True  # type: ignore[attr-defined]
    return view


def enforce_csrf() -> None:
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    if request.method not in UNSAFE_METHODS or g.get("auth_via_token"):
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and getattr(view, "csrf_exempt", False):
        return
    from blueprints.common.errors import is_api_request

    # An API call with no session at all will answer 401 (or is public): nothing for CSRF to protect.
    if is_api_request() and not current_user.is_authenticated:
        return
    csrf.protect()


def api_login_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            raise Unauthenticated()
        return view(*args, **kwargs)

    return wrapper


def api_admin_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            raise Unauthenticated()
        if not current_user.is_admin:
            raise Forbidden()
        return view(*args, **kwargs)

    return wrapper


def admin_page_required(view: Callable) -> Callable:
    """For HTML admin pages: log in first (redirect), then admins only (403 page)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_admin:
            raise Forbidden()
        return view(*args, **kwargs)

    return wrapper


def safe_next_url(target: str | None) -> str | None:
    """Only same-site relative paths; anything pointing elsewhere is ignored."""
    if not target:
        return None
    target = target.strip().replace("\\", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def register_auth(app: Flask) -> None:
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Log in to see that page."  # said by the log-in page when it has a next=
    login_manager.login_message_category = "info"

    @login_manager.unauthorized_handler
    def unauthorized():
        from blueprints.common.errors import is_api_request
        from blueprints.common.htmx import is_htmx_request

        if is_api_request():
            raise Unauthenticated()
        login_url = url_for("accounts.login", next=request.full_path.rstrip("?"))
        if is_htmx_request():
            response = current_app.response_class(status=204)
            response.headers["HX-Redirect"] = login_url
            return response
        return redirect(login_url)

    app.before_request(authenticate_bearer)
    app.before_request(enforce_csrf)
