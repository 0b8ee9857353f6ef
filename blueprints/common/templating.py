"""Template globals: the navigation, and small filters shared by every page."""
from __future__ import annotations

from flask import Flask, current_app, request, url_for
from flask_login import current_user

from models.base import isoformat

# (position, label, endpoint, admin only). Entries whose feature is not installed are skipped; a
# feature may add its own from its register(app) with add_navigation (the catalogue does).
NAVIGATION = (
    (10, "Soundboard", "soundboard.index", False),
    (40, "Playlists", "playlists.index", False),
    (50, "Collections", "tracks.collections", False),
    (90, "Admin", "main.admin", True),
)

# (position, label, endpoint, description): links on the admin dashboard; features add theirs with add_admin_links.
ADMIN_LINKS = (
    (80, "Sounds", "soundboard.admin", "Soundboard clips: upload, modify, delete"),
    (81, "Milestones", "soundboard.admin_milestones", "Soundboard milestones and notifications"),
)


def add_navigation(app: Flask, *items: tuple[int, str, str, bool]) -> None:
    """Per app (not per module): two apps in one process never see each other's entries."""
    app.extensions.setdefault("navigation", []).extend(items)


def add_admin_links(app: Flask, *links: tuple[int, str, str, str]) -> None:
    app.extensions.setdefault("admin_links", []).extend(links)


def endpoint_exists(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def navigation() -> list[dict]:
    items = []
    entries = sorted([*NAVIGATION, *current_app.extensions.get("navigation", [])], key=lambda entry: entry[0])
    for _, label, endpoint, admin_only in entries:
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
        for _, label, endpoint, description in sorted([*ADMIN_LINKS, *current_app.extensions.get("admin_links", [])], key=lambda link: link[0])
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
