"""Catalogue pages (audio browser, image gallery, admin) and the file streams behind every `link`."""
from __future__ import annotations

from flask import Blueprint, abort, request
from sqlalchemy import select

from blueprints.catalogue import services
from domain import NotFound
from extensions import db
from media.streaming import serve_media
from models.catalogue import Audio, Image, Video

bp = Blueprint("catalogue", __name__)


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
    image = db.session.scalar(select(Image).where(Image.path == path, Image.deleted_at.is_(None)))
    if image is None:
        raise NotFound("Image not found.")
    width = request.args.get("w", type=int)
    if width is not None:
        if not 16 <= width <= 1024:
            abort(400, "w must be between 16 and 1024.")
        return serve_media(services.thumbnail_key(image, width), image.mimetype or "image/png", max_age=86400)
    return serve_media(f"images/{image.path}", image.mimetype or "image/png", max_age=86400)
