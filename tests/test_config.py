from __future__ import annotations

import pytest

from app import create_app
from config import DEV_SECRET_KEY, normalise_database_url
from extensions import db


def test_database_url_spellings():
    assert normalise_database_url("postgres://u@h:5432/db") == "postgresql+psycopg://u@h:5432/db"
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_production_refuses_the_development_secret(tmp_path):
    base = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", "MEDIA_ROOT": str(tmp_path / "m"), "INSTANCE_PATH": str(tmp_path / "i")}
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({**base, "APP_ENV": "production", "SECRET_KEY": DEV_SECRET_KEY})
    assert create_app({**base, "APP_ENV": "production", "SECRET_KEY": "a real secret"}).config["APP_ENV"] == "production"


def test_environment_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://someone@127.0.0.1:5432/somewhere")
    monkeypatch.setenv("PLAYLIST_LIMIT", "7")
    monkeypatch.setenv("ALLOW_PLAYLIST_MANAGEMENT", "off")
    monkeypatch.setenv("MAX_UPLOAD_MB", "3")
    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path / "media"))
    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance")})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://someone@127.0.0.1:5432/somewhere"
    assert app.config["PLAYLIST_LIMIT"] == 7
    assert app.config["ALLOW_PLAYLIST_MANAGEMENT"] is False
    assert app.config["MAX_CONTENT_LENGTH"] == 4 * 1024 * 1024
    assert app.config["SOUNDBOARD_ADMIN_TOKEN"] is None or isinstance(app.config["SOUNDBOARD_ADMIN_TOKEN"], str)
    monkeypatch.setenv("PLAYLIST_LIMIT", "lots")
    with pytest.raises(RuntimeError, match="PLAYLIST_LIMIT must be an integer"):
        create_app({"INSTANCE_PATH": str(tmp_path / "instance")})


def test_database_pool_settings_size_the_pages_pool_on_a_server_database(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql://someone@127.0.0.1:5432/somewhere")
    monkeypatch.setenv("DATABASE_POOL_SIZE", "3")
    monkeypatch.setenv("DATABASE_MAX_OVERFLOW", "0")
    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance"), "MEDIA_ROOT": str(tmp_path / "media")})
    with app.app_context():  # the engine is made without connecting
        assert (db.engine.pool.size(), db.engine.pool._max_overflow) == (3, 0)
    monkeypatch.setenv("DATABASE_POOL_SIZE", "few")
    with pytest.raises(RuntimeError, match="DATABASE_POOL_SIZE must be an integer"):
        create_app({"INSTANCE_PATH": str(tmp_path / "instance")})
