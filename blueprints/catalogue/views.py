"""Catalogue pages (audio browser, image gallery, admin) and the file streams behind every `link`."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from blueprints.catalogue import services
from blueprints.common.htmx import render_page
from blueprints.common.query import page_argument
from domain import NotFound
from extensions import db
from media.streaming import serve_media
from models.catalogue import IMAGE_FACETS, Audio, Image, Video

bp = Blueprint("catalogue", __name__)


@bp.app_template_filter("image_alt")
def image_alt(image: Image) -> str:
    """What the picture shows, for screen readers: its facet and whose it is ("Cover of Frostbound"),
    never its file path. The image's owners must be loaded."""
    owners = [owner.name for owner in (*image.anime, *image.artists, *image.studios)]
    return f"{image.facet} of {', '.join(owners)}" if owners else f"{image.facet} image"


@bp.get("/stream/audio/<path:filename>")
def stream_audio(filename: str):
    audio = db.session.scalar(select(Audio).where(Audio.filename == filename, Audio.deleted_at.is_(None)))
    if audio is None or not audio.storage_key:
        raise NotFound("Audio not found.")
    return serve_media(audio.storage_key, audio.mimetype, download_name=audio.filename)


@bp.get("/stream/video/<path:filename>")
def stream_video(filename: str):
    video = db.session.scalar(select(Video).where(Video.filename == filename, Video.deleted_at.is_(None)))
    if video is None:
        raise NotFound("Video not found.")
    return serve_media(f"video/{video.filename}", video.mimetype, download_name=video.filename)


@bp.get("/stream/image/<path:path>")
def stream_image(path: str):
    image = db.session.scalar(
        select(Image).where(Image.path == path, Image.deleted_at.is_(None), services.images_reachable_for(_viewer_id()))
    )
    if image is None:
        raise NotFound("Image not found.")
    width = request.args.get("w", type=int)
    if width is not None:
        if not 16 <= width <= 1024:
            abort(400, "w must be between 16 and 1024.")
        return serve_media(services.thumbnail_key(image, width), image.mimetype or "image/png", max_age=86400)
    return serve_media(f"images/{image.path}", image.mimetype or "image/png", max_age=86400)


# ---------------------------------------------------------------------------------------------
# Audio browser and image gallery
# ---------------------------------------------------------------------------------------------


@bp.get("/audio")
def audio_index():
    search = request.args.get("q", "").strip()[:100]
    sort = request.args.get("sort", "basename")
    fmt = request.args.get("format", "")
    page = page_argument(request.args)
    pagination = services.browse_audio(search, sort, fmt, page)
    return render_page(
        "catalogue/audio_index.html",
        "catalogue/_audio_results.html",
        pagination=pagination,
        themes=services.audio_themes(pagination.items),
        search=search,
        sort=sort,
        fmt=fmt,
        sorts=SORT_LABELS,
    )


SORT_LABELS = {
    "basename": "Name (A–Z)",
    "-basename": "Name (Z–A)",
    "-created_at": "Newest",
    "-size": "Largest",
    "size": "Smallest",
    "duration": "Shortest",
}


@bp.get("/audio/<basename>")
def audio_detail(basename: str):
    return render_template("catalogue/audio_detail.html", audio=services.audio_detail(basename))


@bp.get("/images")
def image_index():
    facet = request.args.get("facet", "")
    page = page_argument(request.args)
    pagination = services.browse_images(facet, page, viewer_id=_viewer_id())
    return render_page(
        "catalogue/image_index.html", "catalogue/_image_grid.html", pagination=pagination, facet=facet, facets=IMAGE_FACETS
    )


@bp.get("/images/<int:image_id>")
def image_detail(image_id: int):
    return render_template("catalogue/image_detail.html", image=services.image_detail(image_id, viewer_id=_viewer_id()))


def _viewer_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None
