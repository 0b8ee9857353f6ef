"""`flask backup` and `flask restore`: the database and the media in one tar archive.

The database is written as a logical dump: every table the models declare, read inside one
snapshot transaction (REPEATABLE READ, read only, on PostgreSQL; one read transaction on SQLite
in WAL mode), so the archive holds one committed state however many writes run meanwhile, and
no writer waits for it. Rows are JSON lines, so a backup restores into either database
(SQLite to PostgreSQL and back); PostgreSQL's sequences are moved past the restored ids.
``pg_dump``/``sqlite3 .backup`` were not used: each only restores into its own kind of database,
needs its client tools at the right version on the machine, and leaves the media to another tool.

Files are copied after the snapshot is taken, and only those its rows name (and thumbnails of
its images): files are stored after their row commits and deleted after their row's deletion
commits, so every file the snapshot names is still there unless it was deleted since (listed in
the manifest and reported), and files written since are left out, as their rows are. The manifest
carries a SHA-256 of every member, and restore checks them all before it writes anything.

Archive layout: ``manifest.json``, ``db/<table>.jsonl`` (first line: the column names),
``media/<storage key>``.
"""
from __future__ import annotations

import base64
import datetime as dt
import decimal
import enum
import hashlib
import io
import json
import os
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import JSON, Connection, func, inspect, null, select, text

from blueprints.operations.checks import is_derived, references
from extensions import db
from media.storage import CHUNK_SIZE, get_storage

FORMAT = "themeboard-backup"
VERSION = 1
BATCH = 1000
Progress = Callable[[int], None]


class SnapshotError(Exception):
    """A backup that cannot be read or restored here; the message says why."""


# --- values to JSON and back -------------------------------------------------------------------


def _encode(value):
    if isinstance(value, enum.Enum):
        return value.name  # what SQLAlchemy's Enum type stores
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    return value


def _decoder(column) -> Callable:
    if isinstance(column.type, JSON):
        return lambda value: null() if value is None else value  # SQL NULL, not JSON 'null'
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        python_type = None
    if python_type is dt.datetime:
        parse = dt.datetime.fromisoformat
    elif python_type is dt.date:
        parse = dt.date.fromisoformat
    elif python_type is dt.time:
        parse = dt.time.fromisoformat
    elif python_type is uuid.UUID:
        parse = uuid.UUID
    elif python_type is decimal.Decimal:
        parse = decimal.Decimal
    elif python_type is bytes:
        return lambda value: None if value is None else base64.b64decode(value["$bytes"])
    else:
        return lambda value: value
    return lambda value: None if value is None else parse(value)


def _tables():
    return list(db.metadata.sorted_tables)  # parents before children


# --- backup ------------------------------------------------------------------------------------


@dataclass
class BackupReport:
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0
    bytes: int = 0
    missing: list[str] = field(default_factory=list)
    left_out: int = 0


@contextmanager
def _snapshot() -> Iterator[Connection]:
    """One connection whose reads all see the same committed state."""
    engine = db.engine
    if engine.dialect.name == "sqlite":
        # The driver's own transaction handling begins nothing before a SELECT: begin explicitly,
        # and WAL keeps this reader's snapshot while writers carry on.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("BEGIN")
            try:
                yield connection
            finally:
                connection.exec_driver_sql("ROLLBACK")
    else:
        options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        with engine.connect().execution_options(**options) as connection:
            with connection.begin():
                yield connection


def _revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


class _HashingReader(io.RawIOBase):
    def __init__(self, source, progress: Progress):
        self.source, self.progress, self.digest = source, progress, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.source.read(len(buffer))
        buffer[: len(data)] = data
        self.digest.update(data)
        self.progress(len(data))
        return len(data)


def _add_file(archive: tarfile.TarFile, name: str, source, size: int, progress: Progress) -> str:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(time.time()), 0o644
    reader = _HashingReader(source, progress)
    archive.addfile(info, io.BufferedReader(reader, CHUNK_SIZE))
    return reader.digest.hexdigest()


def estimate() -> tuple[int, int]:
    """Rows and media bytes, for the progress bar (the snapshot itself may differ a little)."""
    rows = sum(db.session.scalar(select(func.count()).select_from(table)) for table in _tables())
    storage = get_storage()
    size = 0
    for key in storage.keys():
        stat = storage.stat(key)
        size += stat.size if stat else 0
    db.session.rollback()
    return rows, size


def write_backup(path: Path, progress: Progress) -> BackupReport:
    """Write the archive to ``path`` (``.tar``, or gzip-compressed for ``.tar.gz``/``.tgz``),
    through a temporary file renamed into place when complete. ``progress(rows or bytes)``."""
    path = Path(path)
    report = BackupReport()
    manifest: dict = {"format": FORMAT, "version": VERSION, "created_at": dt.datetime.now(dt.UTC).isoformat(), "tables": {}, "files": {}}
    mode = "w:gz" if path.name.endswith((".tar.gz", ".tgz")) else "w"
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
    storage = get_storage()
    try:
        with tarfile.open(partial, mode) as archive:
            with _snapshot() as connection:
                manifest["dialect"] = connection.dialect.name
                manifest["revision"] = _revision(connection)
                for table in _tables():
                    columns = [column.name for column in table.columns]
                    with tempfile.TemporaryFile() as spool:
                        spool.write(json.dumps(columns).encode() + b"\n")
                        count = 0
                        result = connection.execution_options(yield_per=BATCH).execute(select(table))
                        for row in result:
                            spool.write(json.dumps([_encode(v) for v in row], separators=(",", ":")).encode() + b"\n")
                            count += 1
                            progress(1)
                        size = spool.tell()
                        spool.seek(0)
                        digest = _add_file(archive, f"db/{table.name}.jsonl", spool, size, lambda _n: None)
                    manifest["tables"][table.name] = {"rows": count, "sha256": digest}
                    report.rows[table.name] = count
                refs = references(connection)
            named = set(refs)
            for key in storage.keys():
                if key not in named and not is_derived(key, refs):
                    report.left_out += 1  # written after the snapshot, or an orphan: not part of this state
                    continue
                copied = _copy_media(archive, storage, key, progress)
                if copied is not None:
                    manifest["files"][key] = copied
                    report.files += 1
                    report.bytes += copied["size"]
            for key in sorted(named - set(manifest["files"])):
                time.sleep(0.5)  # a file stored just after its row's commit
                copied = _copy_media(archive, storage, key, progress)
                if copied is None:
                    report.missing.append(key)
                else:
                    manifest["files"][key] = copied
                    report.files += 1
                    report.bytes += copied["size"]
            manifest["missing"] = report.missing
            data = json.dumps(manifest, indent=1).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
            archive.addfile(info, io.BytesIO(data))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return report


def _copy_media(archive: tarfile.TarFile, storage, key: str, progress: Progress) -> dict | None:
    stat = storage.stat(key)
    if stat is None:
        return None
    try:
        with storage.open(key) as source:
            digest = _add_file(archive, f"media/{key}", source, stat.size, progress)
    except FileNotFoundError:
        return None
    return {"size": stat.size, "sha256": digest}


# --- restore -----------------------------------------------------------------------------------


@dataclass
class RestoreReport:
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0
    emptied: bool = False
    migrated: bool = False


def read_manifest(path: Path) -> dict:
    try:
        with tarfile.open(path, "r:*") as archive:
            member = archive.extractfile("manifest.json")
            manifest = json.loads(member.read())
    except (OSError, KeyError, tarfile.TarError, json.JSONDecodeError, AttributeError) as error:
        raise SnapshotError(f"{path} is not a Themeboard backup ({error.__class__.__name__}: {error})") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise SnapshotError(f"{path} is not a version {VERSION} Themeboard backup")
    return manifest


def _expected(manifest: dict) -> dict[str, str]:
    members = {f"db/{name}.jsonl": entry["sha256"] for name, entry in manifest["tables"].items()}
    members |= {f"media/{key}": entry["sha256"] for key, entry in manifest["files"].items()}
    return members


def verify(path: Path, manifest: dict, progress: Progress) -> None:
    """Every member is listed and matches its checksum, and none is absent; raises SnapshotError."""
    expected = _expected(manifest)
    seen = set()
    with tarfile.open(path, "r:*") as archive:
        for member in archive:
            if member.name == "manifest.json":
                continue
            if member.name not in expected or not member.isfile():
                raise SnapshotError(f"the archive holds {member.name!r}, which its manifest does not list")
            digest = hashlib.sha256()
            source = archive.extractfile(member)
            while chunk := source.read(CHUNK_SIZE):
                digest.update(chunk)
                progress(len(chunk))
            if digest.hexdigest() != expected[member.name]:
                raise SnapshotError(f"{member.name} does not match its checksum: the archive is damaged")
            seen.add(member.name)
    if absent := sorted(set(expected) - seen):
        raise SnapshotError(f"the archive lacks {len(absent)} member(s) its manifest lists, e.g. {absent[0]}")


def archive_size(path: Path) -> int:
    with tarfile.open(path, "r:*") as archive:
        return sum(member.size for member in archive if member.isfile())


# Rows that migrations and a server's start-up write into any database: not data of anyone's.
_BOOKKEEPING = {"data_version": None, "global_counter": "count", "daily_statistic": "count"}


def target_state() -> tuple[bool, int, int]:
    """(the schema exists, rows holding data in the database, files in the storage)."""
    names = set(inspect(db.engine).get_table_names())
    if not all(table.name in names for table in _tables()):
        return False, 0, len(get_storage().keys())
    rows = 0
    for table in _tables():
        if table.name not in _BOOKKEEPING:
            rows += db.session.scalar(select(func.count()).select_from(table))
        elif column := _BOOKKEEPING[table.name]:
            rows += db.session.scalar(select(func.count()).select_from(table).where(table.c[column] != 0))
    db.session.rollback()
    return True, rows, len(get_storage().keys())


def restore_backup(path: Path, force: bool, progress: Progress) -> RestoreReport:
    """Bring a verified archive back into this app's database and storage. Refuses a database or
    storage that holds anything unless ``force`` (then every row is deleted first, and stored
    files with the same keys are replaced). The rows go in in one transaction."""
    manifest = read_manifest(path)
    report = RestoreReport()
    has_schema, rows, files = target_state()
    if (rows or files) and not force:
        raise SnapshotError(
            f"the database holds {rows} row(s) and the storage {files} file(s): restoring would mix two states. "
            "Restore into an empty database and storage, or pass --force to delete every row first."
        )
    if not has_schema:
        from flask_migrate import upgrade

        upgrade(directory=str(Path(current_app.root_path) / "migrations"))
        report.migrated = True
    with db.engine.connect() as probe:
        revision = _revision(probe)
    if manifest.get("revision") and revision and manifest["revision"] != revision:
        raise SnapshotError(
            f"the backup was taken at schema revision {manifest['revision']} and this database is at {revision}: "
            "run the same version of Themeboard (flask db upgrade/downgrade) before restoring"
        )
    with tarfile.open(path, "r:*") as archive, db.engine.begin() as connection:
        for table in reversed(_tables()):
            connection.execute(table.delete())  # the bookkeeping rows too: the backup has its own
        report.emptied = bool(rows)
        for table in _tables():
            if table.name not in manifest["tables"]:
                continue  # a table newer than the backup: left empty
            report.rows[table.name] = _restore_table(connection, table, archive.extractfile(f"db/{table.name}.jsonl"), progress)
        if connection.dialect.name == "postgresql":
            _advance_sequences(connection)
        # A server that cached responses of the old state must not serve them as current.
        connection.execute(text("UPDATE data_version SET version = version + 1"))
    storage = get_storage()
    with tarfile.open(path, "r:*") as archive:
        for member in archive:
            if member.name.startswith("media/") and member.isfile():
                _restore_file(storage, member.name[len("media/"):], archive.extractfile(member), progress)
                report.files += 1
    return report


def _restore_table(connection: Connection, table, source, progress: Progress) -> int:
    columns = json.loads(source.readline())
    unknown = [name for name in columns if name not in table.columns]
    if unknown:
        raise SnapshotError(f"table {table.name}: this database has no column(s) {unknown}")
    decoders = [_decoder(table.columns[name]) for name in columns]
    batch, count = [], 0
    for line in source:
        values = json.loads(line)
        batch.append({name: decode(value) for name, decode, value in zip(columns, decoders, values)})
        if len(batch) >= BATCH:
            connection.execute(table.insert(), batch)
            count += len(batch)
            progress(len(batch))
            batch = []
    if batch:
        connection.execute(table.insert(), batch)
        count += len(batch)
        progress(len(batch))
    return count


def _advance_sequences(connection: Connection) -> None:
    """Rows came in with their ids: move each id sequence past them, or the next insert collides."""
    for table in _tables():
        for column in table.primary_key.columns:
            sequence = connection.execute(text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}).scalar()
            if sequence:
                connection.execute(
                    text(f'SELECT setval(:s, COALESCE((SELECT MAX("{column.name}") FROM "{table.name}"), 0) + 1, false)'),
                    {"s": sequence},
                )


def _restore_file(storage, key: str, source, progress: Progress) -> None:
    fd, name = tempfile.mkstemp(dir=storage.staging_dir(), suffix=".restore")
    staged = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(CHUNK_SIZE):
                out.write(chunk)
                progress(len(chunk))
        storage.put_file(staged, key)
    finally:
        staged.unlink(missing_ok=True)
