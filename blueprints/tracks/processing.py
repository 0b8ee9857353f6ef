"""Background processing of uploaded tracks, durable across restarts.

The upload request already decoded the file once (inspection, duration, waveform peaks) and left
the track ``processing``. What remains (the embedded cover, the player colour) runs on a small
pool (its CPU work on real threads, off gevent's event loop) so the web worker answers as soon as the upload is accepted. The state lives in the
database: a job claims a track by setting ``claimed_at`` in one atomic UPDATE; a sweep at start-up
and every ``TRACKS_SWEEP_SECONDS`` re-queues tracks whose claim is older than the lease, so a
track never stays ``processing`` after a crash, and several workers never process one track twice.
"""
from __future__ import annotations

import io
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from flask import Flask, current_app
from mutagen import File as MutagenFile
from PIL import Image as PILImage
from sqlalchemy import or_, select, update

from concurrency import run_off_loop
from extensions import db
from media.inspection import _embedded_cover
from media.storage import get_storage
from models.tracks import Track, TrackStatus

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="track-processing")
_started: set[int] = set()
_lock = threading.Lock()


def enqueue(app: Flask, track_id) -> None:
    _executor.submit(_run_in_app, app, track_id)


def _run_in_app(app: Flask, track_id) -> None:
    with app.app_context():
        try:
            process_track(track_id)
        except Exception:  # noqa: BLE001 - the sweep retries; the track records the failure
            log.exception("Processing track %s failed", track_id)
            db.session.rollback()


def _claim(track_id) -> bool:
    lease = timedelta(seconds=current_app.config["TRACKS_PROCESSING_LEASE_SECONDS"])
    now = datetime.now(UTC)
    claimed = db.session.execute(
        update(Track)
        .where(Track.id == track_id, Track.status == TrackStatus.processing, or_(Track.claimed_at.is_(None), Track.claimed_at < now - lease))
        .values(claimed_at=now, processing_attempts=Track.processing_attempts + 1)
    ).rowcount
    db.session.commit()
    return bool(claimed)


def process_track(track_id) -> None:
    if not _claim(track_id):
        return  # another worker has it, or it is no longer processing
    track = db.session.get(Track, track_id, populate_existing=True)
    storage = get_storage()
    if track.audio_key is None or not storage.exists(track.audio_key):
        _fail(track, "The uploaded audio file is missing.")
        return
    if track.processing_attempts > MAX_ATTEMPTS:
        _fail(track, "Processing failed repeatedly.")
        return
    if track.uploaded_cover_key is None and track.embedded_cover_key is None:
        with storage.local_path(track.audio_key) as audio_path:
            cover, mimetype = run_off_loop(lambda path: _embedded_cover(MutagenFile(path)), audio_path)
        if cover:
            extension = {"image/png": "png", "image/webp": "webp", "image/gif": "gif"}.get(mimetype or "", "jpg")
            key = f"tracks/{track.id}/cover-embedded.{extension}"
            storage.put_bytes(cover, key)
            track.embedded_cover_key, track.embedded_cover_mimetype = key, mimetype or "image/jpeg"
            track.cover_key, track.cover_mimetype = key, track.embedded_cover_mimetype
    track.cover_color = run_off_loop(_dominant_color, storage.read_bytes(track.cover_key)) if track.cover_key else None
    track.status, track.claimed_at, track.error_reason = TrackStatus.ready, None, None
    db.session.commit()


def _fail(track: Track, reason: str) -> None:
    track.status, track.error_reason, track.claimed_at = TrackStatus.error, reason, None
    db.session.commit()


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
    """Re-queue every track whose processing was never finished (crash, restart, lost thread)."""
    with app.app_context():
        lease = timedelta(seconds=app.config["TRACKS_PROCESSING_LEASE_SECONDS"])
        stale = datetime.now(UTC) - lease
        ids = list(
            db.session.scalars(
                select(Track.id).where(Track.status == TrackStatus.processing, or_(Track.claimed_at.is_(None), Track.claimed_at < stale))
            )
        )
        db.session.remove()
    for track_id in ids:
        enqueue(app, track_id)
    return len(ids)


def start_sweeper(app: Flask) -> None:
    """Once per process: sweep now, then periodically."""
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
