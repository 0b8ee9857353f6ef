"""Cached JSON for the read-heavy AnimeThemes-style GET routes, with ETags.

Each versioned table has a version in ``data_version``: every insert, update or delete touching
it bumps that version inside the same transaction (see ``_bump``), and so do writes to the tables
whose foreign keys cascade from it and to its many-to-many pivots. A cached body remembers the
tables its request read (every SELECT of the query layer and of the ORM session while the view
ran) and their versions as they were *before* the view ran; it is reused only while all of those
are unchanged. So a playlist write leaves ``/api/audio`` pages cached, while an audio write
invalidates them. A page that read a table nobody declared versioned is never cached (no write
would ever invalidate it). The check is one read of the small ``data_version`` table, which is
what lets an unchanged page skip parsing, querying and serialising. Entries are per process,
bounded, and keyed by the full URL and the caller (visibility differs).
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from functools import wraps
from typing import Callable, Iterable

from flask import Response, current_app, g, request
from flask_login import current_user
from sqlalchemy import Table, event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from blueprints.common.query import read_connection, record_reads
from models.cache import DataVersion

MAX_ENTRIES = 1024
VERSIONED_TABLES: set[str] = set()  # filled by versioned_tables() from each feature's register(app)


def versioned_tables(*names: str) -> None:
    VERSIONED_TABLES.update(names)


class _Cache:
    def __init__(self) -> None:
        # key -> (versions of the tables read, body, etag)
        self.entries: OrderedDict[tuple, tuple[dict[str, int], bytes, str]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple, versions: dict[str, int]) -> tuple[bytes, str] | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is None or any(versions.get(name, 0) != version for name, version in entry[0].items()):
                return None
            self.entries.move_to_end(key)
            return entry[1], entry[2]

    def put(self, key: tuple, versions: dict[str, int], body: bytes, etag: str) -> None:
        with self.lock:
            self.entries[key] = (versions, body, etag)
            self.entries.move_to_end(key)
            while len(self.entries) > MAX_ENTRIES:
                self.entries.popitem(last=False)


def _cache() -> _Cache:
    """One cache per app (tests build many apps in one process, each over its own database)."""
    return current_app.extensions.setdefault("api_cache", _Cache())


VERSIONS_SQL = "SELECT name, version FROM data_version"


def current_versions() -> dict[str, int]:
    """Every table's version: one read of a table with a row per versioned table, on the request's
    read connection, outside the ORM session (the hot path). A table never written is at 0."""
    return dict(read_connection().exec_driver_sql(VERSIONS_SQL).all())


# --- which tables a view reads ---------------------------------------------------------------


@event.listens_for(Session, "do_orm_execute")
def _orm_reads(state) -> None:
    if state.is_select:
        record_reads(state.statement)


def cached_json(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_app.config.get("API_CACHE_DISABLED") or "random" in request.args.get("sort", ""):
            return view(*args, **kwargs)
        caller = current_user.id if current_user.is_authenticated else None
        key = (request.full_path, request.host, caller)
        versions = current_versions()  # before the view runs: a write during it makes the entry stale
        hit = _cache().get(key, versions)
        if hit is None:
            g._tables_read = set()
            try:
                response = view(*args, **kwargs)
            finally:
                tables = g.pop("_tables_read")
            if isinstance(response, tuple) or response.status_code != 200:
                return response
            body = response.get_data()
            etag = hashlib.blake2b(body, digest_size=12).hexdigest()
            if tables and tables <= VERSIONED_TABLES:
                _cache().put(key, {name: versions.get(name, 0) for name in tables}, body, etag)
        else:
            body, etag = hit
        response = Response(body, mimetype="application/json")
        response.set_etag(etag)
        response.headers["Cache-Control"] = "no-cache"  # revalidate: the ETag makes that cheap
        return response.make_conditional(request)

    return wrapper


# --- bumping versions on writes --------------------------------------------------------------


def _dependents(table: Table) -> set[str]:
    """Every table whose rows the database itself changes when ``table``'s rows go (ON DELETE
    CASCADE / SET NULL), transitively."""
    found: set[str] = set()
    pending = [table.name]
    while pending:
        current = pending.pop()
        for other in table.metadata.tables.values():
            if other.name in found:
                continue
            if any(fk.ondelete and fk.column.table.name == current for fk in other.foreign_keys):
                found.add(other.name)
                pending.append(other.name)
    return found


_WRITTEN_WITH: dict[str, frozenset[str]] = {}


def _written_with(table: Table) -> frozenset[str]:
    names = _WRITTEN_WITH.get(table.name)
    if names is None:
        names = _WRITTEN_WITH[table.name] = frozenset({table.name} | _dependents(table))
    return names


def _tables_of(objects: Iterable) -> set[str]:
    names: set[str] = set()
    for obj in objects:
        table = getattr(obj, "__table__", None)
        if not isinstance(table, Table):
            continue
        names |= _written_with(table)
        # Collections through a pivot (anime.images) write the pivot's rows.
        for relationship in type(obj).__mapper__.relationships:
            if relationship.secondary is not None:
                names.add(relationship.secondary.name)
    return names


def _bump(session: Session, names: set[str]) -> None:
    bumped: set[str] = session.info.setdefault("versions_bumped", set())
    wanted = sorted((names & VERSIONED_TABLES) - bumped)
    if not wanted:
        return
    bumped.update(wanted)
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(DataVersion).values([{"name": name, "version": 1} for name in wanted])
    session.execute(
        statement.on_conflict_do_update(index_elements=[DataVersion.name], set_={"version": DataVersion.version + 1}),
        execution_options={"versions_bump": True},
    )


@event.listens_for(Session, "before_flush")
def _orm_writes(session: Session, flush_context, instances) -> None:
    _bump(session, _tables_of(session.new) | _tables_of(session.dirty) | _tables_of(session.deleted))


@event.listens_for(Session, "do_orm_execute")
def _statement_writes(state) -> None:
    if not (state.is_insert or state.is_update or state.is_delete) or state.execution_options.get("versions_bump"):
        return
    table = getattr(state.statement, "table", None)
    if isinstance(table, Table):
        _bump(state.session, set(_written_with(table)))


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _reset(session: Session) -> None:
    session.info.pop("versions_bumped", None)
