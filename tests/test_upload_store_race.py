"""An accepted Tracks v1 upload is committed as ``processing`` before its file reaches the storage.
While that file is being stored no processing job may take the track (the sweep queues one for
every unclaimed ``processing`` track): it would find no file, mark the track missing, and the
accepted upload would be lost. Found by `make stress`, where an S3 write takes seconds."""
from __future__ import annotations

import threading
import time
import uuid

import pytest

from blueprints.tracks import processing
from extensions import db
from models.tracks import Track, TrackStatus
from tests.factories import user_with_token
from tests.test_tracks_api import _collection, _ok, _path, _wait_ready


def _row(app, track_id: uuid.UUID) -> tuple[TrackStatus, int]:
    with app.app_context():
        row = db.session.execute(db.select(Track.status, Track.processing_attempts).where(Track.id == track_id)).one()
        db.session.remove()
        return row.status, row.processing_attempts


@pytest.mark.parametrize("media_storage", ["s3"], indirect=True)
def test_no_job_takes_a_track_while_its_file_is_being_stored(app, client, moto_server, audio_file):
    alice = user_with_token(app, name="alice")[1]
    created = _ok(client.post("/v1/track", json={"collection_id": _collection(client, alice), "file_name": "a.flac"}, headers=alice))
    track_id = uuid.UUID(created["track_id"])
    data = audio_file("flac").read_bytes()
    answers = []
    moto_server.pause()  # the S3 server stops answering: the upload's store waits, mid-upload
    try:
        upload = threading.Thread(target=lambda: answers.append(client.put(_path(created["track_upload"]["upload_url"]), data=data)))
        upload.start()
        deadline = time.monotonic() + 20
        while _row(app, track_id)[0] != TrackStatus.processing:
            assert time.monotonic() < deadline, "the upload never reached its commit"
            time.sleep(0.05)

        def job():
            with app.app_context():
                processing.process_track(track_id)  # what a worker runs for a job the sweep queued

        worker = threading.Thread(target=job, daemon=True)
        worker.start()
        worker.join(2)
        attempts = _row(app, track_id)[1]  # a job that took the track has counted an attempt
    finally:
        moto_server.resume()
    upload.join(30)
    worker.join(30)

    assert attempts == 0
    assert answers and answers[0].status_code == 200, answers and answers[0].get_data(as_text=True)
    assert _wait_ready(client, alice, created["track_id"], app)["status"] == "ready"
