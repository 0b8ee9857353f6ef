"""Where uploaded files live, behind one small interface.

Uploads are first streamed to a staging file (never held whole in memory), inspected, and only
moved to their final key after the database commit succeeds. ``LocalStorage`` keeps files
under ``MEDIA_ROOT``; an S3-compatible implementation would provide the same methods (and
``presign`` would hand out the store's own signed URLs).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, Iterator

from flask import current_app

from domain import PayloadTooLarge

CHUNK_SIZE = 1024 * 1024


class StorageKeyError(ValueError):
    """A key that would escape the media root, or that no file system could name."""


NAME_MAX = 255  # bytes in one path component on Linux file systems


class LocalStorage:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()

    def path(self, key: str) -> Path:
        clean = PurePosixPath(key)
        if clean.is_absolute() or ".." in clean.parts or not clean.parts or "\x00" in key:
            raise StorageKeyError(f"invalid storage key: {key!r}")
        if any(len(part.encode("utf-8", "surrogatepass")) > NAME_MAX for part in clean.parts):
            raise StorageKeyError("a storage key component is longer than a file name can be")
        return self.root.joinpath(*clean.parts)

    def exists(self, key: str) -> bool:
        try:
            return self.path(key).is_file()
        except StorageKeyError:
            return False

    def put_file(self, source: Path, key: str) -> None:
        """Move a staged file into place (atomic when both are on one filesystem)."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), target)

    def put_bytes(self, data: bytes, key: str) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + f".{uuid.uuid4().hex}.part")
        partial.write_bytes(data)
        os.replace(partial, target)

    def delete(self, key: str) -> None:
        """Remove the file if there is one; a key naming a directory or nothing is left alone."""
        try:
            target = self.path(key)
        except StorageKeyError:
            return
        if target.is_file():
            target.unlink(missing_ok=True)

    def staging_dir(self) -> Path:
        staging = self.root / ".staging"
        staging.mkdir(parents=True, exist_ok=True)
        return staging


def get_storage() -> LocalStorage:
    return LocalStorage(current_app.config["MEDIA_ROOT"])


def max_upload_bytes() -> int:
    return int(current_app.config["MAX_UPLOAD_MB"]) * 1024 * 1024


class StagedFile:
    """A file received from a client, waiting for inspection and commit."""

    def __init__(self, path: Path, size: int):
        self.path = path
        self.size = size
        self.stored = False

    def store(self, key: str) -> None:
        """Call only after the database commit succeeded."""
        get_storage().put_file(self.path, key)
        self.stored = True


@contextmanager
def staged_upload(source: IO[bytes], max_bytes: int | None = None) -> Iterator[StagedFile]:
    """Stream ``source`` to a staging file in chunks; removed on exit unless stored.

    Raises PayloadTooLarge as soon as more than ``max_bytes`` arrive.
    """
    limit = max_upload_bytes() if max_bytes is None else max_bytes
    storage = get_storage()
    fd, name = tempfile.mkstemp(dir=storage.staging_dir(), suffix=".upload")
    path = Path(name)
    staged = StagedFile(path, 0)
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = source.read(CHUNK_SIZE)
                if not chunk:
                    break
                staged.size += len(chunk)
                if staged.size > limit:
                    raise PayloadTooLarge(f"The file is larger than {limit // (1024 * 1024)} MB.")
                out.write(chunk)
        yield staged
    finally:
        if not staged.stored:
            path.unlink(missing_ok=True)
