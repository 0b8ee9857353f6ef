"""The soundboard's JSON routes (compatible with the original), kept by hand: its code lives in
blueprints/soundboard/, its upload is the spec document shared/spec/soundboard-upload.txt."""
from __future__ import annotations

from blueprints.apidocs.openapi import PUBLIC, SOUNDBOARD_ADMIN, add, error_responses, json_body, json_response, operation, query, ref

ERROR = "SoundboardError"
TAG = "Soundboard"
COUNT = {"type": "integer", "minimum": 0}
FILENAME = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}
THEME = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,32}$"}
SAFE_INT = {"type": "integer", "minimum": -(10**18) + 1, "maximum": 10**18 - 1}


def _object(properties: dict, required: list[str] | None = None) -> dict:
    return {"type": "object", "properties": properties, "required": list(properties) if required is None else required, "additionalProperties": False}


def _done(**extra) -> dict:
    return _object({"code": {"const": 200}, "message": {"type": "string"}, **extra})


def schemas() -> dict[str, dict]:
    return {
        ERROR: _object({"code": {"type": "integer"}, "name": {"type": "string"}, "message": {"type": "string"}}),
        "Sound": _object({
            "id": {"type": "integer"},
            "filename": FILENAME,
            "displayname": {"type": ["string", "null"]},
            "source": {"type": ["string", "null"]},
            "count": COUNT,
            "theme": THEME,
        }),
        "Milestone": _object({
            "id": {"type": "integer"},
            "count": {"type": "integer", "minimum": 1},
            "reached": {"type": "boolean"},
            "timestamp": {"type": ["string", "null"]},
        }),
    }


COUNT_FILTERS = [
    query("equals", SAFE_INT, "Only rows with exactly this count."),
    query("over", SAFE_INT, "Only rows with a count above this."),
    query("under", SAFE_INT, "Only rows with a count below this (over < under)."),
]
SOUND_MODIFY = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
        "filename": FILENAME,
        "displayname": {"type": ["string", "null"], "maxLength": 128},
        "source": {"type": ["string", "null"], "maxLength": 128},
        "count": {"type": "integer", "minimum": 0, "maximum": 10**15 - 1},
        "theme": THEME,
    },
    "required": ["id"],
}
MILESTONE = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
MILESTONE_ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


def soundboard_part() -> tuple[dict, dict]:
    paths: dict = {}
    public = {
        "/api/counter": ("sb_counter", "The global click counter", _object({"counter": COUNT}), []),
        "/api/sounds": ("sb_sounds", "Every sound", {"type": "array", "items": ref("Sound")},
                        [query("theme", {"type": "string"}), query("source", {"type": "string"}), *COUNT_FILTERS]),
        "/api/themes": ("sb_themes", "The themes in use", {"type": "array", "items": {"type": "string"}}, []),
        "/api/statistics": ("sb_statistics", "Daily click counts", {"type": "array", "items": _object({"id": {"type": "integer"}, "date": {"type": "string", "format": "date"}, "count": COUNT})},
                            [query("from", {"type": "string", "format": "date"}), query("to", {"type": "string", "format": "date"}), *COUNT_FILTERS]),
        "/api/statistics/summary": ("sb_summary", "Clicks today, this week, month, year, ever, and a daily average",
                                    _object({name: COUNT for name in ("alltime", "daily", "weekly", "monthly", "yearly")} | {"average": {"type": "number", "minimum": 0}}), []),
        "/api/statistics/chartData": ("sb_chart", "Clicks per month for the last twelve months", {"type": "array", "items": _object({"month": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}, "count": COUNT})}, []),
        "/api/statistics/milestones": ("sb_milestones", "Milestones, smallest first", {"type": "array", "items": ref("Milestone")}, []),
    }
    for url, (operation_id, summary, schema, parameters) in public.items():
        codes = (400,) if parameters else ()
        add(paths, url, "get", operation(operation_id, summary, TAG, {"200": json_response(schema), **error_responses(ERROR, *codes)}, parameters=parameters))
    add(paths, "/api/soundboard/click", "post", operation(
        "sb_click", "Count a click (the big button, or a sound with sbClick); rate limited per address", TAG,
        {"200": json_response(_object({"counter": COUNT, "sound": _object({"filename": FILENAME, "count": COUNT})}, ["counter"])),
         **error_responses(ERROR, 400, 413)},
        body=json_body({"type": "object", "properties": {"type": {"enum": ["click", "sbClick"], "default": "click"}, "soundFilename": FILENAME}},
                       required=False, form=True, example={"type": "sbClick", "soundFilename": "laugh"}),
        security=PUBLIC, description="Anonymous; also over the WebSocket at /ws.",
    ))
    upload = {
        "type": "object",
        "properties": {
            "file": {"type": "string", "format": "binary"},
            "filename": FILENAME,
            "displayname": {"type": "string", "maxLength": 128},
            "source": {"type": "string", "maxLength": 128},
            "count": {"type": "string", "pattern": "^[0-9]{1,15}$"},
            "theme": THEME,
        },
        "required": ["file", "filename"],
    }
    for url in ("/admin/sounds/upload", "/api/admin/sounds/upload"):
        add(paths, url, "post", operation(
            "sb_upload" if url.startswith("/admin") else "sb_upload_api", "Upload a sound (an MP3)", TAG,
            {"200": json_response(_done(sound=ref("Sound")), example={
                "code": 200,
                "message": "Sound successfully uploaded.",
                "sound": {"id": 42, "filename": "laugh", "displayname": "hahaha", "source": "Season 2", "count": 0, "theme": "megumin"},
            }), **error_responses(ERROR, 400, 401, 413)},
            body={"required": True, "content": {"multipart/form-data": {"schema": upload}}},
            security=SOUNDBOARD_ADMIN,
        ))
    admin = (
        ("/api/admin/sounds/modify", "patch", "sb_sound_modify", "Change a sound", json_body(SOUND_MODIFY, form=True), _done(sound=ref("Sound")), [], (400, 401, 404, 413)),
        ("/api/admin/sounds/delete", "delete", "sb_sound_delete", "Delete a sound (id in the body or the query)",
         json_body({"type": "object", "properties": {"id": MILESTONE_ID}}, required=False, form=True), _done(), [query("id", MILESTONE_ID)], (400, 401, 404, 413)),
        ("/api/admin/milestones/add", "post", "sb_milestone_add", "Add a milestone",
         json_body({"type": "object", "properties": {"count": MILESTONE}, "required": ["count"]}, form=True), _done(milestone=ref("Milestone")), [], (400, 401, 413)),
        ("/api/admin/milestones/modify", "patch", "sb_milestone_modify", "Change a milestone's count",
         json_body({"type": "object", "properties": {"id": MILESTONE_ID, "count": MILESTONE}, "required": ["id", "count"]}, form=True),
         _done(milestone=ref("Milestone")), [], (400, 401, 404, 413)),
        ("/api/admin/milestones/delete", "delete", "sb_milestone_delete", "Delete a milestone (id in the body or the query)",
         json_body({"type": "object", "properties": {"id": MILESTONE_ID}}, required=False, form=True), _done(), [query("id", MILESTONE_ID)], (400, 401, 404, 413)),
        ("/api/admin/notification", "post", "sb_notification", "Show a notification on every open soundboard page",
         json_body({"type": "object", "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 500, "pattern": "\\S"}, "duration": {"type": "integer", "minimum": 1, "maximum": 3600, "default": 10}}, "required": ["text"]}, form=True),
         _done(), [], (400, 401, 413)),
    )
    for url, method, operation_id, summary, body, result, parameters, codes in admin:
        add(paths, url, method, operation(
            operation_id, summary, TAG, {"200": json_response(result), **error_responses(ERROR, *codes)},
            parameters=parameters, body=body, security=SOUNDBOARD_ADMIN,
        ))
    return paths, schemas()
