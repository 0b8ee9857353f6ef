"""Template globals: the navigation, and small filters shared by every page."""
from __future__ import annotations

from flask import Flask, current_app, request, url_for
from flask_login import current_user

from models.base import isoformat

# (label, endpoint, admin only). Entries whose feature is not installed are skipped.
NAVIGATION = (
    ("Soundboard", "soundboard.index", False),
    ("Audio", "catalogue.audio_index", False),
    ("Images", "catalogue.image_index", False),
    ("Playlists", "playlists.index", False),
    ("Collections", "tracks.collections", False),
    ("Admin", "main.admin", True),
)

# Links on the admin dashboard, contributed by each feature's endpoints when present.
ADMIN_LINKS = (
    ("Audio", "catalogue_admin.admin_audio", "Create, edit, upload and trash audio tracks"),
    ("Videos", "catalogue_admin.admin_video", "Videos linked to audio tracks"),
    ("Images", "catalogue_admin.admin_image", "Cover art and artwork"),
    ("Anime", "catalogue_admin.admin_anime", "Anime entries"),
    ("Artists", "catalogue_admin.admin_artist", "Artists"),
    ("Studios", "catalogue_admin.admin_studio", "Studios"),
    ("Sounds", "soundboard.admin", "Soundboard clips: upload, modify, delete"),
    ("Milestones", "soundboard.admin_milestones", "Soundboard milestones and notifications"),
)


def endpoint_exists(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def navigation() -> list[dict]:
    items = []
    for label, endpoint, admin_only in NAVIGATION:
        if not endpoint_exists(endpoint):
            continue
        if admin_only and not (current_user.is_authenticated and current_user.is_admin):
            continue
        url = url_for(endpoint)
        items.append({"label": label, "url": url, "active": request.path.startswith(url) and url != "/"})
    return items


def admin_links() -> list[dict]:
    return [
        {"label": label, "url": url_for(endpoint), "description": description}
        for label, endpoint, description in ADMIN_LINKS
        if endpoint_exists(endpoint)
    ]


def thousands(value) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


def human_size(num_bytes) -> str:
    if num_bytes is None:
        return "—"
    size = float(num_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def duration(seconds) -> str:
    if seconds is None:
        return "—"
    total = int(round(float(seconds)))
    return f"{total // 60}:{total % 60:02d}"


def upload_limit() -> dict:
    """The upload limit for file inputs (data-max-bytes) and the sentence forms show ("Max 50 MB")."""
    megabytes = int(current_app.config["MAX_UPLOAD_MB"])
    return {"bytes": megabytes * 1024 * 1024, "label": f"{megabytes} MB"}


def register_templating(app: Flask) -> None:
    app.jinja_env.filters.update(thousands=thousands, human_size=human_size, duration=duration, iso=isoformat)
    app.jinja_env.globals.update(
        navigation=navigation, admin_links=admin_links, endpoint_exists=endpoint_exists, upload_limit=upload_limit
    )
