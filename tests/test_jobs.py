"""Track processing as RQ jobs on Redis, run by `flask --app app worker` in a subprocess: an upload
enqueues a job, a worker processes it, a worker killed mid-job is replaced through the sweep and
the track completes once; without Redis the job runs in the web process as before."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from mutagen.id3 import APIC, ID3
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy import select, update

import jobs
from blueprints.tracks import processing
from extensions import db
from media.storage import get_storage
from models.tracks import Track, TrackStatus
from tests.conftest import require_redis
from tests.factories import user_with_token
from tests.storage_backends import MotoServer, both_storages, free_port, unique_prefix
from tests.test_tracks_api import _collection, _ok, _path, _wait_ready

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture()
def queue_name():
    """A queue of this test's own on the shared Redis; its keys are removed afterwards."""
    url = require_redis()
    name = f"themeboard-test-{uuid.uuid4().hex[:12]}"
    yield name
    connection = Redis.from_url(url)
    Queue(name, connection=connection, serializer=JSONSerializer).delete(delete_jobs=True)
    for key in connection.scan_iter(match=f"rq:*:{name}"):
        connection.delete(key)


def _job_app(app_factory, queue_name, **overrides):
    return app_factory(REDIS_URL=require_redis(), JOBS_QUEUE=queue_name, **overrides)


def _worker_env(app) -> dict[str, str]:
    """What an operator sets for `flask worker`: the same database, storage, Redis and queue."""
    config = app.config
    env = {
        **os.environ,
        "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": config["SECRET_KEY"],
        "MEDIA_ROOT": config["MEDIA_ROOT"],
        "REDIS_URL": config["REDIS_URL"],
        "JOBS_QUEUE": config["JOBS_QUEUE"],
        "TRACKS_PROCESSING_LEASE_SECONDS": str(config["TRACKS_PROCESSING_LEASE_SECONDS"]),
        "TRACKS_SWEEP_SECONDS": "3600",  # the tests sweep when they mean to
        "SOUNDBOARD_ADMIN_TOKEN": "unused",
    }
    env.pop("MEDIA_STORAGE", None)
    if config.get("MEDIA_STORAGE"):
        env["MEDIA_STORAGE"] = config["MEDIA_STORAGE"]
    return env


def _worker_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "app", "worker", *args]


def _run_burst_worker(app, tmp_path) -> None:
    log = tmp_path / f"worker-{uuid.uuid4().hex[:6]}.log"
    with log.open("w") as out:
        finished = subprocess.run(_worker_command("--burst"), cwd=ROOT, env=_worker_env(app), stdout=out, stderr=subprocess.STDOUT, timeout=120)
    assert finished.returncode == 0, log.read_text()


def _mp3_with_cover(audio_file) -> bytes:
    from demo.images import cover

    buffer = io.BytesIO(audio_file("mp3").read_bytes())
    tags = ID3()
    tags.add(APIC(mime="image/png", type=3, desc="cover", data=cover("job", 64, seed=5)))
    tags.save(buffer)
    return buffer.getvalue()


def _upload(app, audio: bytes) -> tuple[str, dict]:
    client = app.test_client()
    alice = user_with_token(app, name=f"alice{uuid.uuid4().hex[:6]}")[1]
    created = _ok(client.post("/v1/track", json={"collection_id": _collection(client, alice), "file_name": "x.mp3"}, headers=alice))
    uploaded = _ok(client.put(_path(created["track_upload"]["upload_url"]), data=audio))
    assert uploaded["track"]["status"] == "processing"
    return created["track_id"], alice


def _track(app, track_id: str) -> Track:
    with app.app_context():
        track = db.session.get(Track, uuid.UUID(track_id))
        db.session.expunge(track)
        return track


@both_storages
def test_an_upload_is_a_job_that_flask_worker_processes(app_factory, queue_name, audio_file, tmp_path, caplog):
    app = _job_app(app_factory, queue_name)
    track_id, alice = _upload(app, _mp3_with_cover(audio_file))
    queue = jobs.queue_for(app)
    assert queue.job_ids == [f"track-{track_id}"]
    time.sleep(0.3)
    assert _track(app, track_id).processing_attempts == 0  # nothing ran in the web process
    processing.sweep(app)
    assert queue.count == 1  # a sweep does not queue a track that is already waiting
    assert "no worker runs it" in caplog.text  # and it tells the operator nobody takes it

    _run_burst_worker(app, tmp_path)

    track = _track(app, track_id)
    assert track.status == TrackStatus.ready and track.processing_attempts == 1 and track.claimed_at is None
    assert track.cover_key == f"tracks/{track_id}/cover-embedded.png" and track.cover_color
    assert queue.count == 0 and queue.finished_job_registry.get_job_ids() == [f"track-{track_id}"]
    client = app.test_client()
    body = _ok(client.get(f"/v1/track/{track_id}", headers=alice))["track"]
    part = client.get(_path(body["stream_url"]), headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and len(part.data) == 10
    assert client.get(_path(body["cover_url"])).data[:8] == b"\x89PNG\r\n\x1a\n"  # stored by the worker
    with app.app_context():
        assert sorted(get_storage().keys(f"tracks/{track_id}/")) == [f"tracks/{track_id}/audio.mp3", f"tracks/{track_id}/cover-embedded.png"]


def test_a_worker_killed_mid_job_is_replaced_and_the_track_completes_once(app_factory, queue_name, audio_file, tmp_path, monkeypatch):
    """The worker claims the track, then hangs on the storage (the S3 server is stopped with
    SIGSTOP) and is killed with SIGKILL. Once the claim's lease runs out the sweep queues the track
    again, a new worker processes it, and it is processed to completion exactly once."""
    s3 = MotoServer(bucket="killed-worker").start()
    try:
        for name, value in s3.env.items():
            monkeypatch.setenv(name, value)
        app = _job_app(app_factory, queue_name, MEDIA_STORAGE=f"s3://{s3.bucket}/{unique_prefix()}", TRACKS_PROCESSING_LEASE_SECONDS=6)
        track_id, _ = _upload(app, _mp3_with_cover(audio_file))
        s3.pause()
        log = tmp_path / "killed-worker.log"
        with log.open("w") as out:
            worker = subprocess.Popen(_worker_command(), cwd=ROOT, env=_worker_env(app), stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while _track(app, track_id).claimed_at is None:
                assert time.monotonic() < deadline, log.read_text()
                assert worker.poll() is None, log.read_text()
                time.sleep(0.05)
            assert worker.poll() is None  # claimed, and still waiting for the storage
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=10)
            s3.resume()
        killed = _track(app, track_id)
        assert killed.status == TrackStatus.processing and killed.processing_attempts == 1

        assert processing.sweep(app) == 0  # the lease still holds: nobody else may take it yet
        time.sleep(6.5)
        assert processing.sweep(app) == 1
        _run_burst_worker(app, tmp_path)

        track = _track(app, track_id)
        assert track.status == TrackStatus.ready and track.processing_attempts == 2 and track.cover_color
        assert processing.sweep(app) == 0
        jobs.submit(app, processing.run_job, track_id, job_id=f"track-{track_id}", timeout=6)  # a stray duplicate
        _run_burst_worker(app, tmp_path)
        assert _track(app, track_id).processing_attempts == 2  # refused by the claim: done once
        assert s3.objects("run-")[-1].endswith(f"tracks/{track_id}/cover-embedded.png")
    finally:
        s3.stop()


def test_duplicate_deliveries_process_a_track_once(app_factory, queue_name, audio_file):
    app = _job_app(app_factory, queue_name)
    track_id, _ = _upload(app, audio_file("ogg").read_bytes())
    jobs.submit(app, processing.run_job, track_id, job_id=f"track-{track_id}", timeout=60)  # delivered twice
    queue = jobs.queue_for(app)
    assert queue.count == 2
    worker = jobs.AppWorker([queue], connection=queue.connection, serializer=JSONSerializer, app=app)
    assert worker.work(burst=True)  # RQ's in-process worker, the class `flask worker` runs
    track = _track(app, track_id)
    assert track.status == TrackStatus.ready and track.processing_attempts == 1


def test_a_late_attempt_cannot_overwrite_the_one_that_took_over(app, client, audio_file):
    """A worker paused past its lease loses the track: its result is dropped, not committed."""
    track_id, _ = _upload_without_processing(app, client, audio_file)
    with app.app_context():
        first = processing._claim(uuid.UUID(track_id))
        db.session.execute(update(Track).values(claimed_at=Track.claimed_at - processing.timedelta(hours=1)))
        db.session.commit()
        processing.process_track(uuid.UUID(track_id))  # attempt 2 takes over and completes
        processing._finish(uuid.UUID(track_id), first, status=TrackStatus.error, error_reason="late")
        track = db.session.scalar(select(Track))
        assert (first, track.processing_attempts, track.status, track.error_reason) == (1, 2, TrackStatus.ready, None)


def _upload_without_processing(app, client, audio_file):
    original = processing.enqueue
    processing.enqueue = lambda *args, **kwargs: None
    try:
        return _upload(app, audio_file("ogg").read_bytes())
    finally:
        processing.enqueue = original


def test_without_reachable_redis_the_job_runs_in_the_web_process(app_factory, audio_file):
    app = app_factory(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", JOBS_QUEUE="unreachable")
    track_id, alice = _upload(app, audio_file("flac").read_bytes())
    assert _wait_ready(app.test_client(), alice, track_id, app)["status"] == "ready"


def test_flask_worker_needs_redis(runner):
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code == 1 and "REDIS_URL is not set" in result.output


def test_the_worker_outlives_a_redis_cut_and_runs_the_next_job(app_factory, queue_name, audio_file, tmp_path):
    """`flask worker` reaches Redis through a fault proxy that resets every connection and refuses
    new ones for a few seconds: the worker keeps running, and a job queued after Redis is back runs."""
    from tests.fault_proxy import FaultProxy

    app = _job_app(app_factory, queue_name)
    proxy = FaultProxy("127.0.0.1", 6379)
    port = proxy.start()
    env = {**_worker_env(app), "REDIS_URL": f"redis://127.0.0.1:{port}/0"}
    log = tmp_path / "cut-worker.log"
    with log.open("w") as out:
        worker = subprocess.Popen(_worker_command(), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "Listening on" not in log.read_text() and "*** Listening" not in log.read_text():
            assert worker.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        proxy.cut()
        time.sleep(4)
        assert worker.poll() is None, log.read_text()
        proxy.mode = "pass"

        track_id, _ = _upload(app, audio_file("mp3").read_bytes())
        deadline = time.monotonic() + 60
        while _track(app, track_id).status == TrackStatus.processing:
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        assert _track(app, track_id).status == TrackStatus.ready
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)
        proxy.stop()
