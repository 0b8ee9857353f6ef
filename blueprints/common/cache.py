"""Cached JSON for the read-heavy AnimeThemes-style GET routes, with ETags.

A cached body is reused only while the ``library`` data version it was built at is still the
current one: every insert, update or delete touching a versioned table (catalogue and playlists)
bumps that version inside the same transaction (see ``track_writes``). The check is one
primary-key lookup, which is what lets an unchanged page skip parsing, querying and serialising.
Entries are per process, bounded, and keyed by the full URL and the caller (visibility differs).
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from functools import wraps
from typing import Callable

from flask import Response, current_app, request
from flask_login import current_user
from sqlalchemy import event, update
from sqlalchemy.orm import Session

from blueprints.common.query import read_connection
from extensions import db
from models.cache import DataVersion

LIBRARY = "library"
MAX_ENTRIES = 1024
VERSIONED_TABLES: set[str] = set()  # filled by versioned_tables() from each feature


def versioned_tables(*names: str) -> None:
    VERSIONED_TABLES.update(names)


class _Cache:
    def __init__(self) -> None:
        self.entries: OrderedDict[tuple, tuple[int, bytes, str]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple, version: int) -> tuple[bytes, str] | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is None or entry[0] != version:
                return None
            self.entries.move_to_end(key)
            return entry[1], entry[2]

    def put(self, key: tuple, version: int, body: bytes, etag: str) -> None:
        with self.lock:
            self.entries[key] = (version, body, etag)
            self.entries.move_to_end(key)
            while len(self.entries) > MAX_ENTRIES:
                self.entries.popitem(last=False)


_cache = _Cache()


VERSION_SQL = "SELECT version FROM data_version WHERE name = 'library'"


def current_version() -> int:
    """One primary-key read on the request's read connection, outside the ORM session (the hot path)."""
    return read_connection().exec_driver_sql(VERSION_SQL).scalar() or 0


def cached_json(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_app.config.get("API_CACHE_DISABLED") or "random" in request.args.get("sort", ""):
            return view(*args, **kwargs)
        caller = current_user.id if current_user.is_authenticated else None
        key = (request.full_path, request.host, caller)
        version = current_version()
        hit = _cache.get(key, version)
        if hit is None:
            response = view(*args, **kwargs)
            if isinstance(response, tuple) or response.status_code != 200:
                return response
            body = response.get_data()
            etag = hashlib.blake2b(body, digest_size=12).hexdigest()
            _cache.put(key, version, body, etag)
        else:
            body, etag = hit
        response = Response(body, mimetype="application/json")
        response.set_etag(etag)
        response.headers["Cache-Control"] = "no-cache"  # revalidate: the ETag makes that cheap
        return response.make_conditional(request)

    return wrapper


def _bump(session: Session) -> None:
    if session.info.get("library_bumped"):
        return
    session.info["library_bumped"] = True
    changed = session.execute(update(DataVersion).where(DataVersion.name == LIBRARY).values(version=DataVersion.version + 1)).rowcount
    if not changed:
        session.add(DataVersion(name=LIBRARY, version=1))


def _touches_versioned(objects) -> bool:
    return any(getattr(obj, "__tablename__", None) in VERSIONED_TABLES for obj in objects)


@event.listens_for(Session, "before_flush")
def _orm_writes(session: Session, flush_context, instances) -> None:
    if _touches_versioned(session.new) or _touches_versioned(session.dirty) or _touches_versioned(session.deleted):
        _bump(session)


@event.listens_for(Session, "do_orm_execute")
def _statement_writes(state) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if table is not None and table.name in VERSIONED_TABLES:
        _bump(state.session)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _reset(session: Session) -> None:
    session.info.pop("library_bumped", None)
