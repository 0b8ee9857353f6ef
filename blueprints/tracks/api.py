"""Tracks v1: `/v1/` collections, creators, tracks and the signed upload endpoints.

Every success body carries ``ok: true`` and the request's ``api_request_id``; errors come from the
app-level handler in the same family format (``blueprints/common/errors.py``).
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request, url_for
from flask_login import current_user

from blueprints.common.auth import api_login_required, mark_csrf_exempt
from blueprints.common.errors import api_request_id
from blueprints.tracks import processing, services
from models.base import isoformat
from models.tracks import Collection, Creator, Track, TrackStatus

api = Blueprint("tracks_api", __name__, url_prefix="/v1")


def ok(**body):
    return jsonify({"ok": True, "api_request_id": api_request_id(), **body})


def collection_json(collection: Collection) -> dict:
    return {
        "collection_id": str(collection.id),
        "title": collection.title,
        "description": collection.description,
        "metadata": collection.meta or {},
        "created_at": isoformat(collection.created_at),
        "updated_at": isoformat(collection.updated_at),
    }


def creator_json(creator: Creator) -> dict:
    return {
        "creator_id": str(creator.id),
        "organization_index": creator.organization_index,
        "name": creator.name,
        "metadata": creator.meta or {},
        "created_at": isoformat(creator.created_at),
        "updated_at": isoformat(creator.updated_at),
    }


def track_json(track: Track) -> dict:
    ready = track.status == TrackStatus.ready
    return {
        "track_id": str(track.id),
        "collection_id": str(track.collection_id),
        "creator_id": str(track.creator_id) if track.creator_id else None,
        "file_name": track.file_name,
        "title": track.title,
        "organization_index": track.organization_index,
        "metadata": track.meta or {},
        "is_cover_overridable": track.is_cover_overridable,
        "is_theme_overridable": track.is_theme_overridable,
        "player_title": track.player_title,
        "player_subtitle": track.player_subtitle,
        "player_color": track.effective_color,
        "status": track.status.value,
        "error": track.error_reason,
        "duration": track.duration,
        "size": track.size,
        "mimetype": track.mimetype,
        "stream_url": url_for("tracks.stream", track_id=track.id, _external=True) if ready else None,
        "cover_url": url_for("tracks.cover", track_id=track.id, _external=True) if track.cover_key else None,
        "waveform_url": url_for("tracks.waveform", track_id=track.id, _external=True) if track.audio_key else None,
        "created_at": isoformat(track.created_at),
        "updated_at": isoformat(track.updated_at),
    }


# --- collections -----------------------------------------------------------------------------


@api.get("/collection")
@api_login_required
def collection_index():
    items, total = services.list_owned(Collection, current_user, request.args)
    return ok(count=total, collections=[collection_json(c) for c in items])


@api.post("/collection")
@api_login_required
def collection_create():
    collection = services.create_collection(current_user, request.get_json(silent=True))
    return ok(collection_id=str(collection.id), collection=collection_json(collection))


@api.get("/collection/<collection_id>")
@api_login_required
def collection_show(collection_id: str):
    collection = services.find_owned(Collection, current_user, collection_id, "collection_id")
    return ok(collection_id=str(collection.id), collection=collection_json(collection))


@api.put("/collection/<collection_id>")
@api_login_required
def collection_update(collection_id: str):
    collection = services.find_owned(Collection, current_user, collection_id, "collection_id")
    services.update_collection(collection, request.get_json(silent=True))
    return ok(collection_id=str(collection.id), collection=collection_json(collection))


@api.delete("/collection/<collection_id>")
@api_login_required
def collection_delete(collection_id: str):
    collection = services.find_owned(Collection, current_user, collection_id, "collection_id")
    body = collection_json(collection)
    services.delete_collection(collection)
    return ok(collection_id=body["collection_id"], deleted_collection=body)


@api.get("/collection/<collection_id>/track")
@api_login_required
def collection_tracks(collection_id: str):
    collection = services.find_owned(Collection, current_user, collection_id, "collection_id")
    from blueprints.tracks import validation

    limit, offset = validation.page(request.args)
    tracks, total = services.collection_tracks(collection, limit, offset)
    return ok(count=total, tracks=[track_json(t) for t in tracks])


# --- creators --------------------------------------------------------------------------------


@api.get("/creator")
@api_login_required
def creator_index():
    items, total = services.list_owned(Creator, current_user, request.args)
    return ok(count=total, creators=[creator_json(c) for c in items])


@api.post("/creator")
@api_login_required
def creator_create():
    creator = services.create_creator(current_user, request.get_json(silent=True))
    return ok(creator_id=str(creator.id), creator=creator_json(creator))


@api.get("/creator/<creator_id>")
@api_login_required
def creator_show(creator_id: str):
    creator = services.find_owned(Creator, current_user, creator_id, "creator_id")
    return ok(creator_id=str(creator.id), creator=creator_json(creator))


@api.put("/creator/<creator_id>")
@api_login_required
def creator_update(creator_id: str):
    creator = services.find_owned(Creator, current_user, creator_id, "creator_id")
    services.update_creator(creator, request.get_json(silent=True))
    return ok(creator_id=str(creator.id), creator=creator_json(creator))


@api.delete("/creator/<creator_id>")
@api_login_required
def creator_delete(creator_id: str):
    creator = services.find_owned(Creator, current_user, creator_id, "creator_id")
    body = creator_json(creator)
    services.delete_creator(creator)
    return ok(creator_id=body["creator_id"], deleted_creator=body)


# --- tracks (the spec's five endpoints) ------------------------------------------------------


@api.get("/track/<track_id>")
@api_login_required
def track_show(track_id: str):
    track = services.find_track(current_user, track_id)
    return ok(track_id=str(track.id), track=track_json(track))


@api.post("/track")
@api_login_required
def track_create():
    track = services.create_track(current_user, request.get_json(silent=True))
    return ok(track_id=str(track.id), track=track_json(track), **services.presigned_uploads(track))


@api.put("/track/<track_id>")
@api_login_required
def track_update(track_id: str):
    track = services.find_track(current_user, track_id)
    services.update_track(current_user, track, request.get_json(silent=True))
    return ok(track_id=str(track.id), track=track_json(track))


@api.delete("/track/<track_id>")
@api_login_required
def track_delete(track_id: str):
    track = services.find_track(current_user, track_id)
    body = track_json(track)
    services.delete_track(track)
    return ok(track_id=body["track_id"], deleted_track=body)


# --- signed uploads (no bearer token: the signature is the authority) ------------------------


@api.put("/upload/<track_id>/audio")
@mark_csrf_exempt
def upload_audio(track_id: str):
    track = services.receive_audio(track_id, request.args.get("signature"), request.stream)
    processing.enqueue(current_app._get_current_object(), track.id)
    return ok(track_id=str(track.id), track=track_json(track))


@api.post("/upload/<track_id>/cover")
@mark_csrf_exempt
def upload_cover(track_id: str):
    track = services.receive_cover(track_id, request.args.get("signature"), request.files.get("file"))
    return ok(track_id=str(track.id), track=track_json(track))
