"""Playlist pages: public list, my playlists, the player page, add-to-playlist, export and import."""
from __future__ import annotations

from flask import Blueprint, Response, flash, g, jsonify, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from blueprints.common.htmx import render_page
from blueprints.common.query import page_argument
from blueprints.playlists import services
from blueprints.playlists.services import LimitExceeded
from domain import DomainError, ValidationFailed
from models.playlist import VISIBILITIES

bp = Blueprint("playlists", __name__, url_prefix="/playlists")

VISIBILITY_HELP = {
    0: "Public: listed and searchable; anyone can open and play it.",
    1: "Private: only you can see it.",
    2: "Unlisted: not listed or searchable, but anyone with the link can open it.",
}


@bp.app_template_global("playlist_hashid")
def playlist_hashid(playlist) -> str:
    return playlist.public_id


@bp.app_template_global("my_playlists")
def my_playlists() -> list:
    """The caller's playlists for the add-to-playlist control: one query per request, however many rows."""
    if not current_user.is_authenticated:
        return []
    if "my_playlists" not in g:
        g.my_playlists = services.playlists_of(current_user)
    return g.my_playlists


@bp.get("")
def index():
    search = request.args.get("q", "").strip()[:100]
    page = page_argument(request.args)
    pagination = services.browse_public(search, page)
    return render_page(
        "playlists/index.html", "playlists/_public_results.html",
        pagination=pagination, search=search, owners=services.owner_names(pagination.items),
    )


@bp.get("/mine")
@login_required
def mine():
    return _render_mine()


def _render_mine(errors: dict | None = None, values: dict | None = None, status: int = 200):
    return render_template(
        "playlists/mine.html",
        playlists=services.playlists_of(current_user),
        activity=services.activity_of(current_user),
        errors=errors or {},
        values=values or {"visibility": 0},
        visibilities=VISIBILITIES,
        visibility_help=VISIBILITY_HELP,
    ), status


def _form_data() -> dict:
    # A form sends text; the service takes the API's types, so the number is read here.
    visibility = request.form.get("visibility", "")
    return {
        "name": request.form.get("name", ""),
        "description": request.form.get("description") or None,
        "visibility": int(visibility) if visibility in ("0", "1", "2") else visibility,
    }


@bp.post("")
@login_required
def create():
    try:
        playlist = services.create_playlist(current_user, _form_data())
    except ValidationFailed as error:
        return _render_mine(error.errors, _form_data(), 422)
    except (LimitExceeded, DomainError) as error:
        flash(error.message, "error")
        return redirect(url_for("playlists.mine"), code=303)
    flash(f"Playlist “{playlist.name}” created.", "success")
    return redirect(url_for("playlists.show", hashid=playlist.public_id), code=303)


@bp.get("/<hashid>")
def show(hashid: str):
    playlist = services.find_visible(hashid, current_user)
    rows = services.export_rows(playlist)
    is_owner = current_user.is_authenticated and current_user.id == playlist.user_id
    return render_template(
        "playlists/show.html",
        playlist=playlist,
        rows=rows,
        is_owner=is_owner,
        hashid=hashid,
        cover=services.cover_path(playlist.id),
        visibilities=VISIBILITIES,
        visibility_help=VISIBILITY_HELP,
        share_url=url_for("playlists.show", hashid=hashid, _external=True),
    )


@bp.post("/<hashid>/edit")
@login_required
def edit(hashid: str):
    playlist = services.find_owned(hashid, current_user)
    try:
        services.update_playlist(playlist, _form_data())
    except ValidationFailed as error:
        flash(" ".join(m for messages in error.errors.values() for m in messages), "error")
    else:
        flash("Playlist saved.", "success")
    return redirect(url_for("playlists.show", hashid=hashid), code=303)


@bp.post("/<hashid>/delete")
@login_required
def delete(hashid: str):
    playlist = services.find_owned(hashid, current_user)
    name = playlist.name
    services.delete_playlist(playlist)
    flash(f"Playlist “{name}” deleted.", "success")
    return redirect(url_for("playlists.mine"), code=303)


@bp.post("/<hashid>/cover")
@login_required
def cover(hashid: str):
    playlist = services.find_owned(hashid, current_user)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("Choose an image first.", "error")
    else:
        try:
            services.upload_cover(playlist, upload.stream)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash("Cover updated.", "success")
    return redirect(url_for("playlists.show", hashid=hashid), code=303)


def _error_text(error: DomainError) -> str:
    return " ".join(m for messages in (error.errors or {}).values() for m in messages) or error.message


@bp.get("/add-menu/<int:audio_id>")
@login_required
def add_menu(audio_id: int):
    """The body of a row's "Add to playlist" menu, loaded when it first opens."""
    audio = services.find_audio(audio_id)
    return render_template("playlists/_add_menu.html", audio=audio, playlists=services.playlists_of(current_user))


@bp.post("/add-track")
@login_required
def add_track():
    """From any audio row (htmx): add to a playlist, or to a new one named in the menu; a track
    already in the playlist is added again only once the user confirms."""
    audio_id = request.form.get("audio_id", type=int)
    target = request.form.get("playlist", "")
    try:
        playlist, _ = services.add_audio_to_playlist(
            current_user, audio_id, target,
            new_name=request.form.get("new_name", ""), allow_duplicate=request.form.get("confirm") == "1",
        )
    except services.DuplicateTrack as duplicate:
        return _menu_answer(render_template("playlists/_added.html", duplicate=duplicate.playlist, audio_id=audio_id), audio_id)
    except (LimitExceeded, ValidationFailed) as error:
        return render_template("playlists/_added.html", error=_error_text(error)), 422  # 422 so htmx shows it in the menu
    except DomainError as error:
        return render_template("playlists/_added.html", error=_error_text(error)), error.status  # 403/404 stay what they are
    return _menu_answer(render_template("playlists/_added.html", playlist=playlist, created=target == services.NEW_PLAYLIST), audio_id)


def _menu_answer(html: str, audio_id: int | None) -> Response:
    """Done with the menu: it closes (an event app.js acts on), and the answer goes beside its button."""
    response = make_response(html)
    response.headers["HX-Trigger"] = "playlist-menu-done"
    response.headers["HX-Retarget"] = f"#add-result-{audio_id}"
    response.headers["HX-Reswap"] = "innerHTML"
    return response


@bp.post("/<hashid>/tracks/<int:track_id>/remove")
@login_required
def remove_track(hashid: str, track_id: int):
    """The playlist page's Remove (htmx): the row becomes an Undo row, and every count of it updates."""
    playlist = services.find_owned(hashid, current_user)
    removed = services.remove_track(playlist, track_id)
    audio = services.find_audio(removed["audio_id"])
    return render_template("playlists/_removed.html", playlist=playlist, hashid=hashid, removed=removed, audio=audio)


@bp.post("/<hashid>/tracks/restore")
@login_required
def restore_track(hashid: str):
    playlist = services.find_owned(hashid, current_user)
    track = services.restore_track(
        playlist, request.form.get("audio_id", type=int),
        request.form.get("previous", type=int), request.form.get("next", type=int),
    )
    audio = services.find_audio(track.audio_id)
    return render_template("playlists/_restored.html", playlist=playlist, hashid=hashid, track=track, audio=audio, is_owner=True)


@bp.get("/<hashid>/export.m3u")
def export_m3u(hashid: str):
    playlist = services.find_visible(hashid, current_user)
    lines = ["#EXTM3U", f"#PLAYLIST:{playlist.name}"]
    for _, audio in services.export_rows(playlist):
        lines.append(f"#EXTINF:{int(round(audio.duration or -1))},{audio.basename}")
        lines.append(url_for("catalogue.stream_audio", filename=audio.filename, _external=True))
    return Response("\n".join(lines) + "\n", mimetype="audio/x-mpegurl", headers={"Content-Disposition": f'attachment; filename="{hashid}.m3u"'})


@bp.get("/<hashid>/export.json")
def export_json(hashid: str):
    playlist = services.find_visible(hashid, current_user)
    response = jsonify(services.export_json(playlist))
    response.headers["Content-Disposition"] = f'attachment; filename="{hashid}.json"'
    return response


@bp.post("/import")
@login_required
def import_json():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("Choose an exported playlist (.json) first.", "error")
        return redirect(url_for("playlists.mine"), code=303)
    try:
        playlist, skipped = services.import_json(current_user, upload.read(1024 * 1024))
    except DomainError as error:
        flash(" ".join(m for messages in (error.errors or {}).values() for m in messages) or error.message, "error")
        return redirect(url_for("playlists.mine"), code=303)
    flash(f"Imported “{playlist.name}”." + (f" {skipped} track(s) no longer exist and were skipped." if skipped else ""), "success")
    return redirect(url_for("playlists.show", hashid=playlist.public_id), code=303)
