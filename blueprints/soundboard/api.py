"""The soundboard's JSON API, answering as the original megumin.love server does (its front-end
works against it unchanged), plus our own HTTP click route."""
from __future__ import annotations

import hmac
import logging
from functools import wraps

from flask import Blueprint, current_app, g, jsonify, request, session
from flask_login import current_user

from blueprints.common.auth import UNSAFE_METHODS, mark_csrf_exempt
from blueprints.soundboard import services
from blueprints.soundboard.live import announce
from blueprints.soundboard.services import SoundboardError, bad_request
from extensions import csrf, db
from version import __version__

log = logging.getLogger(__name__)
api = Blueprint("soundboard_api", __name__)

ADMIN_SESSION_FLAG = "soundboard_admin"  # set by POST /api/login, as the original's session.loggedIn


def _token_matches(given: str | None) -> bool:
    configured = current_app.config.get("SOUNDBOARD_ADMIN_TOKEN")
    if not configured:
        log.warning("Soundboard admin call refused: SOUNDBOARD_ADMIN_TOKEN is not set.")
        return False
    return bool(given) and hmac.compare_digest(given.encode(), configured.encode())


def soundboard_admin(view):
    """``Authorization: <SOUNDBOARD_ADMIN_TOKEN>`` (raw, constant-time compare), the session of
    ``/api/login``, or an admin's account. A page cannot forge the raw header cross-site, so those
    calls skip CSRF (the original's admin page sends no CSRF token). Session calls are checked: by
    their CSRF token, or by the browser's own ``Sec-Fetch-Site: same-origin``, which a page on
    another site cannot send (the original's admin page, logged in by ``/api/login``, relies on it)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        given = request.headers.get("Authorization")
        if given and _token_matches(given):
            return view(*args, **kwargs)
        if session.get(ADMIN_SESSION_FLAG) or (current_user.is_authenticated and current_user.is_admin):
            same_origin = request.headers.get("Sec-Fetch-Site") == "same-origin"
            if request.method in UNSAFE_METHODS and not same_origin and not g.get("auth_via_token") and current_app.config.get("WTF_CSRF_ENABLED", True):
                csrf.protect()
            return view(*args, **kwargs)
        if current_user.is_authenticated:
            raise SoundboardError(403, "Access denied", "Only admins may use this endpoint.")
        raise SoundboardError(401, "Access denied", "Invalid token provided.")

    return mark_csrf_exempt(wrapper)


def _body() -> dict:
    data = request.get_json(silent=True)
    if data is None:
        if request.is_json and request.get_data():
            raise bad_request("The request body is not valid JSON.")
        data = request.form.to_dict()
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object.")
    return data


def _delete_body() -> dict:
    """A DELETE's fields: from its body, or from the query string when it has none."""
    return _body() if request.data or request.form else request.args.to_dict()


# --- public ----------------------------------------------------------------------------------


@api.get("/api/meta")
def meta():
    port = services.parse_integer(request.environ.get("SERVER_PORT"))
    return jsonify({"port": port or 0, "version": __version__})


@api.get("/api/counter")
def counter():
    return jsonify({"counter": services.counter()})


@api.get("/api/sounds")
def sounds():
    return jsonify([services.sound_json(sound) for sound in services.list_sounds(request.args)])


@api.get("/api/themes")
def themes():
    return jsonify(services.themes())


@api.get("/api/statistics")
def statistics():
    return jsonify(services.statistics(request.args))


@api.get("/api/statistics/summary")
def summary():
    return jsonify(services.summary())


@api.get("/api/statistics/chartData")
def chart_data():
    return jsonify(services.chart_data(request.args))


@api.get("/api/statistics/milestones")
def milestones():
    return jsonify([services.milestone_json(m) for m in services.milestone_list(request.args)])


@api.post("/api/login")
@mark_csrf_exempt  # logging in takes the token itself; there is no session yet to protect
def login():
    token = _body().get("token")
    if not isinstance(token, str) or not _token_matches(token):
        raise SoundboardError(401, "Access denied", "Invalid token provided.")
    session[ADMIN_SESSION_FLAG] = True
    return jsonify({"code": 200, "message": "Successfully logged in!"})


# --- admin -----------------------------------------------------------------------------------


@api.get("/api/admin/logout")
@soundboard_admin
def logout():
    session.pop(ADMIN_SESSION_FLAG, None)  # an account's own login is left alone (POST /logout ends it)
    return jsonify({"code": 200, "message": "Successfully logged out!"})


@api.post("/admin/sounds/upload")
@api.post("/api/admin/sounds/upload")
@soundboard_admin
def upload():
    try:
        sound = services.upload_sound(request.form, request.files.get("file"))
    except SoundboardError:
        raise
    except Exception:  # noqa: BLE001 - the spec's own 500 body, never a trace
        db.session.rollback()
        log.exception("Sound upload failed")
        raise SoundboardError(500, "Serverside error", "An unexpected error occurred.") from None
    announce("soundUpload", sound=services.sound_json(sound))
    return jsonify({"code": 200, "message": "Sound successfully uploaded.", "sound": services.sound_json(sound)})


@api.patch("/api/admin/sounds/modify")
@soundboard_admin
def modify():
    sound = services.modify_sound(_body())
    announce("soundModify", sound=services.sound_json(sound))
    return jsonify({"code": 200, "message": "Sound successfully modified.", "sound": services.sound_json(sound)})


@api.delete("/api/admin/sounds/delete")
@soundboard_admin
def delete():
    sound = services.delete_sound(_delete_body().get("id"))
    announce("soundDelete", sound=sound)
    return jsonify({"code": 200, "message": "Sound successfully deleted.", "sound": sound})


@api.post("/api/admin/milestones/add")
@soundboard_admin
def milestone_add():
    milestone = services.milestone_json(services.add_milestone(_body()))
    announce("milestoneAdd", milestone=milestone)
    return jsonify({"code": 200, "message": "Milestone successfully added.", "milestone": milestone})


@api.patch("/api/admin/milestones/modify")
@soundboard_admin
def milestone_modify():
    milestone = services.milestone_json(services.modify_milestone(_body()))
    announce("milestoneModify", milestone=milestone)
    return jsonify({"code": 200, "message": "Milestone successfully modified.", "milestone": milestone})


@api.delete("/api/admin/milestones/delete")
@soundboard_admin
def milestone_delete():
    milestone = services.delete_milestone(_delete_body())
    announce("milestoneDelete", milestone=milestone)
    return jsonify({"code": 200, "message": "Milestone successfully deleted.", "milestone": milestone})


@api.post("/api/admin/notification")
@soundboard_admin
def notification():
    note = services.notification(_body()).as_json()
    announce("notification", notification=note)
    return jsonify({"code": 200, "message": "Notification sent.", "notification": note})


@api.get("/api/admin/database/save")
@soundboard_admin
def database_save():
    # Every click is committed before it is acknowledged: there is never anything left to save.
    return jsonify({"code": 200, "message": "Database successfully updated."})


@api.get("/api/admin/config")
@soundboard_admin
def config():
    return jsonify(services.admin_config())


# path -> (setting, body field and response key, success message), as the original names them
CONFIG_ROUTES = {
    "updateinterval": ("updateInterval", "interval", "Update interval successfully updated"),
    "responseinterval": ("responseInterval", "interval", "Response interval successfully updated"),
    "connectionlimit": ("socketConnections", "connections", "Connection limit successfully updated"),
    "connections": ("socketConnections", "connections", "Connection limit successfully updated"),  # what its admin page calls
    "ratelimit": ("requestsPerMinute", "ratelimit", "Click ratelimit successfully updated"),
}


@api.patch("/api/admin/config/<any(" + ", ".join(CONFIG_ROUTES) + "):name>")
@soundboard_admin
def config_change(name: str):
    setting, field, message = CONFIG_ROUTES[name]
    value = services.change_setting(setting, _body().get(field))
    return jsonify({"code": 200, "message": message, field: value})
