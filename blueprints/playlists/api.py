"""The playlist API: management as the spec document says, reading through the shared query layer."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user
from sqlalchemy import and_

from blueprints.common.auth import api_login_required
from blueprints.common.cache import cached_json, versioned_tables
from blueprints.common.query import json_response, list_resources, show_resource
from blueprints.playlists import services
from blueprints.playlists.schemas import PLAYLIST, TRACK
from blueprints.playlists.services import LimitExceeded
from models.playlist import PUBLIC, Playlist, PlaylistTrack

api = Blueprint("playlists_api", __name__)
versioned_tables("playlist", "playlist_track", "playlist_image", "users")


@api.errorhandler(LimitExceeded)
def limit_exceeded(error: LimitExceeded):
    return jsonify({"error": error.message}), 403


def _caller():
    return current_user if current_user.is_authenticated else None


def _playlist_body(playlist: Playlist, status: int = 200):
    body = show_resource(PLAYLIST, Playlist.id == playlist.id, request.args, not_found=services.PLAYLIST_NOT_FOUND)
    return json_response(body, status)


def _json():
    return request.get_json(silent=True)


# --- playlists -------------------------------------------------------------------------------


@api.get("/api/playlist")
@cached_json
def index():
    """Public playlists only: unlisted and private ones never appear in a list or a search."""
    return json_response(list_resources(PLAYLIST, request.args, base_filter=Playlist.visibility == PUBLIC))


@api.get("/api/me/playlist")
@api_login_required
@cached_json
def mine():
    return json_response(
        list_resources(
            PLAYLIST,
            request.args,
            base_filter=Playlist.user_id == current_user.id,
            default_order=[Playlist.created_at.desc(), Playlist.id.desc()],
        )
    )


@api.get("/api/playlist/<hashid>")
@cached_json
def show(hashid: str):
    playlist = services.find_visible(hashid, _caller())
    return _playlist_body(playlist)


@api.post("/api/playlist")
@api_login_required
def store():
    playlist = services.create_playlist(current_user, _json())
    return _playlist_body(playlist, 201)


@api.route("/api/playlist/<hashid>", methods=["PUT", "PATCH"])
@api_login_required
def update(hashid: str):
    playlist = services.find_owned(hashid, current_user)
    services.update_playlist(playlist, _json())
    return _playlist_body(playlist)


@api.delete("/api/playlist/<hashid>")
@api_login_required
def destroy(hashid: str):
    services.delete_playlist(services.find_owned(hashid, current_user))
    return jsonify({"message": "Playlist deleted successfully"})


# --- tracks ----------------------------------------------------------------------------------


def _track_body(track_id: int, status: int = 200):
    body = show_resource(TRACK, PlaylistTrack.id == track_id, request.args, not_found=services.TRACK_NOT_FOUND)
    return json_response(body, status)


@api.get("/api/playlist/<hashid>/track")
@cached_json
def track_index(hashid: str):
    playlist = services.find_visible(hashid, _caller())
    return json_response(list_resources(TRACK, request.args, base_filter=PlaylistTrack.playlist_id == playlist.id))


@api.get("/api/playlist/<hashid>/track/<int:track_id>")
@cached_json
def track_show(hashid: str, track_id: int):
    playlist = services.find_visible(hashid, _caller())
    services.find_track(playlist, track_id)
    return _track_body(track_id)


@api.post("/api/playlist/<hashid>/track")
@api_login_required
def track_store(hashid: str):
    playlist = services.find_owned(hashid, current_user)
    track = services.add_track(playlist, _json())
    return _track_body(track.id, 201)


@api.route("/api/playlist/<hashid>/track/<int:track_id>", methods=["PUT", "PATCH"])
@api_login_required
def track_update(hashid: str, track_id: int):
    playlist = services.find_owned(hashid, current_user)
    services.update_track(playlist, track_id, _json())
    return _track_body(track_id)


@api.delete("/api/playlist/<hashid>/track/<int:track_id>")
@api_login_required
def track_destroy(hashid: str, track_id: int):
    playlist = services.find_owned(hashid, current_user)
    removed = services.remove_track(playlist, track_id)
    return jsonify({"message": services.track_deleted_message(removed["track_id"])})


# --- the playlist in order, from either end (upstream's Playlist/Track Forward and Backward) ---


@api.get("/api/playlist/<hashid>/forward")
@cached_json
def forward(hashid: str):
    playlist = services.find_visible(hashid, _caller())
    return json_response(list_resources(TRACK, request.args, base_filter=PlaylistTrack.playlist_id == playlist.id))


@api.get("/api/playlist/<hashid>/backward")
@cached_json
def backward(hashid: str):
    playlist = services.find_visible(hashid, _caller())
    return json_response(
        list_resources(TRACK, request.args, base_filter=PlaylistTrack.playlist_id == playlist.id, default_order=[PlaylistTrack.position.desc()])
    )


@api.get("/api/playlist/<hashid>/track/<int:track_id>/forward")
@cached_json
def track_forward(hashid: str, track_id: int):
    """The tracks after this one, in order."""
    playlist = services.find_visible(hashid, _caller())
    track = services.find_track(playlist, track_id)
    after = and_(PlaylistTrack.playlist_id == playlist.id, PlaylistTrack.position > track.position)
    return json_response(list_resources(TRACK, request.args, base_filter=after))


@api.get("/api/playlist/<hashid>/track/<int:track_id>/backward")
@cached_json
def track_backward(hashid: str, track_id: int):
    """The tracks before this one, nearest first."""
    playlist = services.find_visible(hashid, _caller())
    track = services.find_track(playlist, track_id)
    before = and_(PlaylistTrack.playlist_id == playlist.id, PlaylistTrack.position < track.position)
    return json_response(list_resources(TRACK, request.args, base_filter=before, default_order=[PlaylistTrack.position.desc()]))


