"""Signed upload URLs are spent only when their upload is accepted: a request that dies mid-body
holds an expiring claim, and once it lapses the same URL works; its staging file is swept."""
from __future__ import annotations

import io
import json
import os
import signal
import socket
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
import soundfile
from sqlalchemy import select, update

from blueprints.tracks import processing, services
from extensions import db
from media.storage import get_storage
from models.tracks import Track, TrackStatus
from tests.conftest import make_app
from tests.factories import user_with_token
from tests.servers import Gunicorn
from tests.storage_backends import both_storages
from tests.test_tracks_api import _collection, _error, _ok, _path, _wait_ready


def noise_flac(path: Path, seconds: float) -> bytes:
    """Real FLAC of stereo noise: it barely compresses, so the file is big (about 10 MB a minute)."""
    rng = np.random.default_rng(7)
    samples = (rng.uniform(-0.6, 0.6, size=(int(seconds * 44100), 2))).astype("float32")
    soundfile.write(path, samples, 44100, format="FLAC", subtype="PCM_16")
    return path.read_bytes()


def _created(client, alice) -> dict:
    collection_id = _collection(client, alice)
    return _ok(client.post("/v1/track", json={"collection_id": collection_id, "file_name": "x.flac"}, headers=alice))


def _row(app, track_id: str) -> Track:
    with app.app_context():
        track = db.session.get(Track, uuid.UUID(track_id))
        db.session.expunge(track)
        return track


@pytest.fixture()
def alice(app):
    return user_with_token(app, name="alice")[1]


def test_a_live_claim_answers_409_and_a_lapsed_one_frees_the_url(client, app, alice, audio_file):
    created = _created(client, alice)
    url = _path(created["track_upload"]["upload_url"])
    with app.test_request_context():
        services._claim(uuid.UUID(created["track_id"]), "audio")  # a request whose body is still arriving
    busy = client.put(url, data=audio_file("flac").read_bytes())
    _error(busy, 409)
    assert 1 <= int(busy.headers["Retry-After"]) <= app.config["TRACKS_UPLOAD_CLAIM_SECONDS"]
    assert _row(app, created["track_id"]).status == TrackStatus.awaiting_upload
    with app.app_context():  # the request died: nothing renews its claim, and it runs out
        lapsed = datetime.now(UTC) - timedelta(seconds=1)
        db.session.execute(update(Track).values(audio_upload_claimed_until=lapsed))
        db.session.commit()
    assert _ok(client.put(url, data=audio_file("flac").read_bytes()))["track"]["status"] in ("processing", "ready")
    track = _row(app, created["track_id"])
    assert track.audio_upload_used_at is not None and track.audio_upload_claim is None
    _error(client.put(url, data=audio_file("flac").read_bytes()), 403)  # accepted once: spent


def test_a_claim_renews_while_bytes_arrive_and_a_taken_over_upload_is_refused(client, app, alice, tmp_path):
    app.config["TRACKS_UPLOAD_CLAIM_SECONDS"] = 2
    created = _created(client, alice)
    url = _path(created["track_upload"]["upload_url"])
    data = noise_flac(tmp_path / "n.flac", 8)
    track_id = uuid.UUID(created["track_id"])

    class Slow(io.RawIOBase):
        """A body that arrives over about three seconds, longer than the claim's life."""

        def __init__(self, on_half=None):
            self.source, self.on_half = io.BytesIO(data), on_half

        def readable(self):
            return True

        def readinto(self, buffer):
            time.sleep(0.3)
            chunk = self.source.read(min(len(buffer), len(data) // 10 + 1))
            buffer[: len(chunk)] = chunk
            if self.on_half and self.source.tell() >= len(data) // 2:
                self.on_half()
                self.on_half = None
            return len(chunk)

    with app.test_request_context():
        accepted = services.receive_audio(str(track_id), url.split("signature=")[1], io.BufferedReader(Slow(), 1024 * 1024))
        assert accepted.status == TrackStatus.processing  # took longer than the claim lives: renewed as it arrived
    with app.app_context():
        db.session.execute(update(Track).values(audio_upload_used_at=None, status=TrackStatus.awaiting_upload))
        db.session.commit()

    def take_over():
        # Another request takes the URL as if this one had stalled past its claim.
        db.session.execute(update(Track).values(audio_upload_claim="someone-else", audio_upload_claimed_until=datetime.now(UTC) + timedelta(seconds=30)))
        db.session.commit()

    with app.test_request_context():
        with pytest.raises(services.Conflict):
            services.receive_audio(str(track_id), url.split("signature=")[1], io.BufferedReader(Slow(take_over), 1024 * 1024))
    track = _row(app, created["track_id"])
    assert track.audio_upload_claim == "someone-else" and track.audio_upload_used_at is None
    with app.app_context():
        assert list(get_storage().staging_dir().iterdir()) == []


@both_storages
def test_the_sweep_removes_abandoned_staging_files_and_multipart_uploads(app, media_storage, moto_server):
    with app.app_context():
        storage = get_storage()
        staging = storage.staging_dir()
        abandoned, live = staging / "dead.upload", staging / "live.upload"
        abandoned.write_bytes(b"x" * 1000)
        live.write_bytes(b"y" * 1000)
        old = time.time() - app.config["STAGING_MAX_AGE_SECONDS"] - 5
        os.utime(abandoned, (old, old))
        if media_storage:
            client = moto_server.client()
            prefix = media_storage["MEDIA_STORAGE"].split("/", 3)[3]
            started = client.create_multipart_upload(Bucket=moto_server.bucket, Key=f"{prefix}/tracks/x/audio.flac")["UploadId"]
            client.upload_part(Bucket=moto_server.bucket, Key=f"{prefix}/tracks/x/audio.flac", UploadId=started, PartNumber=1, Body=b"z" * 100)
    processing.sweep(app)
    assert not abandoned.exists() and live.exists()
    if media_storage:
        # moto reports every multipart upload as initiated in 2010, so only the abort is checked.
        assert client.list_multipart_uploads(Bucket=moto_server.bucket, Prefix=prefix).get("Uploads", []) == []
        with pytest.raises(client.exceptions.NoSuchUpload):
            client.list_parts(Bucket=moto_server.bucket, Key=f"{prefix}/tracks/x/audio.flac", UploadId=started)


def _request(method: str, url: str, body=None, headers=None) -> tuple[int, dict, dict]:
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def _workers_of(master: int) -> list[int]:
    workers = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                workers.append(int(entry.name))
    return workers


@pytest.mark.slow
@both_storages
def test_kill_9_mid_body_leaves_the_url_usable_and_the_staging_file_is_swept(tmp_path, server_database, media_storage):
    media = tmp_path / "server-media"
    env = {
        "DATABASE_URL": server_database,
        "MEDIA_ROOT": str(media),
        "TRACKS_UPLOAD_CLAIM_SECONDS": "15",  # longer than a worker takes to respawn on a busy machine
        "STAGING_MAX_AGE_SECONDS": "12",
        "TRACKS_SWEEP_SECONDS": "1",
        **media_storage,
    }
    server = Gunicorn(env, workers=1)
    server.migrate()
    setup = make_app(tmp_path, SQLALCHEMY_DATABASE_URI=server_database, MEDIA_ROOT=str(media), **media_storage)
    alice = user_with_token(setup, name="alice")[1]
    # Under 8 MB with S3: moto dates every multipart upload 2010, so the sweep would abort the
    # final upload's parts while they are sent (a real store reports the real start).
    data = noise_flac(tmp_path / "big.flac", 40 if media_storage else 75)
    assert len(data) > (6 if media_storage else 12) * 1024 * 1024
    server.start()
    try:
        _, _, collection = _request("POST", f"{server.url}/v1/collection", {"title": "Mine"}, alice)
        _, _, created = _request("POST", f"{server.url}/v1/track", {"collection_id": collection["collection_id"], "file_name": "big.flac"}, alice)
        upload_url = created["track_upload"]["upload_url"]
        parts = urlsplit(upload_url)
        staging = media / ".staging"

        # A client streams the body slowly; at 40% the worker receiving it is killed with -9.
        sock = socket.create_connection(("127.0.0.1", server.port))
        head = (
            f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {len(data)}\r\n\r\n"
        )
        sock.sendall(head.encode())
        sent, step = 0, 256 * 1024
        while sent < len(data) * 0.4:
            sock.sendall(data[sent : sent + step])
            sent += step
            time.sleep(0.05)
        deadline = time.time() + 10
        while not any(f.stat().st_size >= 1024 * 1024 for f in staging.glob("*.upload")) and time.time() < deadline:
            time.sleep(0.1)
        half_staged = [f for f in staging.glob("*.upload")]
        assert len(half_staged) == 1 and half_staged[0].stat().st_size < len(data)
        workers = _workers_of(server.process.pid)
        assert len(workers) == 1
        os.kill(workers[0], signal.SIGKILL)
        killed = time.time()
        sock.settimeout(10)
        try:
            assert sock.recv(1024) == b""  # no answer: the connection just ends
        except ConnectionResetError:
            pass
        sock.close()

        row = _row(setup, created["track_id"])
        assert row.status == TrackStatus.awaiting_upload and row.audio_upload_used_at is None and row.audio_upload_claim
        # The dead request's claim is still live for a moment: the same URL says "busy", not "used".
        status, headers, body = _request("PUT", upload_url, b"\x00", {"Content-Type": "application/octet-stream"})
        assert status == 409 and body["ok"] is False and int(headers["Retry-After"]) >= 1, (status, body, time.time() - killed)
        time.sleep(int(headers["Retry-After"]) + 0.5)

        status, _, body = _request("PUT", upload_url, data, {"Content-Type": "application/octet-stream"})
        assert status == 200, body
        assert body["track"]["status"] in ("processing", "ready") and body["track"]["size"] == len(data)
        deadline = time.time() + 60
        while time.time() < deadline:
            _, _, shown = _request("GET", f"{server.url}/v1/track/{created['track_id']}", headers=alice)
            if shown["track"]["status"] != "processing":
                break
            time.sleep(0.2)
        assert shown["track"]["status"] == "ready"
        status, _, _ = _request("PUT", upload_url, data[:100], {"Content-Type": "application/octet-stream"})
        assert status == 403  # spent by the accepted upload

        # The new worker's sweep removes what the killed request left in the staging folder.
        deadline = time.time() + 30
        while half_staged[0].exists() and time.time() < deadline:
            time.sleep(0.5)
        assert not half_staged[0].exists()
        assert list(staging.iterdir()) == []
        with urllib.request.urlopen(shown["track"]["stream_url"], timeout=30) as stream:
            assert stream.read() == data
    finally:
        server.stop()
        with setup.app_context():
            db.session.remove()
            db.engine.dispose()
