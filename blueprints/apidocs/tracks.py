"""Tracks v1 (``/v1/``), kept by hand beside the spec document (shared/spec/tracks-v1.txt): its
bodies are built by the serializers in blueprints/tracks/api.py and checked by
blueprints/tracks/validation.py, whose limits are read from there."""
from __future__ import annotations

from blueprints.apidocs.openapi import PUBLIC, SIGNED_IN, add, error_responses, json_body, json_response, nullable, operation, path, query, ref
from blueprints.tracks import validation

ERROR = "TracksError"
TAG = "Tracks v1"
UUID = {"type": "string", "format": "uuid"}
TIMESTAMP = {"type": "string", "format": "date-time"}
TEXT = {"type": "string", "maxLength": validation.MAX_STRING}
METADATA = {"type": "object", "description": "Any JSON object, kept as given."}
EXAMPLE_ID = "123e4567-e89b-12d3-a456-426614174000"


def _object(properties: dict, required: list[str] | None = None) -> dict:
    return {"type": "object", "properties": properties, "required": list(properties) if required is None else required, "additionalProperties": False}


def _envelope(**properties) -> dict:
    """Every success body: ok, the request id, then the operation's own keys."""
    return _object({"ok": {"const": True}, "api_request_id": UUID, **properties})


def schemas() -> dict[str, dict]:
    upload = _object({"method": {"enum": ["PUT", "POST"]}, "upload_url": {"type": "string", "format": "uri"}, "ttl": {"type": "integer"}, "expires_at": TIMESTAMP})
    return {
        ERROR: {
            "type": "object",
            "properties": {
                "ok": {"const": False},
                "message": {"type": "string"},
                "api_request_id": UUID,
                "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            },
            "required": ["ok", "message", "api_request_id"],
            "additionalProperties": False,
        },
        "Collection": _object({
            "collection_id": UUID,
            "title": {"type": "string"},
            "description": {"type": ["string", "null"]},
            "metadata": METADATA,
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
        }),
        "Creator": _object({
            "creator_id": UUID,
            "organization_index": {"type": "string"},
            "name": {"type": ["string", "null"]},
            "metadata": METADATA,
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
        }),
        "Track": _object({
            "track_id": UUID,
            "collection_id": UUID,
            "creator_id": nullable(UUID),
            "file_name": {"type": "string"},
            "title": {"type": ["string", "null"]},
            "organization_index": {"type": ["string", "null"]},
            "metadata": METADATA,
            "is_cover_overridable": {"type": "boolean"},
            "is_theme_overridable": {"type": "boolean"},
            "player_title": {"type": ["string", "null"]},
            "player_subtitle": {"type": ["string", "null"]},
            "player_color": {"type": ["string", "null"], "pattern": "^#[0-9A-F]{6}$"},
            "status": {"enum": ["awaiting_upload", "processing", "ready", "error"]},
            "error": {"type": ["string", "null"]},
            "duration": {"type": ["number", "null"]},
            "size": {"type": ["integer", "null"]},
            "mimetype": {"type": ["string", "null"]},
            "stream_url": {"type": ["string", "null"], "format": "uri"},
            "cover_url": {"type": ["string", "null"], "format": "uri"},
            "waveform_url": {"type": ["string", "null"], "format": "uri"},
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
        }),
        "PresignedUpload": upload,
    }


COLLECTION_WRITE = {
    "type": "object",
    "properties": {
        "title": {**TEXT, "pattern": "\\S"},
        "description": {"type": ["string", "null"], "maxLength": validation.MAX_DESCRIPTION},
        "metadata": nullable(METADATA),
    },
}
CREATOR_WRITE = {
    "type": "object",
    "properties": {"organization_index": {**TEXT, "pattern": "\\S"}, "name": nullable(TEXT), "metadata": nullable(METADATA)},
}
TRACK_FIELDS = {
    "creator_id": nullable(UUID),
    "organization_index": nullable(TEXT),
    "metadata": nullable(METADATA),
    "is_cover_overridable": {"type": "boolean"},
    "is_theme_overridable": {"type": "boolean"},
    "player_title": nullable(TEXT),
    "player_subtitle": nullable(TEXT),
    "player_color": {"type": ["string", "null"], "pattern": "^(#[0-9A-Fa-f]{6})?$"},
}
PAGE = [
    query("limit", {"type": "integer", "minimum": 1, "maximum": validation.MAX_LIMIT, "default": validation.DEFAULT_LIMIT}),
    query("offset", {"type": "integer", "minimum": 0, "maximum": validation.MAX_OFFSET, "default": 0}),
]


def tracks_part() -> tuple[dict, dict]:
    paths: dict = {}
    for name, plural, write, required in (
        ("collection", "collections", COLLECTION_WRITE, ["title"]),
        ("creator", "creators", CREATOR_WRITE, ["organization_index"]),
    ):
        title = name.title()
        item_id = path(f"{name}_id", UUID, f"The {name}'s id.")
        one = _envelope(**{f"{name}_id": UUID, name: ref(title)})
        add(paths, f"/v1/{name}", "get", operation(
            f"v1_{name}_index", f"List your {plural} (newest first) with the total count", TAG,
            {"200": json_response(_envelope(count={"type": "integer", "minimum": 0}, **{plural: {"type": "array", "items": ref(title)}})),
             **error_responses(ERROR, 400, 401)},
            parameters=PAGE, security=SIGNED_IN,
        ))
        example = {"title": "Demo tapes", "description": "First takes", "metadata": {"label": "home"}} if name == "collection" else None
        add(paths, f"/v1/{name}", "post", operation(
            f"v1_{name}_create", f"Create a {name}", TAG,
            {"200": json_response(one), **error_responses(ERROR, 400, 401, 413)},
            body=json_body({**write, "required": required}, example=example), security=SIGNED_IN,
        ))
        add(paths, f"/v1/{name}/{{{name}_id}}", "get", operation(
            f"v1_{name}_show", f"Show one of your {plural}", TAG,
            {"200": json_response(one), **error_responses(ERROR, 400, 401, 404)}, parameters=[item_id], security=SIGNED_IN,
        ))
        add(paths, f"/v1/{name}/{{{name}_id}}", "put", operation(
            f"v1_{name}_update", f"Update one of your {plural} (only the fields sent)", TAG,
            {"200": json_response(one), **error_responses(ERROR, 400, 401, 404, 413)},
            parameters=[item_id], body=json_body(write), security=SIGNED_IN,
        ))
        add(paths, f"/v1/{name}/{{{name}_id}}", "delete", operation(
            f"v1_{name}_delete", f"Delete one of your {plural}" + (" and its tracks" if name == "collection" else ""), TAG,
            {"200": json_response(_envelope(**{f"{name}_id": UUID, f"deleted_{name}": ref(title)})), **error_responses(ERROR, 400, 401, 404)},
            parameters=[item_id], security=SIGNED_IN,
        ))
    add(paths, "/v1/collection/{collection_id}/track", "get", operation(
        "v1_collection_tracks", "List a collection's tracks", TAG,
        {"200": json_response(_envelope(count={"type": "integer", "minimum": 0}, tracks={"type": "array", "items": ref("Track")})),
         **error_responses(ERROR, 400, 401, 404)},
        parameters=[path("collection_id", UUID), *PAGE], security=SIGNED_IN,
    ))
    track_id = path("track_id", UUID, "The track's id.")
    one_track = _envelope(track_id=UUID, track=ref("Track"))
    add(paths, "/v1/track", "post", operation(
        "v1_track_create", "Create a track and get its signed upload URLs", TAG,
        {"200": json_response(_envelope(track_id=UUID, track=ref("Track"), track_upload=ref("PresignedUpload"), track_cover_upload=ref("PresignedUpload"))),
         **error_responses(ERROR, 400, 401, 413)},
        body=json_body(
            {
                "type": "object",
                "properties": {"collection_id": UUID, "file_name": {**TEXT, "minLength": 1, "description": "A plain file name: no path separators or control characters."}, **TRACK_FIELDS},
                "required": ["collection_id", "file_name"],
            },
            example={"collection_id": EXAMPLE_ID, "file_name": "my-audio-track.mp3", "metadata": {"artist": "John Doe", "album": "My Album"}, "player_title": "Track Title"},
        ),
        security=SIGNED_IN,
    ))
    add(paths, "/v1/track/{track_id}", "get", operation(
        "v1_track_show", "Show one of your tracks", TAG,
        {"200": json_response(one_track), **error_responses(ERROR, 400, 401, 404)}, parameters=[track_id], security=SIGNED_IN,
    ))
    add(paths, "/v1/track/{track_id}", "put", operation(
        "v1_track_update", "Update a track (only the fields sent)", TAG,
        {"200": json_response(one_track), **error_responses(ERROR, 400, 401, 404, 413)},
        parameters=[track_id], body=json_body({"type": "object", "properties": {**TRACK_FIELDS, "title": nullable(TEXT)}}), security=SIGNED_IN,
    ))
    add(paths, "/v1/track/{track_id}", "delete", operation(
        "v1_track_delete", "Delete a track and its files", TAG,
        {"200": json_response(_envelope(track_id=UUID, deleted_track=ref("Track"))), **error_responses(ERROR, 400, 401, 404)},
        parameters=[track_id], security=SIGNED_IN,
    ))
    signature = {**query("signature", {"type": "string"}, "From the signed URL that POST /v1/track returned."), "required": True}
    add(paths, "/v1/upload/{track_id}/audio", "put", operation(
        "v1_upload_audio", "Upload the track's audio to its signed URL (once)", TAG,
        {"200": json_response(one_track), **error_responses(ERROR, 400, 403, 404, 409, 413)},
        parameters=[path("track_id", {"type": "string"}), signature],
        body={"required": True, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
        security=PUBLIC,
        description=(
            "The signature is the authority: no token. MP3, Ogg Vorbis/Opus or FLAC, judged by content. The URL is spent "
            "only when the upload is accepted; 409 (with Retry-After) while another request's upload to it is under way."
        ),
    ))
    add(paths, "/v1/upload/{track_id}/cover", "post", operation(
        "v1_upload_cover", "Upload the track's cover to its signed URL (once)", TAG,
        {"200": json_response(one_track), **error_responses(ERROR, 400, 403, 404, 409, 413)},
        parameters=[path("track_id", {"type": "string"}), signature],
        body={"required": True, "content": {"multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}, "required": ["file"]}}}},
        security=PUBLIC,
    ))
    return paths, schemas()
