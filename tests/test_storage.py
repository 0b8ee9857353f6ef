"""Staged uploads: streamed to disk, size-limited, removed unless stored after the commit."""
from __future__ import annotations

import io

import pytest
from flask import Blueprint

from domain import PayloadTooLarge
from media.storage import LocalStorage, StorageKeyError, get_storage, staged_upload
from media.streaming import serve_media


class CountingStream(io.BytesIO):
    """Records the largest single read, to prove the upload is never read whole."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.largest_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.largest_read = max(self.largest_read, len(chunk))
        return chunk


def test_staged_upload_streams_in_chunks_and_stores(app):
    data = b"x" * (3 * 1024 * 1024 + 5)
    stream = CountingStream(data)
    with app.app_context():
        with staged_upload(stream, max_bytes=10 * 1024 * 1024) as staged:
            assert staged.size == len(data)
            staged.store("audio/thing.bin")
        assert stream.largest_read <= 1024 * 1024
        assert get_storage().path("audio/thing.bin").read_bytes() == data
        assert list(get_storage().staging_dir().iterdir()) == []


def test_staged_upload_is_removed_on_failure_and_over_the_limit(app):
    with app.app_context():
        staging = get_storage().staging_dir()
        with pytest.raises(RuntimeError):
            with staged_upload(io.BytesIO(b"abc")):
                raise RuntimeError("inspection said no")
        assert list(staging.iterdir()) == []
        with pytest.raises(PayloadTooLarge):
            with staged_upload(io.BytesIO(b"y" * 2048), max_bytes=1024):
                pass
        assert list(staging.iterdir()) == []


def test_keys_cannot_escape_the_media_root(tmp_path):
    storage = LocalStorage(tmp_path)
    for key in ("../etc/passwd", "/etc/passwd", "a/../../b", ""):
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


def test_serve_media_ranges_and_conditional_requests(app, client):
    media = Blueprint("media_probe", __name__)

    @media.get("/probe/<name>")
    def probe(name):
        return serve_media(f"probe/{name}", "audio/mpeg")

    app.register_blueprint(media)
    with app.app_context():
        get_storage().put_bytes(bytes(range(256)) * 4, "probe/a.mp3")
    full = client.get("/probe/a.mp3")
    assert full.status_code == 200 and full.headers["Accept-Ranges"] == "bytes" and len(full.data) == 1024
    part = client.get("/probe/a.mp3", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.headers["Content-Range"] == "bytes 10-19/1024" and part.data == bytes(range(10, 20))
    suffix = client.get("/probe/a.mp3", headers={"Range": "bytes=-4"})
    assert suffix.status_code == 206 and suffix.data == bytes([252, 253, 254, 255])
    assert client.get("/probe/a.mp3", headers={"Range": "bytes=5000-6000"}).status_code == 416
    assert client.get("/probe/a.mp3", headers={"If-None-Match": full.headers["ETag"]}).status_code == 304
    download = client.get("/probe/a.mp3?download")
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert client.get("/probe/missing.mp3").status_code == 404
