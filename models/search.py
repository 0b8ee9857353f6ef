"""Full-text search over the wiki's names: anime names and synonyms, song titles, artist names.

SQLite keeps one FTS5 table filled by triggers; PostgreSQL indexes each name with a GIN expression
index on its tsvector. Both are made by create_all (the tests) and by migration 0950 from the same
statements below, and neither is a mapped table, so Alembic's check leaves them alone (env.py).
"""
from __future__ import annotations

from sqlalchemy import DDL, event

from models.base import Base

# Each indexed row of the FTS table has rowid = source id * 4 + kind, so a trigger finds its row by key.
KINDS = {"anime": 0, "synonym": 1, "song": 2, "artist": 3}
# (source table, its text column, kind)
SOURCES = (("anime", "name", "anime"), ("anime_synonym", "text", "synonym"), ("song", "title", "song"), ("artist", "name", "artist"))
FTS_TABLE = "wiki_search"
# The config PostgreSQL parses names with: no stemming or stop words (names are not English prose).
PG_CONFIG = "simple"


def sqlite_statements() -> list[str]:
    statements = [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(body, tokenize='unicode61 remove_diacritics 2')"
    ]
    for table, column, kind in SOURCES:
        code = KINDS[kind]
        rowid = f"{{row}}.id * 4 + {code}"
        statements += [
            f"CREATE TRIGGER IF NOT EXISTS {table}_search_insert AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO {FTS_TABLE}(rowid, body) VALUES ({rowid.format(row='new')}, coalesce(new.{column}, '')); END",
            f"CREATE TRIGGER IF NOT EXISTS {table}_search_update AFTER UPDATE OF {column} ON {table} BEGIN "
            f"DELETE FROM {FTS_TABLE} WHERE rowid = {rowid.format(row='old')}; "
            f"INSERT INTO {FTS_TABLE}(rowid, body) VALUES ({rowid.format(row='new')}, coalesce(new.{column}, '')); END",
            f"CREATE TRIGGER IF NOT EXISTS {table}_search_delete AFTER DELETE ON {table} BEGIN "
            f"DELETE FROM {FTS_TABLE} WHERE rowid = {rowid.format(row='old')}; END",
        ]
    return statements


def sqlite_rebuild_statements() -> list[str]:
    """Fill the FTS table from rows that existed before it (the migration)."""
    return [
        f"INSERT INTO {FTS_TABLE}(rowid, body) SELECT id * 4 + {KINDS[kind]}, coalesce({column}, '') FROM {table}"
        for table, column, kind in SOURCES
    ]


def sqlite_drop_statements() -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {table}_search_{verb}" for table, _, _ in SOURCES for verb in ("insert", "update", "delete")] + [
        f"DROP TABLE IF EXISTS {FTS_TABLE}"
    ]


def pg_vector(column: str) -> str:
    return f"to_tsvector('{PG_CONFIG}', coalesce({column}, ''))"


def postgresql_statements() -> list[str]:
    return [
        f"CREATE INDEX IF NOT EXISTS ix_{table}_{column}_search ON {table} USING gin ({pg_vector(column)})"
        for table, column, _ in SOURCES
    ]


def postgresql_drop_statements() -> list[str]:
    return [f"DROP INDEX IF EXISTS ix_{table}_{column}_search" for table, column, _ in SOURCES]


def is_search_object(name: str | None) -> bool:
    """The FTS table, its shadow tables and the PostgreSQL indexes: not in the models' metadata."""
    return bool(name) and (name == FTS_TABLE or name.startswith(FTS_TABLE + "_") or name.endswith("_search"))


# After every table exists: the triggers name their source tables.
for _statement in sqlite_statements():
    event.listen(Base.metadata, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in postgresql_statements():
    event.listen(Base.metadata, "after_create", DDL(_statement).execute_if(dialect="postgresql"))
event.listen(Base.metadata, "before_drop", DDL(f"DROP TABLE IF EXISTS {FTS_TABLE}").execute_if(dialect="sqlite"))
