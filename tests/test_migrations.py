"""The committed migrations build the schema from nothing, and match the models exactly."""
from __future__ import annotations

import os
import uuid

import pytest
from flask_migrate import check, downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from app import create_app
from config import normalise_database_url
from extensions import db


@pytest.fixture()
def empty_database_url(tmp_path):
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    # A database of its own on the PostgreSQL server, so the test schema is untouched.
    name = f"themeboard_migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_database_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = normalise_database_url(base).rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_from_empty_matches_models_and_downgrades(empty_database_url, tmp_path):
    app = create_app(
        {"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "SQLALCHEMY_DATABASE_URI": empty_database_url, "MEDIA_ROOT": str(tmp_path / "m")}
    )
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {table.name for table in db.metadata.sorted_tables} <= tables
        check()  # raises when the models and the migrated schema differ ("flask db check")
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


def test_playlist_public_ids_are_given_to_existing_rows(empty_database_url, tmp_path):
    """Migration 0900 on rows made before it: every playlist gets a distinct random id, then the schema matches."""
    from models.playlist import is_public_id

    app = create_app(
        {"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "SQLALCHEMY_DATABASE_URI": empty_database_url, "MEDIA_ROOT": str(tmp_path / "m")}
    )
    with app.app_context():
        upgrade(revision="0800")
        with db.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO users (id, name, email, password_hash, role, created_at, updated_at) "
                "VALUES (1, 'old', 'old@example.com', 'x', 'user', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ))
            for n in range(1, 26):
                connection.execute(text(
                    "INSERT INTO playlist (id, user_id, name, visibility, track_count, lock_version, created_at, updated_at) "
                    "VALUES (:id, 1, :name, :visibility, 0, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ), {"id": n, "name": f"p{n}", "visibility": n % 3})
        upgrade()
        with db.engine.connect() as connection:
            ids = connection.execute(text("SELECT public_id FROM playlist ORDER BY id")).scalars().all()
        assert len(ids) == 25 and len(set(ids)) == 25 and all(is_public_id(i) for i in ids)
        check()
        with db.engine.begin() as connection, pytest.raises(Exception):
            connection.execute(text("UPDATE playlist SET public_id = :id WHERE id = 2"), {"id": ids[0]})  # unique
        downgrade(revision="0800")
        assert "public_id" not in {c["name"] for c in inspect(db.engine).get_columns("playlist")}
        db.engine.dispose()


def test_videos_linked_to_an_anime_become_entries_of_its_themes(empty_database_url, tmp_path):
    """Migration 0920: each legacy video -> anime link becomes theme (type, sequence) -> entry (version) -> video."""
    app = create_app(
        {"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "SQLALCHEMY_DATABASE_URI": empty_database_url, "MEDIA_ROOT": str(tmp_path / "m")}
    )
    videos = [
        (1, "Frostbound-OP1", 1), (2, "Frostbound-OP1-NCBD720", 1), (3, "Frostbound-OP1v2", 1),
        (4, "Frostbound-ED2", 1), (5, "Other-IN", 2), (6, "Loose-Clip", 2), (7, "NoAnime-OP1", None),
    ]
    with app.app_context():
        upgrade(revision="0910")
        with db.engine.begin() as connection:
            for anime_id, slug in ((1, "frostbound"), (2, "other")):
                connection.execute(text(
                    "INSERT INTO anime (id, name, slug, created_at, updated_at) VALUES (:id, :slug, :slug, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ), {"id": anime_id, "slug": slug})
            for video_id, basename, anime_id in videos:
                connection.execute(text(
                    "INSERT INTO video (id, basename, filename, path, size, mimetype, nc, subbed, lyrics, uncen, overlap, anime_id, created_at, updated_at) "
                    "VALUES (:id, :b, :b, :b, 0, 'video/webm', false, false, false, false, 'None', :anime, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ), {"id": video_id, "b": basename, "anime": anime_id})
        upgrade()
        with db.engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT v.id, t.anime_id, t.slug, t.sequence, e.version FROM anime_theme_entry_video p "
                "JOIN video v ON v.id = p.video_id JOIN anime_theme_entry e ON e.id = p.entry_id "
                "JOIN anime_theme t ON t.id = e.theme_id ORDER BY v.id"
            )).all()
            theme_count = connection.execute(text("SELECT count(*) FROM anime_theme")).scalar()
        assert [tuple(row) for row in rows] == [
            (1, 1, "OP1", 1, None), (2, 1, "OP1", 1, None), (3, 1, "OP1", 1, 2),
            (4, 1, "ED2", 2, None), (5, 2, "IN", None, None), (6, 2, "OP", None, None),
        ]
        assert theme_count == 4
        check()
        downgrade(revision="0910")
        db.engine.dispose()
