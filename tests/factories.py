"""Plain factory functions for test data (call inside an app context)."""
from __future__ import annotations

import itertools

from blueprints.accounts import services as accounts
from models.user import User

_counter = itertools.count(1)
PASSWORD = "correct horse battery"


def make_user(name: str | None = None, *, admin: bool = False, password: str = PASSWORD) -> User:
    n = next(_counter)
    name = name or f"user{n}"
    return accounts.create_user(name, f"{name.lower()}@example.com", password, admin=admin)


def make_token(user: User, label: str = "tests", **kwargs) -> str:
    return accounts.create_token(user, label, **kwargs).raw


def bearer(raw_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw_token}"}


def user_with_token(app, *, admin: bool = False, name: str | None = None) -> tuple[int, dict[str, str]]:
    """A new user and the Authorization header of a token of theirs: (user_id, headers)."""
    with app.app_context():
        user = make_user(name, admin=admin)
        return user.id, bearer(make_token(user))


def login(client, name: str, password: str = PASSWORD):
    return client.post("/login", data={"login": name, "password": password})
