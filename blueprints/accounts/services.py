"""Account use cases shared by the pages, the CLI and the tests."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, or_, select

from domain import NotFound, ValidationFailed
from extensions import db
from models.user import ApiToken, LoginSession, Role, User, check_password_of_nobody, hash_token

TOKEN_PREFIX = "tb_"
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 200


def create_user(name: str, email: str, password: str, *, admin: bool = False) -> User:
    user = _new_user(name, email, password, admin=admin)
    db.session.commit()
    return user


def register_user(name: str, email: str, password: str) -> User:
    """The register page: the account and its first login session in one commit (call login_user after)."""
    user = _new_user(name, email, password, admin=False)
    db.session.flush()
    _add_session(user)
    db.session.commit()
    return user


def _new_user(name: str, email: str, password: str, *, admin: bool) -> User:
    """Validate and add a user to the session; the caller commits."""
    name, email = (name or "").strip(), (email or "").strip().lower()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["The name field is required."]
    elif len(name) > 64:
        errors["name"] = ["The name must not be greater than 64 characters."]
    if not email or "@" not in email:
        errors["email"] = ["The email must be a valid email address."]
    if len(password or "") < MIN_PASSWORD_LENGTH:
        errors["password"] = [f"The password must be at least {MIN_PASSWORD_LENGTH} characters."]
    if not errors:
        taken = db.session.execute(
            select(User.name, User.email).where(or_(func.lower(User.name) == name.lower(), User.email == email))
        ).all()
        if any(row.name.lower() == name.lower() for row in taken):
            errors["name"] = ["The name has already been taken."]
        if any(row.email == email for row in taken):
            errors["email"] = ["The email has already been taken."]
    if errors:
        raise ValidationFailed(errors)
    user = User(name=name, email=email, role=Role.admin if admin else Role.user)
    user.set_password(password)
    db.session.add(user)
    return user


def authenticate(login: str, password: str) -> User | None:
    """By name or email; one answer for a wrong name and a wrong password alike, in the same time:
    a name that matches nobody still costs one password hash check."""
    login = (login or "").strip()
    user = db.session.scalar(
        select(User).where(or_(func.lower(User.name) == login.lower(), User.email == login.lower()))
    )
    if user is None:
        check_password_of_nobody(password or "")
        return None
    if not user.check_password(password or ""):
        return None
    return user


def start_session(user: User) -> str:
    """A new login session for ``user`` (call before login_user); returns the raw key for the cookie."""
    raw = _add_session(user)
    db.session.commit()
    return raw


def _add_session(user: User) -> str:
    raw = secrets.token_urlsafe(32)
    db.session.add(LoginSession(user_id=user.id, key_hash=hash_token(raw)))
    user.login_session_key = raw
    return raw


def end_session(session_key: str) -> None:
    db.session.execute(delete(LoginSession).where(LoginSession.key_hash == hash_token(session_key)))
    db.session.commit()


def _delete_sessions(user: User, keep: str | None):
    statement = delete(LoginSession).where(LoginSession.user_id == user.id)
    if keep is not None:
        statement = statement.where(LoginSession.key_hash != hash_token(keep))
    return statement


def end_sessions(user: User, *, keep: str | None = None) -> int:
    """Log ``user`` out everywhere (but the session ``keep``, if given); returns how many ended."""
    ended = db.session.execute(_delete_sessions(user, keep)).rowcount
    db.session.commit()
    return ended


def count_sessions(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(LoginSession).where(LoginSession.user_id == user.id))


def change_password(user: User, current: str, new: str, *, keep_session: str | None) -> None:
    """Check the current password, set the new one and end every other session of the account."""
    errors: dict[str, list[str]] = {}
    if not user.check_password(current or ""):
        errors["current_password"] = ["The current password is not correct."]
    if len(new or "") < MIN_PASSWORD_LENGTH:
        errors["new_password"] = [f"The password must be at least {MIN_PASSWORD_LENGTH} characters."]
    elif len(new) > MAX_PASSWORD_LENGTH:
        errors["new_password"] = [f"The password must not be greater than {MAX_PASSWORD_LENGTH} characters."]
    if errors:
        raise ValidationFailed(errors)
    user.set_password(new)
    db.session.execute(_delete_sessions(user, keep_session))
    db.session.commit()


def find_user(name: str) -> User:
    user = db.session.scalar(select(User).where(func.lower(User.name) == (name or "").lower()))
    if user is None:
        raise NotFound(f"No user named {name!r}.")
    return user


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    raw: str  # shown to the user once, never stored


def create_token(user: User, label: str, *, expires_in_days: int | None = None) -> IssuedToken:
    label = (label or "").strip()
    if not label:
        raise ValidationFailed({"label": ["The label field is required."]})
    if len(label) > 64:
        raise ValidationFailed({"label": ["The label must not be greater than 64 characters."]})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None
    token = ApiToken(user_id=user.id, label=label, token_hash=hash_token(raw), expires_at=expires_at)
    db.session.add(token)
    db.session.commit()
    return IssuedToken(token=token, raw=raw)


def list_tokens(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def revoke_token(user: User, token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id or token.revoked_at is not None:
        raise NotFound("No such token.")
    token.revoked_at = datetime.now(UTC)
    db.session.commit()
    return token
