"""Serve stored files with HTTP Range, ETag/Last-Modified and 304 (Werkzeug does the protocol)."""
from __future__ import annotations

from flask import Response, request, send_file

from domain import NotFound
from media.storage import get_storage


def serve_media(key: str, mimetype: str, download_name: str | None = None, max_age: int = 3600) -> Response:
    """Stream the file at ``key``; ``?download`` makes it an attachment."""
    storage = get_storage()
    if not storage.exists(key):
        raise NotFound("File not found.")
    response = send_file(
        storage.path(key),
        mimetype=mimetype,
        as_attachment="download" in request.args,
        download_name=download_name or key.rsplit("/", 1)[-1],
        conditional=True,  # Range (206/416), If-None-Match and If-Modified-Since (304)
        etag=True,
        max_age=max_age,
    )
    response.headers["Accept-Ranges"] = "bytes"
    return response
