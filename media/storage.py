"""Where uploaded files live, behind one small interface with two implementations.

``LocalStorage`` keeps files under ``MEDIA_ROOT``; ``S3Storage`` keeps them in an S3-compatible
bucket (``MEDIA_STORAGE=s3://bucket/prefix``, endpoint and credentials from the standard
``AWS_*`` variables), so that several servers share one set of files. Uploads are first streamed
to a local staging file (never held whole in memory), inspected there, and only stored under
their final key after the database commit succeeds. Code that needs a real file (mutagen,
Pillow) asks for ``local_path(key)``: the file itself locally, a temporary copy from S3.
"""
from __future__ import annotations

import io
import mimetypes
import os
import shutil
import tempfile
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from stat import S_ISREG
from typing import IO, BinaryIO, Protocol
from urllib.parse import urlsplit

from flask import current_app

from domain import PayloadTooLarge

CHUNK_SIZE = 1024 * 1024


class StorageKeyError(ValueError):
    """A key that would escape the media root or the bucket prefix, or that no file system could name."""


NAME_MAX = 255  # bytes in one path component on Linux file systems (kept for S3 too: keys stay portable)


class StorageUnavailable(OSError):
    """The object store failed (unreachable, refused): an OSError like a full local disk, so the
    callers' "remove the row again if the file could not be stored" paths cover both backends."""


@dataclass(frozen=True)
class StoredObject:
    """What a download needs before reading a byte: the size and the validators."""

    size: int
    etag: str
    modified: datetime


class Storage(Protocol):
    """What every backend provides; keys are relative POSIX paths such as ``audio/x.ogg``."""

    def exists(self, key: str) -> bool: ...
    def stat(self, key: str) -> StoredObject | None: ...
    def open(self, key: str) -> BinaryIO: ...
    def put_file(self, source: Path, key: str) -> None: ...
    def put_bytes(self, data: bytes, key: str) -> None: ...
    def read_bytes(self, key: str) -> bytes: ...
    def copy(self, source_key: str, target_key: str) -> None: ...
    def delete(self, key: str) -> None: ...
    def keys(self, prefix: str = "") -> list[str]: ...
    def local_path(self, key: str) -> AbstractContextManager[Path]: ...
    def presigned_url(self, key: str, mimetype: str, disposition: str) -> str | None: ...
    def staging_dir(self) -> Path: ...
    def sweep_staging(self, max_age: float) -> list[str]: ...


def clean_key(key: str) -> PurePosixPath:
    clean = PurePosixPath(key)
    if clean.is_absolute() or ".." in clean.parts or not clean.parts or "\\" in key or "\x00" in key:
        raise StorageKeyError(f"invalid storage key: {key!r}")
    if any(len(part.encode("utf-8", "surrogatepass")) > NAME_MAX for part in clean.parts):
        raise StorageKeyError("a storage key component is longer than a file name can be")
    return clean


class LocalStorage:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()

    def path(self, key: str) -> Path:
        return self.root.joinpath(*clean_key(key).parts)

    def exists(self, key: str) -> bool:
        try:
            return self.path(key).is_file()
        except StorageKeyError:
            return False

    def stat(self, key: str) -> StoredObject | None:
        try:
            result = self.path(key).stat()
        except (StorageKeyError, FileNotFoundError, NotADirectoryError):
            return None
        if not S_ISREG(result.st_mode):
            return None
        # Werkzeug's own recipe for a file's ETag: changes whenever the file is replaced.
        etag = f"{result.st_mtime}-{result.st_size}-{zlib.adler32(key.encode()) & 0xFFFFFFFF}"
        return StoredObject(result.st_size, etag, datetime.fromtimestamp(int(result.st_mtime), UTC))

    def open(self, key: str) -> BinaryIO:
        return self.path(key).open("rb")

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

    def read_bytes(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def copy(self, source_key: str, target_key: str) -> None:
        target = self.path(target_key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + f".{uuid.uuid4().hex}.part")
        shutil.copyfile(self.path(source_key), partial)
        os.replace(partial, target)

    def delete(self, key: str) -> None:
        """Remove the file if there is one; a key naming a directory or nothing is left alone."""
        try:
            target = self.path(key)
        except StorageKeyError:
            return
        if target.is_file():
            target.unlink(missing_ok=True)

    def keys(self, prefix: str = "") -> list[str]:
        found = []
        for path in self.root.rglob("*"):
            key = path.relative_to(self.root).as_posix()
            if path.is_file() and not key.startswith(".staging/") and key.startswith(prefix):
                found.append(key)
        return sorted(found)

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        yield self.path(key)

    def presigned_url(self, key: str, mimetype: str, disposition: str) -> str | None:
        return None  # local files are served by the app itself

    def staging_dir(self) -> Path:
        staging = self.root / ".staging"
        staging.mkdir(parents=True, exist_ok=True)
        return staging

    def sweep_staging(self, max_age: float) -> list[str]:
        """Remove staging files nobody has written for ``max_age`` seconds (their request died)."""
        return sweep_staging_folder(self.staging_dir(), max_age)


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str


def parse_media_storage(value: str | None) -> S3Location | None:
    """``MEDIA_STORAGE``: unset or empty for the local folder, ``s3://bucket[/prefix]`` for S3."""
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"MEDIA_STORAGE must be s3://bucket/prefix or unset, got {value!r}")
    prefix = parts.path.strip("/")
    if prefix:
        clean_key(prefix)
    return S3Location(parts.netloc, prefix)


class S3Storage:
    """An S3-compatible bucket through boto3: one client per app (boto3 clients are thread-safe and
    cooperate with gevent's patched sockets), files moved in parts so memory stays flat."""

    PART_SIZE = 8 * 1024 * 1024
    PRESIGNED_SECONDS = 3600

    def __init__(self, location: S3Location, staging_root: str | os.PathLike):
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.bucket, self.prefix = location.bucket, location.prefix
        self.staging_root = Path(staging_root).resolve()
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        config = Config(
            # Self-hosted stores (MinIO, Ceph, moto) answer on one host name: path-style addressing.
            s3={"addressing_style": "path"} if endpoint else {},
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=5,
            read_timeout=60,
            # Each download streams on its own connection, and a gevent worker runs many at once.
            max_pool_connections=64,
        )
        self.client = boto3.session.Session().client("s3", config=config)
        # One part in flight at a time: memory stays at a part's buffers whatever the file size,
        # and no transfer threads are started inside a gevent worker.
        self.transfer = TransferConfig(multipart_threshold=self.PART_SIZE, multipart_chunksize=self.PART_SIZE, use_threads=False)

    def _key(self, key: str) -> str:
        clean = clean_key(key).as_posix()
        return f"{self.prefix}/{clean}" if self.prefix else clean

    @staticmethod
    def _missing(error: Exception) -> bool:
        from botocore.exceptions import ClientError

        return isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")

    @contextmanager
    def _errors(self) -> Iterator[None]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except (BotoCoreError, ClientError) as error:
            raise StorageUnavailable(f"S3 bucket {self.bucket}: {error}") from error

    def stat(self, key: str) -> StoredObject | None:
        try:
            full = self._key(key)
        except StorageKeyError:
            return None
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=full)
        except (BotoCoreError, ClientError) as error:
            if self._missing(error):
                return None
            raise StorageUnavailable(f"S3 bucket {self.bucket}: {error}") from error
        return StoredObject(head["ContentLength"], head["ETag"].strip('"'), head["LastModified"])

    def exists(self, key: str) -> bool:
        return self.stat(key) is not None

    def open(self, key: str) -> BinaryIO:
        stored = self.stat(key)
        if stored is None:
            raise FileNotFoundError(key)
        return S3ObjectReader(self, self._key(key), stored)

    def put_file(self, source: Path, key: str) -> None:
        """Upload a staged file (in parts above 8 MB), then remove the staged copy."""
        with self._errors():
            self.client.upload_file(str(source), self.bucket, self._key(key), ExtraArgs=_content_type(key), Config=self.transfer)
        Path(source).unlink(missing_ok=True)

    def put_bytes(self, data: bytes, key: str) -> None:
        with self._errors():
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, **_content_type(key))

    def read_bytes(self, key: str) -> bytes:
        with self._errors():
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()

    def copy(self, source_key: str, target_key: str) -> None:
        with self._errors():
            self.client.copy({"Bucket": self.bucket, "Key": self._key(source_key)}, self.bucket, self._key(target_key), Config=self.transfer)

    def delete(self, key: str) -> None:
        try:
            full = self._key(key)
        except StorageKeyError:
            return
        with self._errors():
            self.client.delete_object(Bucket=self.bucket, Key=full)

    def keys(self, prefix: str = "") -> list[str]:
        base = f"{self.prefix}/" if self.prefix else ""
        found = []
        with self._errors():
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=base + prefix):
                found.extend(item["Key"][len(base):] for item in page.get("Contents", []))
        return sorted(found)

    @contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        """A temporary local copy (in the staging folder, on disk), removed on exit."""
        suffix = PurePosixPath(key).suffix
        fd, name = tempfile.mkstemp(dir=self.staging_dir(), suffix=f".copy{suffix}")
        os.close(fd)
        path = Path(name)
        try:
            with self._errors():
                self.client.download_file(self.bucket, self._key(key), name, Config=self.transfer)
            yield path
        finally:
            path.unlink(missing_ok=True)

    def presigned_url(self, key: str, mimetype: str, disposition: str) -> str | None:
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._key(key), "ResponseContentType": mimetype, "ResponseContentDisposition": disposition},
            ExpiresIn=self.PRESIGNED_SECONDS,
        )

    def staging_dir(self) -> Path:
        staging = self.staging_root / ".staging"
        staging.mkdir(parents=True, exist_ok=True)
        return staging

    def sweep_staging(self, max_age: float) -> list[str]:
        """The local staging files, and the bucket's equivalent: multipart uploads under the
        prefix that a killed process started and never completed or aborted (the store keeps
        and bills their parts until they are aborted)."""
        removed = sweep_staging_folder(self.staging_dir(), max_age)
        cutoff = datetime.now(UTC).timestamp() - max_age
        base = f"{self.prefix}/" if self.prefix else ""
        with self._errors():
            for page in self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=base):
                for upload in page.get("Uploads", []):
                    if upload["Initiated"].timestamp() <= cutoff:
                        self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
                        removed.append(f"s3://{self.bucket}/{upload['Key']} (multipart upload {upload['UploadId']})")
        return removed


def sweep_staging_folder(folder: Path, max_age: float) -> list[str]:
    cutoff = time.time() - max_age
    removed = []
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime <= cutoff:
                path.unlink()
                removed.append(str(path))
        except FileNotFoundError:
            continue  # finished (stored or removed) while we looked
    return removed


def _content_type(key: str) -> dict[str, str]:
    guessed, _ = mimetypes.guess_type(key)
    return {"ContentType": guessed} if guessed else {}


class S3ObjectReader(io.RawIOBase):
    """A seekable, read-only view of one object: Werkzeug seeks to the start of a Range, and only
    then does the first read fetch the object from there (``Range: bytes=N-``); a 304 or a HEAD
    request never fetches it. ``If-Match`` keeps a download from mixing two versions."""

    def __init__(self, storage: S3Storage, full_key: str, stored: StoredObject):
        super().__init__()
        self._storage, self._key, self._stored = storage, full_key, stored
        self._position = 0
        self._body = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        target = {os.SEEK_SET: offset, os.SEEK_CUR: self._position + offset, os.SEEK_END: self._stored.size + offset}[whence]
        if target != self._position:
            self._close_body()
        self._position = max(0, target)
        return self._position

    def readinto(self, buffer) -> int:
        if self._position >= self._stored.size:
            return 0
        with self._storage._errors():
            if self._body is None:
                self._body = self._storage.client.get_object(
                    Bucket=self._storage.bucket, Key=self._key, Range=f"bytes={self._position}-", IfMatch=f'"{self._stored.etag}"'
                )["Body"]
            data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def _close_body(self) -> None:
        if self._body is not None:
            self._body.close()  # the rest of an open-ended range is not wanted: drop the connection
            self._body = None

    def close(self) -> None:
        self._close_body()
        super().close()


def get_storage() -> Storage:
    """The app's storage, made once per app (an S3 client is costly to build, and thread-safe)."""
    app = current_app._get_current_object()
    storage = app.extensions.get("media_storage")
    if storage is None:
        location = parse_media_storage(app.config.get("MEDIA_STORAGE"))
        if location is None:
            storage = LocalStorage(app.config["MEDIA_ROOT"])
        else:
            storage = S3Storage(location, app.config["MEDIA_ROOT"])
        app.extensions["media_storage"] = storage
    return storage


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
def staged_upload(
    source: IO[bytes], max_bytes: int | None = None, on_chunk: Callable[[int], None] | None = None
) -> Iterator[StagedFile]:
    """Stream ``source`` to a staging file in chunks; removed on exit unless stored.

    Raises PayloadTooLarge as soon as more than ``max_bytes`` arrive. ``on_chunk(size so far)``
    runs after each chunk (an upload claim renews itself there).
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
                if on_chunk is not None:
                    on_chunk(staged.size)
        yield staged
    finally:
        if not staged.stored:
            path.unlink(missing_ok=True)
