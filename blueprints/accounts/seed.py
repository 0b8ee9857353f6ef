"""Demo accounts: an admin whose password is generated once and kept in instance/demo-admin.txt."""
from __future__ import annotations

import secrets
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from blueprints.accounts.services import create_user
from demo.seed import seed_step
from extensions import db
from models.user import User

DEMO_ADMIN = "admin"
DEMO_ADMIN_EMAIL = "admin@themeboard.local"


def demo_admin_credentials_file() -> Path:
    return Path(current_app.instance_path) / "demo-admin.txt"


@seed_step("accounts", order=0, count=lambda: 1)
def seed_accounts(advance) -> list[str]:
    credentials = demo_admin_credentials_file()
    if db.session.scalar(select(User).where(User.name == DEMO_ADMIN)) is None:
        password = secrets.token_urlsafe(9)
        create_user(DEMO_ADMIN, DEMO_ADMIN_EMAIL, password, admin=True)
        credentials.write_text(f"{DEMO_ADMIN}\n{password}\n")
        credentials.chmod(0o600)
    advance(1)
    if credentials.exists():
        name, password = credentials.read_text().split()[:2]
        return [f"Demo admin: log in as '{name}' with password '{password}' (kept in {credentials})."]
    return [f"Demo admin '{DEMO_ADMIN}' exists (its password was set elsewhere)."]
