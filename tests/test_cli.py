from __future__ import annotations

from sqlalchemy import func, select

from extensions import db
from models.user import ApiToken, Role, User


def test_users_create_and_token(runner, app, client):
    result = runner.invoke(args=["users", "create", "miku", "--email", "miku@example.com", "--password", "longenough", "--admin"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.name == "miku"))
        assert user.role == Role.admin and user.check_password("longenough")

    token = runner.invoke(args=["users", "token", "miku", "--label", "ci"])
    assert token.exit_code == 0
    raw = token.stdout.strip().splitlines()[-1]
    assert raw.startswith("tb_") and " " not in raw
    me = client.get("/api/me", headers={"Authorization": f"Bearer {raw}"})
    assert me.get_json()["user"]["name"] == "miku"
    with app.app_context():
        assert db.session.scalar(select(ApiToken.label)) == "ci"


def test_users_create_rejects_bad_input(runner, app):
    runner.invoke(args=["users", "create", "dup", "--email", "dup@example.com", "--password", "longenough"])
    duplicate = runner.invoke(args=["users", "create", "dup", "--email", "other@example.com", "--password", "longenough"])
    assert duplicate.exit_code == 1 and "already been taken" in duplicate.output
    short = runner.invoke(args=["users", "create", "x", "--email", "x@example.com", "--password", "short"])
    assert short.exit_code == 1 and "at least 8" in short.output
    missing = runner.invoke(args=["users", "token", "nobody"])
    assert missing.exit_code == 1 and "No user named" in missing.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_seed_is_idempotent_and_shows_progress(runner, app):
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    assert "Demo admin: log in as 'admin'" in first.output
    with app.app_context():
        counts = {table.name: db.session.scalar(select(func.count()).select_from(table)) for table in db.metadata.sorted_tables}
    second = runner.invoke(args=["seed"])
    assert second.exit_code == 0
    assert "Loading demo content" in second.output  # the progress bar's label
    with app.app_context():
        again = {table.name: db.session.scalar(select(func.count()).select_from(table)) for table in db.metadata.sorted_tables}
    assert again == counts
    assert counts["users"] == 1
