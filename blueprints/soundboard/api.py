"""The soundboard's JSON API, compatible with the original's (clicks are in live_views.py)."""
from __future__ import annotations

import hmac
import logging
from functools import wraps

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user
from sqlalchemy import select

from blueprints.soundboard import services
from blueprints.soundboard.live import announce
from blueprints.soundboard.services import SoundboardError, bad_request
from extensions import db
from models.soundboard import Sound

log = logging.getLogger(__name__)
api = Blueprint("soundboard_api", __name__)


def admin_token_or_session(view):
    """``Authorization: <SOUNDBOARD_ADMIN_TOKEN>`` (raw, constant-time compare), or an admin's session."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_user.is_authenticated and current_user.is_admin:
            return view(*args, **kwargs)
        configured = current_app.config.get("SOUNDBOARD_ADMIN_TOKEN")
        given = request.headers.get("Authorization", "")
        if not configured:
            log.warning("Soundboard admin call refused: SOUNDBOARD_ADMIN_TOKEN is not set.")
        if not configured or not given or not hmac.compare_digest(given.encode(), configured.encode()):
            raise SoundboardError(401, "Access denied", "Invalid token provided.")
        return view(*args, **kwargs)

    return wrapper


def _body() -> dict:
    data = request.get_json(silent=True)
    if data is None:
        if request.is_json and request.get_data():
            raise bad_request("The request body is not valid JSON.")
        data = request.form.to_dict()
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object.")
    return data


# --- public ----------------------------------------------------------------------------------


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
    return jsonify(services.chart_data())


@api.get("/api/statistics/milestones")
def milestones():
    return jsonify([services.milestone_json(m) for m in services.milestones()])


# --- admin -----------------------------------------------------------------------------------


@api.post("/admin/sounds/upload")
@api.post("/api/admin/sounds/upload")
@admin_token_or_session
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
@admin_token_or_session
def modify():
    sound = services.modify_sound(_body())
    announce("soundModify", sound=services.sound_json(sound))
    return jsonify({"code": 200, "message": "Sound successfully modified.", "sound": services.sound_json(sound)})


@api.delete("/api/admin/sounds/delete")
@admin_token_or_session
def delete():
    data = _body() if request.data or request.form else request.args.to_dict()
    sound = services.delete_sound(data.get("id"))
    announce("soundDelete", sound=services.sound_json(sound))
    return jsonify({"code": 200, "message": "Sound successfully deleted."})


@api.post("/api/admin/milestones/add")
@admin_token_or_session
def milestone_add():
    milestone = services.add_milestone(_body())
    return jsonify({"code": 200, "message": "Milestone successfully added.", "milestone": services.milestone_json(milestone)})


@api.patch("/api/admin/milestones/modify")
@admin_token_or_session
def milestone_modify():
    milestone = services.modify_milestone(_body())
    return jsonify({"code": 200, "message": "Milestone successfully modified.", "milestone": services.milestone_json(milestone)})


@api.delete("/api/admin/milestones/delete")
@admin_token_or_session
def milestone_delete():
    data = _body() if request.data or request.form else request.args.to_dict()
    services.delete_milestone(data)
    return jsonify({"code": 200, "message": "Milestone successfully deleted."})


@api.post("/api/admin/notification")
@admin_token_or_session
def notification():
    note = services.notification(_body())
    announce("notification", text=note.text, duration=note.duration)
    return jsonify({"code": 200, "message": "Notification sent."})
