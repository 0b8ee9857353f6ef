"""Soundboard pages and the clip files."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from blueprints.common.auth import admin_page_required
from blueprints.common.htmx import render_page, wants_fragment
from blueprints.soundboard import services
from blueprints.soundboard.live import announce
from domain import DomainError, NotFound
from extensions import db
from media.streaming import serve_media
from models.soundboard import DEFAULT_THEME, Sound

bp = Blueprint("soundboard", __name__)


def _theme() -> str:
    theme = request.args.get("theme", DEFAULT_THEME)
    return theme if services.THEME.match(theme) else DEFAULT_THEME


def _page_context(theme: str) -> dict:
    return {"theme": theme, "themes": services.themes()}


def sound_url(sound: Sound) -> str:
    from flask import url_for

    return url_for("soundboard.sound_file", theme=sound.theme, source=services.source_folder(sound.source), filename=sound.filename)


@bp.app_template_global("sound_url")
def _sound_url(sound: Sound) -> str:
    return sound_url(sound)


# The URL the original's pages build: /sounds/<theme>/<source folder>/<filename>.mp3. The folder
# may hold a "/" (path:), and arrives decoded whether or not the client percent-encoded it.
@bp.get("/sounds/<theme>/<path:source>/<filename>.mp3")
def sound_file(theme: str, source: str, filename: str):
    sound = db.session.scalar(select(Sound).where(Sound.filename == filename, Sound.theme == theme))
    if sound is None or services.source_folder(sound.source) != source:
        raise NotFound("Sound not found.")
    return serve_media(services.storage_key(sound.filename), "audio/mpeg", download_name=f"{filename}.mp3")


@bp.app_template_global("site_notification")
def site_notification() -> dict | None:
    """The notification every page shows, if this process's live machinery runs (the poll below
    starts it, so that it hears the next one)."""
    running = current_app.extensions.get("soundboard_live")
    return running.current_notification() if running is not None else None


@bp.get("/notification")
def notification():
    """The notifications region of every page, polled by pages without the soundboard's socket."""
    from blueprints.soundboard.live import live

    html = render_template("soundboard/_notification.html", note=live().current_notification())
    return html, 200, {"Cache-Control": "no-store"}


@bp.get("/soundboard", strict_slashes=False)  # "/soundboard/" is what people type too
def index():
    theme = _theme()
    all_sounds = services.list_sounds({"theme": theme})
    return render_template(
        "soundboard/index.html",
        counter=services.counter(),
        summary=services.summary(),
        sounds=all_sounds,
        **_page_context(theme),
    )


@bp.get("/soundboard/board")
def board():
    theme = _theme()
    return render_template("soundboard/board.html", groups=services.sounds_by_source(theme), **_page_context(theme))


@bp.get("/soundboard/rankings")
def rankings():
    theme = _theme()
    return render_template("soundboard/rankings.html", plays=services.theme_plays(theme), **_page_context(theme))


@bp.get("/soundboard/statistics")
def statistics():
    theme = _theme()
    chart = services.monthly_chart()
    peak = max((row["count"] for row in chart), default=0) or 1
    return render_template(
        "soundboard/statistics.html",
        summary=services.summary(),
        chart=chart,
        peak=peak,
        milestones=services.milestones(),
        plays=services.theme_plays(theme, limit=5),
        **_page_context(theme),
    )


def _error_text(error: DomainError) -> str:
    name = getattr(error, "name", None)
    return f"{name}: {error.message}" if name and name not in ("Bad request", "Error") else error.message


def _admin_page(status: int = 200, **outcome):
    theme = _theme()
    return render_page(
        "soundboard/admin.html", "soundboard/_admin_sounds.html", status, sounds=services.list_sounds({}), **_page_context(theme), **outcome
    )


@bp.get("/soundboard/admin")
@admin_page_required
def admin():
    return _admin_page()


@bp.post("/soundboard/admin/sounds")
@admin_page_required
def admin_upload():
    """The admin page's upload form (htmx): the list comes back with the clip in it, or the error."""
    values = {key: request.form.get(key, "") for key in ("filename", "displayname", "source", "count", "theme")}
    try:
        sound = services.upload_sound(request.form, request.files.get("file"))
    except DomainError as error:
        status = 413 if error.status == 413 else 422
        return _admin_page(status, upload_error=_error_text(error), upload_values=values)
    announce("soundUpload", sound=services.sound_json(sound))
    message = f"Uploaded “{sound.filename}” ({sound.duration or 0:.1f} s)."
    if not wants_fragment():
        flash(message, "success")
        return redirect(url_for("soundboard.admin", theme=_theme()), code=303)
    return _admin_page(upload_message=message)


def _milestones_page(status: int = 200, **outcome):
    theme = _theme()
    return render_page(
        "soundboard/admin_milestones.html",
        "soundboard/_admin_milestones.html",
        status,
        milestones=services.milestones(),
        counter=services.counter(),
        **_page_context(theme),
        **outcome,
    )


@bp.get("/soundboard/admin/milestones")
@admin_page_required
def admin_milestones():
    return _milestones_page()


def _milestone_write(action, event: str, done: str):
    """Run one milestone or notification use case for a page form: the region again, with the outcome."""
    try:
        result = action(request.form.to_dict())
    except DomainError as error:
        return _milestones_page(422, error=_error_text(error), form=request.form.get("form", ""), values=request.form.to_dict())
    announce(event, **result)
    if not wants_fragment():
        flash(done, "success")
        return redirect(url_for("soundboard.admin_milestones", theme=_theme()), code=303)
    return _milestones_page(message=done)


@bp.post("/soundboard/admin/milestones")
@admin_page_required
def admin_milestone_add():
    return _milestone_write(
        lambda data: {"milestone": services.milestone_json(services.add_milestone({"count": data.get("count", "")}))},
        "milestoneAdd",
        "Milestone added.",
    )


@bp.post("/soundboard/admin/milestones/<int:milestone_id>")
@admin_page_required
def admin_milestone_modify(milestone_id: int):
    return _milestone_write(
        lambda data: {"milestone": services.milestone_json(services.modify_milestone({"id": milestone_id, "count": data.get("count", "")}))},
        "milestoneModify",
        "Milestone saved.",
    )


@bp.post("/soundboard/admin/milestones/<int:milestone_id>/delete")
@admin_page_required
def admin_milestone_delete(milestone_id: int):
    return _milestone_write(
        lambda data: {"milestone": services.delete_milestone({"id": milestone_id})}, "milestoneDelete", "Milestone deleted."
    )


@bp.post("/soundboard/admin/notification")
@admin_page_required
def admin_notification():
    return _milestone_write(
        lambda data: {"notification": services.notification({"text": data.get("text", ""), "duration": data.get("duration", "")}).as_json()},
        "notification",
        "Notification sent to every open page.",
    )
