"""Tracks pages (my collections, a collection, the embed player) and the track media streams."""
from __future__ import annotations

import uuid

from flask import Blueprint, jsonify, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from blueprints.tracks import services
from domain import NotFound
from extensions import db
from media.streaming import serve_media
from models.tracks import Collection, Track, TrackStatus

bp = Blueprint("tracks", __name__)


def _track(track_id: str) -> Track:
    try:
        track = db.session.get(Track, uuid.UUID(track_id))
    except ValueError:
        track = None
    if track is None:
        raise NotFound("Track not found.")
    return track


@bp.get("/media/tracks/<track_id>/audio")
def stream(track_id: str):
    track = _track(track_id)
    if track.status != TrackStatus.ready or not track.audio_key:
        raise NotFound("Track not ready.")
    return serve_media(track.audio_key, track.mimetype or "application/octet-stream", download_name=track.file_name)


@bp.get("/media/tracks/<track_id>/cover")
def cover(track_id: str):
    track = _track(track_id)
    if not track.cover_key:
        raise NotFound("No cover.")
    return serve_media(track.cover_key, track.cover_mimetype or "image/jpeg")


@bp.get("/media/tracks/<track_id>/waveform")
def waveform(track_id: str):
    track = _track(track_id)
    if track.waveform is None:
        raise NotFound("No waveform yet.")
    return jsonify({"track_id": str(track.id), "duration": track.duration, "peaks": track.waveform})


@bp.get("/collections")
@login_required
def collections():
    items, total = services.list_owned(Collection, current_user, {"limit": "200"})
    counts = services.track_counts([c.id for c in items])
    return render_template("tracks/collections.html", collections=items, total=total, counts=counts)


@bp.get("/collections/<collection_id>")
@login_required
def collection(collection_id: str):
    item = services.find_owned(Collection, current_user, collection_id, "collection_id")
    tracks = list(db.session.scalars(select(Track).where(Track.collection_id == item.id).order_by(Track.created_at, Track.id)))
    return render_template("tracks/collection.html", collection=item, tracks=tracks)


@bp.get("/embed/track/<track_id>")
def embed(track_id: str):
    track = _track(track_id)
    if track.status != TrackStatus.ready:
        raise NotFound("This track is not ready to play.")
    # Embeddable anywhere: blueprints/common/security_headers.py lets this endpoint be framed.
    return render_template("tracks/embed.html", track=track)
