"""Background processing of uploaded tracks, durable across restarts.

The upload request already decoded the file once (inspection, duration, waveform peaks) and left
the track ``processing``. What remains (the embedded cover, the player colour) runs as a
background job (``jobs.submit``: on RQ with ``REDIS_URL``, run by ``flask worker``; else on a
small pool in the web process, its CPU work off gevent's event loop), so the upload is answered
as soon as it is accepted. The state lives in the database: a job claims a track by setting
``claimed_at`` in one atomic UPDATE, and commits its result only while that claim is still its
own; a sweep at start-up and every ``TRACKS_SWEEP_SECONDS`` re-queues tracks whose claim is
older than the lease, so a track never stays ``processing`` after a crash, and no track is ever
processed to completion twice.
"""
from __future__ import annotations

import io
import logging
import threading
import uuid
from datetime import UTC, datetime, timedelta

from flask import Flask, current_app
from mutagen import File as MutagenFile
from PIL import Image as PILImage
from sqlalchemy import or_, select, update

import jobs
from concurrency import run_off_loop
from extensions import db
from media.inspection import _embedded_cover
from media.storage import get_storage
from models.tracks import Track, TrackStatus

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
_started: set[int] = set()
_lock = threading.Lock()


def enqueue(app: Flask, track_id, unless_queued: bool = False) -> None:
    # A job may not outlive its lease: past it, the sweep hands the track to another worker.
    lease = int(app.config["TRACKS_PROCESSING_LEASE_SECONDS"])
    jobs.submit(app, run_job, str(track_id), job_id=f"track-{track_id}", timeout=lease, unless_queued=unless_queued)


def run_job(track_id: str) -> None:
    """The queued job (JSON arguments only), run inside an app context."""
    process_track(uuid.UUID(track_id))


def _claim(track_id) -> int | None:
    """Take the track for one attempt; returns the attempt's number, the claim's fencing token."""
    lease = timedelta(seconds=current_app.config["TRACKS_PROCESSING_LEASE_SECONDS"])
    now = datetime.now(UTC)
    claimed = db.session.execute(
        update(Track)
        .where(Track.id == track_id, Track.status == TrackStatus.processing, or_(Track.claimed_at.is_(None), Track.claimed_at < now - lease))
        .values(claimed_at=now, processing_attempts=Track.processing_attempts + 1)
    ).rowcount
    db.session.commit()
    if not claimed:
        return None
    return db.session.scalar(select(Track.processing_attempts).where(Track.id == track_id))


def process_track(track_id) -> None:
    attempt = _claim(track_id)
    if attempt is None:
        return  # another worker has it, or it is no longer processing
    track = db.session.get(Track, track_id, populate_existing=True)
    storage = get_storage()
    if track.audio_key is None or not storage.exists(track.audio_key):
        # The URL is given back: the owner can send the file again.
        reason = "The uploaded audio file is missing; upload it again."
        _finish(track.id, attempt, status=TrackStatus.error, error_reason=reason, audio_key=None, audio_upload_used_at=None)
        return
    if attempt > MAX_ATTEMPTS:
        _finish(track.id, attempt, status=TrackStatus.error, error_reason="Processing failed repeatedly.")
        return
    result: dict = {}
    cover_key = track.cover_key
    if track.uploaded_cover_key is None and track.embedded_cover_key is None:
        with storage.local_path(track.audio_key) as audio_path:
            cover, mimetype = run_off_loop(lambda path: _embedded_cover(MutagenFile(path)), audio_path)
        if cover:
            extension = {"image/png": "png", "image/webp": "webp", "image/gif": "gif"}.get(mimetype or "", "jpg")
            cover_key = f"tracks/{track.id}/cover-embedded.{extension}"
            storage.put_bytes(cover, cover_key)  # the same key and bytes if a retry writes it again
            result |= {"embedded_cover_key": cover_key, "embedded_cover_mimetype": mimetype or "image/jpeg"}
            result |= {"cover_key": cover_key, "cover_mimetype": mimetype or "image/jpeg"}
    result["cover_color"] = run_off_loop(_dominant_color, storage.read_bytes(cover_key)) if cover_key else None
    _finish(track.id, attempt, status=TrackStatus.ready, error_reason=None, **result)


def _finish(track_id, attempt: int, **values) -> None:
    """Commit the outcome only if this attempt still holds the claim: a worker that outlived its
    lease (paused, partitioned) finds its track taken over and leaves the newer attempt's result."""
    db.session.rollback()
    finished = db.session.execute(
        update(Track)
        .where(Track.id == track_id, Track.status == TrackStatus.processing, Track.processing_attempts == attempt)
        .values(claimed_at=None, **values)
    ).rowcount
    db.session.commit()
    if not finished:
        log.warning("Track %s: attempt %s lost its claim; its result is dropped", track_id, attempt)


def _dominant_color(image_bytes: bytes) -> str | None:
    """The cover's most common colour after reducing it to a small palette, as #RRGGBB."""
    try:
        with PILImage.open(io.BytesIO(image_bytes)) as image:
            small = image.convert("RGB").resize((48, 48))
    except (OSError, ValueError):
        return None
    palette = small.quantize(colors=6)
    counts = sorted(palette.getcolors() or [], reverse=True)
    colors = palette.getpalette() or []
    for _, index in counts:
        r, g, b = colors[index * 3 : index * 3 + 3]
        if 30 < (r + g + b) / 3 < 235:  # skip near-black and near-white backgrounds
            return f"#{r:02X}{g:02X}{b:02X}"
    if counts:
        r, g, b = colors[counts[0][1] * 3 : counts[0][1] * 3 + 3]
        return f"#{r:02X}{g:02X}{b:02X}"
    return None


def derive_cover_color(track_id) -> None:
    track = db.session.get(Track, track_id, populate_existing=True)
    if track is not None and track.cover_key:
        track.cover_color = run_off_loop(_dominant_color, get_storage().read_bytes(track.cover_key))
        db.session.commit()


def sweep(app: Flask) -> int:
    """Re-queue every track whose processing was never finished (crash, restart, lost thread),
    and remove the staging files of uploads that died mid-body."""
    with app.app_context():
        try:
            for removed in get_storage().sweep_staging(app.config["STAGING_MAX_AGE_SECONDS"]):
                log.info("Removed abandoned staging file %s", removed)
        except OSError as error:  # the store unreachable: the tracks below are re-queued all the same
            log.warning("Staging sweep skipped: %s", error)
        lease = timedelta(seconds=app.config["TRACKS_PROCESSING_LEASE_SECONDS"])
        stale = datetime.now(UTC) - lease
        ids = list(
            db.session.scalars(
                select(Track.id).where(Track.status == TrackStatus.processing, or_(Track.claimed_at.is_(None), Track.claimed_at < stale))
            )
        )
        db.session.remove()
    for track_id in ids:
        enqueue(app, track_id, unless_queued=True)
    jobs.warn_if_unattended(app)
    return len(ids)


def start_sweeper(app: Flask) -> None:
    """Once per process (web or ``flask worker``): sweep now, then periodically."""
    with _lock:
        if id(app) in _started or app.config.get("TESTING"):
            return
        _started.add(id(app))

    def loop() -> None:
        while True:
            try:
                sweep(app)
            except Exception:  # noqa: BLE001 - e.g. tables not migrated yet; try again later
                log.debug("Track sweep skipped", exc_info=True)
            threading.Event().wait(app.config["TRACKS_SWEEP_SECONDS"])

    threading.Thread(target=loop, name="track-sweeper", daemon=True).start()
