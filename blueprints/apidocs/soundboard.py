"""The soundboard's JSON routes, kept by hand: they answer as megumin.love's server does (its
code lives in blueprints/soundboard/, its upload is the spec document shared/spec/soundboard-upload.txt),
and the limits below are read from there."""
from __future__ import annotations

from blueprints.apidocs.openapi import PUBLIC, SOUNDBOARD_ADMIN, add, error_responses, json_body, json_response, operation, query, ref
from blueprints.common.input_guard import ID_MAX
from blueprints.soundboard import services
from blueprints.soundboard.api import CONFIG_ROUTES
from models.soundboard import DEFAULT_THEME, NO_SOURCE

ERROR = "SoundboardError"
TAG = "Soundboard"
COUNT = {"type": "integer", "minimum": 0}
FILENAME = {"type": "string", "pattern": services.FILENAME.pattern}
THEME = {"type": "string", "pattern": services.THEME.pattern}
TEXT = {"type": "string", "maxLength": 128}
ID = {"type": "integer", "minimum": 1, "maximum": ID_MAX}
SAFE_INT = {"type": "integer", "minimum": -(10**18) + 1, "maximum": 10**18 - 1}
# Epoch milliseconds from 1970 to the end of year 9999, the range a timestamp column holds everywhere.
EPOCH_MS = {"type": "integer", "minimum": 0, "maximum": 253402300799999}
# The original's pages send numbers as text ("42"), in JSON bodies as in forms.
INTEGER_TEXT = {"type": "string", "pattern": "^[+-]?[0-9]{1,18}$"}
MESSAGES = {
    "login": "Successfully logged in!",
    "logout": "Successfully logged out!",
    "upload": "Sound successfully uploaded.",
    "modify": "Sound successfully modified.",
    "delete": "Sound successfully deleted.",
    "milestone_add": "Milestone successfully added.",
    "milestone_modify": "Milestone successfully modified.",
    "milestone_delete": "Milestone successfully deleted.",
    "notification": "Notification sent.",
    "save": "Database successfully updated.",
}
SOUND_EXAMPLE = {"id": 42, "filename": "laugh", "displayname": "hahaha", "source": "Season 2", "count": 0, "theme": DEFAULT_THEME}
MILESTONE_EXAMPLE = {"id": 3, "count": 10000, "reached": 1, "timestamp": 1550247538345, "sound_id": 42}


def _object(properties: dict, required: list[str] | None = None) -> dict:
    return {"type": "object", "properties": properties, "required": list(properties) if required is None else required, "additionalProperties": False}


def _done(message: str, **extra) -> dict:
    return _object({"code": {"const": 200}, "message": {"const": message}, **extra})


def _number(schema: dict) -> dict:
    """A JSON number, or the same as text."""
    return {"anyOf": [schema, INTEGER_TEXT]}


def _setting(allows_off: bool) -> dict:
    """A live setting: a positive whole number, or -1 for "no limit" where the setting has one."""
    positive = {"type": "integer", "minimum": 1, "maximum": services.MAX_SETTING}
    return {"anyOf": [positive, {"const": services.NO_LIMIT}]} if allows_off else positive


def schemas() -> dict[str, dict]:
    return {
        ERROR: _object({"code": {"type": "integer"}, "name": {"type": "string"}, "message": {"type": "string"}}),
        "Sound": _object({
            "id": {"type": "integer"},
            "filename": FILENAME,
            "displayname": {"type": ["string", "null"], "maxLength": 128},
            "source": {**TEXT, "minLength": 1, "description": f'"{NO_SOURCE}" for a sound without one (shown only on the big button).'},
            "count": COUNT,
            "theme": THEME,
        }),
        "Milestone": _object({
            "id": {"type": "integer"},
            "count": {"type": "integer"},
            "reached": {"enum": [0, 1]},
            "timestamp": {"type": ["integer", "null"], "description": "When it was reached, in milliseconds since 1970 (UTC)."},
            "sound_id": {"type": ["integer", "null"], "description": "The sound whose click reached it."},
        }),
        "SoundboardConfig": _object({
            "updateInterval": {"type": "integer", "minimum": 1},
            "socketConnections": _setting(True),
            "requestsPerMinute": _setting(True),
            "responseInterval": _setting(True),
        }),
    }


COUNT_FILTERS = [
    query("equals", SAFE_INT, "Only rows with exactly this count (0: no filter); wins over over/under."),
    query("over", SAFE_INT, "Only rows with a count above this (0: no filter)."),
    query("under", SAFE_INT, "Only rows with a count below this (0: no filter); over may not exceed it."),
]
DAY = {"type": "string", "format": "date"}
MONTH = {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$"}


def _public(paths: dict) -> None:
    statistic = _object({"id": {"type": "integer"}, "date": DAY, "count": COUNT})
    summary = _object({name: COUNT for name in ("alltime", "daily", "weekly", "monthly", "yearly", "average")})
    public = {
        "/api/meta": ("sb_meta", "The port the server listens on and its version",
                      _object({"port": {"type": "integer", "minimum": 0}, "version": {"type": "string", "pattern": "^[0-9]+\\.[0-9]+\\.[0-9]+$"}}), [],
                      {"port": 5000, "version": "1.0.0"}),
        "/api/counter": ("sb_counter", "The global click counter", _object({"counter": COUNT}), [], {"counter": 1337}),
        "/api/sounds": ("sb_sounds", "Every sound, by id", {"type": "array", "items": ref("Sound")},
                        [query("theme", {"type": "string"}, "Only this theme."),
                         query("source", {"type": "string"}, "Only this source, in any case (never the sounds without one)."), *COUNT_FILTERS],
                        [SOUND_EXAMPLE]),
        "/api/themes": ("sb_themes", "The themes in use", {"type": "array", "items": {"type": "string"}}, [], ["aqua", DEFAULT_THEME]),
        "/api/statistics": ("sb_statistics", "Clicks per day, by date", {"type": "array", "items": statistic},
                            [query("from", DAY, "From this day (yyyy-MM-dd), not after the latest day."),
                             query("to", DAY, "Up to this day (yyyy-MM-dd), not after the latest day nor before from."), *COUNT_FILTERS],
                            [{"id": 1, "date": "2024-05-01", "count": 120}]),
        "/api/statistics/summary": ("sb_summary", "Clicks today, this week, month, year and ever; average: this month's clicks per day with statistics, rounded",
                                    summary, [], {"alltime": 26462, "daily": 3, "weekly": 40, "monthly": 26462, "yearly": 26462, "average": 4410}),
        "/api/statistics/chartData": ("sb_chart", "Clicks per month with statistics, by month", {"type": "array", "items": _object({"month": MONTH, "count": COUNT})},
                                      [query("from", MONTH, "From this month (yyyy-MM)."), query("to", MONTH, "Up to this month (yyyy-MM), not before from."), *COUNT_FILTERS],
                                      [{"month": "2024-05", "count": 120}]),
        "/api/statistics/milestones": ("sb_milestones", "Milestones, by id", {"type": "array", "items": ref("Milestone")},
                                       [query("reached", {"enum": [0, 1]}, "Only reached (1) or unreached (0) ones; a value that is not a number is ignored."),
                                        query("sound_id", ID, "Only the ones this sound reached; a value that is not a number is ignored.")],
                                       [MILESTONE_EXAMPLE]),
    }
    for url, (operation_id, summary_text, schema, parameters, example) in public.items():
        add(paths, url, "get", operation(
            operation_id, summary_text, TAG, {"200": json_response(schema, example=example), **error_responses(ERROR, 400)}, parameters=parameters,
        ))
    add(paths, "/api/soundboard/click", "post", operation(
        "sb_click", "Count a click: the big button (click) or a sound on the board (sbClick); rate limited per address", TAG,
        {"200": json_response(_object({"counter": COUNT, "sound": _object({"filename": FILENAME, "count": COUNT})}, ["counter"]),
                              example={"counter": 1338, "sound": {"filename": "laugh", "count": 12}}),
         **error_responses(ERROR, 400, 413)},
        body=json_body(_object({"type": {"enum": ["click", "sbClick"], "default": "click"}, "soundFilename": FILENAME}, ["soundFilename"]),
                       form=True, example={"type": "sbClick", "soundFilename": "laugh"}),
        security=PUBLIC,
        description="Anonymous. soundFilename must name an existing sound (400 otherwise); sound is answered for sbClick. "
                    "Pages click over the WebSocket at /ws (or /) instead.",
    ))
    add(paths, "/api/login", "post", operation(
        "sb_login", "Log in with the soundboard admin token: the session may then call the admin routes", TAG,
        {"200": json_response(_done(MESSAGES["login"]), example={"code": 200, "message": MESSAGES["login"]}), **error_responses(ERROR, 400, 401, 413)},
        body=json_body(_object({"token": {"type": "string"}}), form=True, example={"token": "the SOUNDBOARD_ADMIN_TOKEN"}),
        security=PUBLIC,
    ))


def _admin(paths: dict) -> None:
    upload = {
        "type": "object",
        "properties": {
            "file": {"type": "string", "format": "binary"},
            "filename": FILENAME,
            "displayname": TEXT,
            "source": TEXT,
            "count": {"type": "string", "pattern": "^[0-9]{1,15}$"},
            "theme": THEME,
        },
        "required": ["file", "filename"],
    }
    for url in ("/admin/sounds/upload", "/api/admin/sounds/upload"):
        add(paths, url, "post", operation(
            "sb_upload" if url.startswith("/admin") else "sb_upload_api", "Upload a sound (an MP3)", TAG,
            {"200": json_response(_done(MESSAGES["upload"], sound=ref("Sound")), example={"code": 200, "message": MESSAGES["upload"], "sound": SOUND_EXAMPLE}),
             **error_responses(ERROR, 400, 401, 403, 413)},
            body={"required": True, "content": {"multipart/form-data": {"schema": upload}}},
            security=SOUNDBOARD_ADMIN,
        ))
    sound_modify = _object({
        "id": _number(ID),
        "filename": FILENAME,
        "displayname": {"type": ["string", "null"], "maxLength": 128},
        "source": {"type": ["string", "null"], "maxLength": 128, "description": f'Empty or null: "{NO_SOURCE}".'},
        "count": _number({"type": "integer", "minimum": 0, "maximum": 10**15 - 1}),
        "theme": THEME,
    }, ["id"])
    milestone_count = _number({"type": "integer", "minimum": 1, "maximum": services.INT64_MAX})
    milestone_fields = {
        "count": milestone_count,
        "reached": _number({"enum": [0, 1]}),
        "timestamp": {"anyOf": [EPOCH_MS, INTEGER_TEXT, {"type": "null"}, {"const": ""}], "description": "Milliseconds since 1970; null or empty clears it."},
        "sound_id": {"anyOf": [ID, INTEGER_TEXT, {"type": "null"}, {"const": ""}], "description": "An existing sound; null or empty clears it."},
    }
    by_id = _object({"id": _number(ID)}, [])
    notification = _object({
        "text": {"type": "string", "minLength": 1, "maxLength": services.MAX_NOTIFICATION_TEXT, "pattern": "\\S"},
        "duration": _number({"type": "integer", "minimum": 1, "maximum": services.MAX_NOTIFICATION_SECONDS}),
    })
    deleted_sound = _done(MESSAGES["delete"], sound=ref("Sound"))
    deleted_milestone = _done(MESSAGES["milestone_delete"], milestone=ref("Milestone"))
    admin = (
        ("/api/admin/sounds/modify", "patch", "sb_sound_modify", "Change any of a sound's fields", json_body(sound_modify, form=True),
         _done(MESSAGES["modify"], sound=ref("Sound")), [], (404, 413)),
        ("/api/admin/sounds/delete", "delete", "sb_sound_delete", "Delete a sound (id in the body, or in the query without a body); answers with it",
         json_body(by_id, required=False, form=True), deleted_sound, [query("id", ID)], (404, 413)),
        ("/api/admin/milestones/add", "post", "sb_milestone_add", "Add a milestone (not reached unless said so)",
         json_body(_object(milestone_fields, ["count"]), form=True, example={"count": "10000"}), _done(MESSAGES["milestone_add"], milestone=ref("Milestone")), [], (413,)),
        ("/api/admin/milestones/modify", "patch", "sb_milestone_modify", "Change any of a milestone's fields",
         json_body(_object({"id": _number(ID), **milestone_fields}, ["id"]), form=True, example={"id": "3", "reached": "1"}),
         _done(MESSAGES["milestone_modify"], milestone=ref("Milestone")), [], (404, 413)),
        ("/api/admin/milestones/delete", "delete", "sb_milestone_delete", "Delete a milestone (id in the body, or in the query without a body); answers with it",
         json_body(by_id, required=False, form=True), deleted_milestone, [query("id", ID)], (404, 413)),
        ("/api/admin/notification", "post", "sb_notification", "Show a notification on every open soundboard page for duration seconds",
         json_body(notification, form=True, example={"text": "Explosion!", "duration": "5"}),
         _done(MESSAGES["notification"], notification=_object({"text": notification["properties"]["text"], "duration": {"type": "integer"}})), [], (413,)),
        ("/api/admin/logout", "get", "sb_logout", "End the session of /api/login (an account's own login stays)", None, _done(MESSAGES["logout"]), [], ()),
        ("/api/admin/database/save", "get", "sb_database_save", "Save the counts (every click is committed already: nothing to do)", None, _done(MESSAGES["save"]), [], ()),
        ("/api/admin/config", "get", "sb_config", "The live settings in force (-1: no limit)", None, ref("SoundboardConfig"), [], ()),
    )
    for url, method, operation_id, summary, body, result, parameters, codes in admin:
        add(paths, url, method, operation(
            operation_id, summary, TAG, {"200": json_response(result), **error_responses(ERROR, 400, 401, 403, *codes)},
            parameters=parameters, body=body, security=SOUNDBOARD_ADMIN,
        ))
    for name, (setting, field, message) in CONFIG_ROUTES.items():
        value = _setting(services.SETTING_RULES[setting].allows_off)
        add(paths, f"/api/admin/config/{name}", "patch", operation(
            f"sb_config_{name}", f"Change {setting}", TAG,
            {"200": json_response(_done(message, **{field: value})), **error_responses(ERROR, 400, 401, 403, 413)},
            body=json_body(_object({field: {"anyOf": [value, INTEGER_TEXT]}}), form=True), security=SOUNDBOARD_ADMIN,
        ))


def soundboard_part() -> tuple[dict, dict]:
    paths: dict = {}
    _public(paths)
    _admin(paths)
    return paths, schemas()
