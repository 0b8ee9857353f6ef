"""Tracks pages (my collections, a collection, the embed player) and the track media streams."""
from __future__ import annotations

import uuid

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from blueprints.common.htmx import render_page, wants_fragment
from blueprints.tracks import processing, services
from domain import DomainError, NotFound, ValidationFailed
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


def _collections_page(status: int = 200, errors: dict | None = None, values: dict | None = None):
    items, total = services.list_owned(Collection, current_user, {"limit": "200"})
    counts = services.track_counts([c.id for c in items])
    return render_template(
        "tracks/collections.html", collections=items, total=total, counts=counts, errors=errors or {}, values=values or {}
    ), status


@bp.get("/collections")
@login_required
def collections():
    return _collections_page()


@bp.post("/collections")
@login_required
def create_collection():
    values = {"title": request.form.get("title", ""), "description": request.form.get("description", "").strip() or None}
    try:
        item = services.create_collection(current_user, values)
    except ValidationFailed as error:
        return _collections_page(422, error.errors, values)
    flash(f"Collection “{item.title}” created: drop audio files on it.", "success")
    return redirect(url_for("tracks.collection", collection_id=item.id), code=303)


def _collection_tracks(item: Collection) -> list[Track]:
    return list(db.session.scalars(select(Track).where(Track.collection_id == item.id).order_by(Track.created_at, Track.id)))


def _render_collection(item: Collection, status: int = 200, **outcome):
    return render_page(
        "tracks/collection.html", "tracks/_track_list.html", status, collection=item, tracks=_collection_tracks(item), **outcome
    )


@bp.get("/collections/<collection_id>")
@login_required
def collection(collection_id: str):
    item = services.find_owned(Collection, current_user, collection_id, "collection_id")
    return _render_collection(item)


@bp.post("/collections/<collection_id>/tracks")
@login_required
def upload(collection_id: str):
    """Files chosen or dropped on the collection page: the list comes back with them in it."""
    item = services.find_owned(Collection, current_user, collection_id, "collection_id")
    files = [f for f in request.files.getlist("file") if f.filename]
    if not files:
        return _render_collection(item, 422, upload_error="Choose one or more audio files first.")
    try:
        created, rejected = services.upload_tracks(current_user, item, files)
    except DomainError as error:
        return _render_collection(item, error.status, upload_error=error.message)
    app = current_app._get_current_object()
    for track in created:
        processing.enqueue(app, track.id)
    message = f"Uploaded {len(created)} file{'s' if len(created) != 1 else ''}: processing." if created else None
    errors = [f"{name}: {reason}" for name, reason in rejected]
    if not wants_fragment():
        for text in ([message] if message else []):
            flash(text, "success")
        for text in errors:
            flash(text, "error")
        return redirect(url_for("tracks.collection", collection_id=item.id), code=303)
    return _render_collection(item, 422 if errors and not created else 200, upload_message=message, upload_errors=errors)


def _owned_track(collection_id: str, track_id: str) -> tuple[Collection, Track]:
    item = services.find_owned(Collection, current_user, collection_id, "collection_id")
    track = services.find_track(current_user, track_id)
    if track.collection_id != item.id:
        raise NotFound("Track not found.")
    return item, track


@bp.post("/collections/<collection_id>/tracks/<track_id>")
@login_required
def update_track(collection_id: str, track_id: str):
    """"Edit player → Save": the track's row comes back saying so, or with the error."""
    item, track = _owned_track(collection_id, track_id)
    data = {
        "player_title": request.form.get("player_title", "").strip() or None,
        "player_subtitle": request.form.get("player_subtitle", "").strip() or None,
        "player_color": request.form.get("player_color", ""),
    }
    try:
        services.update_track(current_user, track, data)
    except ValidationFailed as error:
        db.session.rollback()
        track = services.find_track(current_user, track_id)
        message = " ".join(m for messages in (error.errors or {}).values() for m in messages) or error.message
        if not wants_fragment():
            flash(message, "error")
            return redirect(url_for("tracks.collection", collection_id=item.id), code=303)
        return render_template("tracks/_track_item.html", collection=item, track=track, edit_error=message, edit_open=True), 422
    if not wants_fragment():
        flash("Player saved.", "success")
        return redirect(url_for("tracks.collection", collection_id=item.id), code=303)
    return render_template("tracks/_track_item.html", collection=item, track=track, edit_message="Saved.", edit_open=True)


@bp.post("/collections/<collection_id>/tracks/<track_id>/delete")
@login_required
def delete_track(collection_id: str, track_id: str):
    item, track = _owned_track(collection_id, track_id)
    name = track.display_title
    services.delete_track(track)
    if not wants_fragment():
        flash(f"Track “{name}” deleted.", "success")
        return redirect(url_for("tracks.collection", collection_id=item.id), code=303)
    return _render_collection(item, upload_message=f"Track “{name}” deleted.")


@bp.get("/embed/track/<track_id>")
def embed(track_id: str):
    track = _track(track_id)
    if track.status != TrackStatus.ready:
        raise NotFound("This track is not ready to play.")
    # Embeddable anywhere: blueprints/common/security_headers.py lets this endpoint be framed.
    return render_template("tracks/embed.html", track=track)
