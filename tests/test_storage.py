"""Storage: staged uploads streamed to disk, size-limited, removed unless stored after the commit;
the same behaviour from the local folder and from an S3-compatible bucket (a real moto server)."""
from __future__ import annotations

import io
import os
import tracemalloc

import pytest
import requests
from flask import Blueprint

from app import create_app
from domain import PayloadTooLarge
from media.storage import (
    LocalStorage,
    S3Storage,
    StorageKeyError,
    StorageUnavailable,
    get_storage,
    parse_media_storage,
    staged_upload,
)
from media.streaming import serve_media
from tests.storage_backends import both_storages


class CountingStream(io.BytesIO):
    """Records the largest single read, to prove the upload is never read whole."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.largest_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.largest_read = max(self.largest_read, len(chunk))
        return chunk


@both_storages
def test_staged_upload_streams_in_chunks_and_stores(app):
    data = os.urandom(3 * 1024 * 1024 + 5)
    stream = CountingStream(data)
    with app.app_context():
        with staged_upload(stream, max_bytes=10 * 1024 * 1024) as staged:
            assert staged.size == len(data)
            staged.store("audio/thing.bin")
        assert stream.largest_read <= 1024 * 1024
        storage = get_storage()
        assert storage.read_bytes("audio/thing.bin") == data
        assert storage.keys("audio/") == ["audio/thing.bin"]
        assert list(storage.staging_dir().iterdir()) == []


@both_storages
def test_staged_upload_is_removed_on_failure_and_over_the_limit(app):
    with app.app_context():
        storage = get_storage()
        staging = storage.staging_dir()
        with pytest.raises(RuntimeError):
            with staged_upload(io.BytesIO(b"abc")):
                raise RuntimeError("inspection said no")
        assert list(staging.iterdir()) == []
        with pytest.raises(PayloadTooLarge):
            with staged_upload(io.BytesIO(b"y" * 2048), max_bytes=1024):
                pass
        assert list(staging.iterdir()) == []
        assert storage.keys() == []


def test_keys_cannot_escape_the_media_root(tmp_path):
    storage = LocalStorage(tmp_path)
    for key in ("../etc/passwd", "/etc/passwd", "a/../../b", "", "a\\..\\b"):
        with pytest.raises(StorageKeyError):
            storage.path(key)
    assert not storage.exists("../x")


def test_keys_no_file_system_can_name_are_refused_and_deleting_them_is_harmless(tmp_path):
    storage = LocalStorage(tmp_path)
    too_long = "images/" + "0" * 300
    with pytest.raises(StorageKeyError):
        storage.path(too_long)
    assert not storage.exists(too_long)
    storage.delete(too_long)  # was OSError: File name too long
    (tmp_path / "images" / "cover").mkdir(parents=True)
    storage.delete("images/cover")  # a directory, not a file: left alone
    assert (tmp_path / "images" / "cover").is_dir()
    storage.put_bytes(b"x", "images/cover/a.png")
    storage.delete("images/cover/a.png")
    assert not storage.exists("images/cover/a.png")


@both_storages
def test_every_operation_on_both_backends(app, media_storage):
    with app.app_context():
        storage = get_storage()
        assert isinstance(storage, S3Storage) is bool(media_storage)
        storage.put_bytes(b"first", "a/one.txt")
        storage.copy("a/one.txt", "b/two.txt")
        assert storage.read_bytes("b/two.txt") == b"first" and storage.exists("a/one.txt")
        assert storage.keys() == ["a/one.txt", "b/two.txt"] and storage.keys("b/") == ["b/two.txt"]
        stored = storage.stat("a/one.txt")
        assert stored.size == 5 and stored.etag and stored.modified.tzinfo is not None
        with storage.local_path("a/one.txt") as path:
            assert path.read_bytes() == b"first"
        assert list(storage.staging_dir().iterdir()) == []  # a temporary copy is gone after use
        with storage.open("a/one.txt") as reader:
            reader.seek(2)
            assert reader.read() == b"rst"
        storage.put_bytes(b"second", "a/one.txt")  # replaced: new validators
        assert storage.stat("a/one.txt").etag != stored.etag
        for key in ("a/one.txt", "b/two.txt", "never/there.txt", "../escape"):
            storage.delete(key)
        assert storage.keys() == [] and storage.stat("a/one.txt") is None and not storage.exists("../escape")


def _probe_route(app):
    media = Blueprint("media_probe", __name__)

    @media.get("/probe/<name>")
    def probe(name):
        return serve_media(f"probe/{name}", "audio/mpeg")

    app.register_blueprint(media)


@both_storages
def test_serve_media_ranges_and_conditional_requests(app, client):
    _probe_route(app)
    with app.app_context():
        get_storage().put_bytes(bytes(range(256)) * 4, "probe/a.mp3")
    full = client.get("/probe/a.mp3")
    assert full.status_code == 200 and full.headers["Accept-Ranges"] == "bytes" and full.data == bytes(range(256)) * 4
    assert full.headers["Content-Length"] == "1024" and full.headers["Content-Type"] == "audio/mpeg"
    assert full.headers["Content-Disposition"] == "inline; filename=a.mp3" and "max-age=3600" in full.headers["Cache-Control"]
    part = client.get("/probe/a.mp3", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.headers["Content-Range"] == "bytes 10-19/1024" and part.data == bytes(range(10, 20))
    suffix = client.get("/probe/a.mp3", headers={"Range": "bytes=-4"})
    assert suffix.status_code == 206 and suffix.data == bytes([252, 253, 254, 255])
    open_ended = client.get("/probe/a.mp3", headers={"Range": "bytes=1000-"})
    assert open_ended.status_code == 206 and open_ended.data == bytes(range(232, 256))
    assert client.get("/probe/a.mp3", headers={"Range": "bytes=5000-6000"}).status_code == 416
    assert client.get("/probe/a.mp3", headers={"If-None-Match": full.headers["ETag"]}).status_code == 304
    assert client.get("/probe/a.mp3", headers={"If-Modified-Since": full.headers["Last-Modified"]}).status_code == 304
    stale_if_range = client.get("/probe/a.mp3", headers={"Range": "bytes=0-9", "If-Range": '"not-the-etag"'})
    assert stale_if_range.status_code == 200 and len(stale_if_range.data) == 1024
    head = client.head("/probe/a.mp3")
    assert head.status_code == 200 and head.headers["Content-Length"] == "1024" and head.data == b""
    download = client.get("/probe/a.mp3?download")
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert client.get("/probe/missing.mp3").status_code == 404


def test_s3_downloads_can_redirect_to_presigned_urls(app_factory, moto_server, monkeypatch):
    for name, value in moto_server.env.items():
        monkeypatch.setenv(name, value)
    app = app_factory(MEDIA_STORAGE=f"s3://{moto_server.bucket}/presigned", MEDIA_PRESIGNED_DOWNLOADS=True)
    _probe_route(app)
    client = app.test_client()
    with app.app_context():
        get_storage().put_bytes(bytes(range(256)) * 4, "probe/b.mp3")
    response = client.get("/probe/b.mp3?download")
    assert response.status_code == 302 and response.headers["Location"].startswith(moto_server.endpoint)
    assert "no-store" in response.headers["Cache-Control"]
    ranged = requests.get(response.headers["Location"], headers={"Range": "bytes=10-19"}, timeout=10)
    assert ranged.status_code == 206 and ranged.content == bytes(range(10, 20))
    assert ranged.headers["Content-Type"] == "audio/mpeg" and ranged.headers["Content-Disposition"].startswith("attachment")
    assert client.get("/probe/missing.mp3").status_code == 404


def test_s3_transfers_keep_memory_flat(app_factory, moto_server, monkeypatch):
    """A 40 MB file goes to the bucket in parts and comes back to disk: the app's own allocations
    stay far below its size either way."""
    for name, value in moto_server.env.items():
        monkeypatch.setenv(name, value)
    app = app_factory(MEDIA_STORAGE=f"s3://{moto_server.bucket}/memory")
    size = 40 * 1024 * 1024
    with app.app_context():
        storage = get_storage()
        storage.put_bytes(b"warm-up", "warm.bin")  # the client's first request loads its models
        with staged_upload(io.BytesIO(b"\0" * size), max_bytes=size) as staged:
            tracemalloc.start()
            staged.store("big/upload.bin")
            _, upload_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        assert storage.stat("big/upload.bin").size == size
        assert storage.stat("big/upload.bin").etag.endswith("-5")  # five 8 MB parts: a multipart upload
        assert upload_peak < 16 * 1024 * 1024, f"peak {upload_peak / 1e6:.1f} MB while uploading {size / 1e6:.0f} MB"
        tracemalloc.start()
        with storage.local_path("big/upload.bin") as copy:
            assert copy.stat().st_size == size
        _, download_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert download_peak < 16 * 1024 * 1024, f"peak {download_peak / 1e6:.1f} MB while downloading {size / 1e6:.0f} MB"
        storage.delete("big/upload.bin")
        storage.delete("warm.bin")


def test_s3_failures_are_storage_errors(app_factory, monkeypatch):
    from tests.storage_backends import CREDENTIALS, free_port

    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    app = app_factory(MEDIA_STORAGE="s3://nowhere/x")
    with app.app_context():
        storage = get_storage()
        assert isinstance(storage, S3Storage)
        with pytest.raises(StorageUnavailable):  # an OSError: upload paths undo their row on it
            storage.put_bytes(b"x", "a.txt")


def test_media_storage_setting(tmp_path, monkeypatch):
    assert parse_media_storage(None) is None and parse_media_storage("") is None
    assert parse_media_storage("s3://bucket") == parse_media_storage("s3://bucket/")
    location = parse_media_storage("s3://media-bucket/themeboard/prod/")
    assert (location.bucket, location.prefix) == ("media-bucket", "themeboard/prod")
    for wrong in ("/srv/media", "s3://", "gs://bucket/x", "s3://bucket/../x", "s3://bucket/x?versioning=1"):
        with pytest.raises(ValueError):
            parse_media_storage(wrong)
    monkeypatch.setenv("MEDIA_STORAGE", "s3:/bucket")
    with pytest.raises(RuntimeError, match="MEDIA_STORAGE"):
        create_app({"INSTANCE_PATH": str(tmp_path / "i"), "MEDIA_ROOT": str(tmp_path / "m")})
