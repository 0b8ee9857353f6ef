"""Serve stored files with HTTP Range, ETag/Last-Modified and 304, from either storage backend.

Werkzeug does the protocol (ranges, 416, If-Range, conditional requests) on a seekable file
object: a local file, or an S3 object that is fetched from the requested offset on first read.
With ``MEDIA_PRESIGNED_DOWNLOADS`` on and S3 storage, the client is redirected to a presigned URL
instead and the store serves the bytes (and the ranges) itself.
"""
from __future__ import annotations

import time
import unicodedata
from urllib.parse import quote

from flask import Response, current_app, redirect, request
from werkzeug.datastructures import Headers
from werkzeug.wsgi import wrap_file

from domain import NotFound
from media.storage import get_storage


def serve_media(key: str, mimetype: str, download_name: str | None = None, max_age: int = 3600) -> Response:
    """Stream the file at ``key``; ``?download`` makes it an attachment."""
    storage = get_storage()
    disposition = content_disposition(download_name or key.rsplit("/", 1)[-1], attachment="download" in request.args)
    if current_app.config.get("MEDIA_PRESIGNED_DOWNLOADS"):
        url = storage.presigned_url(key, mimetype, disposition)
        if url is not None:
            if not storage.exists(key):
                raise NotFound("File not found.")
            response = redirect(url, code=302)
            response.cache_control.no_store = True  # the URL expires: ask this server again next time
            return response
    stored = storage.stat(key)
    if stored is None:
        raise NotFound("File not found.")
    response = current_app.response_class(
        wrap_file(request.environ, storage.open(key)), mimetype=mimetype, direct_passthrough=True
    )
    response.headers["Content-Disposition"] = disposition
    response.content_length = stored.size
    response.last_modified = stored.modified
    response.set_etag(stored.etag)
    if max_age > 0:
        response.cache_control.public = True
    response.cache_control.max_age = max_age
    response.expires = int(time.time() + max_age)
    response.headers["Accept-Ranges"] = "bytes"
    # Range (206/416), If-Range, If-None-Match and If-Modified-Since (304); closes the file if unused.
    return response.make_conditional(request.environ, accept_ranges=True, complete_length=stored.size)


def content_disposition(file_name: str, attachment: bool) -> str:
    """``inline``/``attachment`` with the file name, RFC 8187-encoded when it is not ASCII (as
    Werkzeug's send_file writes it)."""
    try:
        file_name.encode("ascii")
        names = {"filename": file_name}
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", file_name).encode("ascii", "ignore").decode("ascii")
        names = {"filename": simple, "filename*": f"UTF-8''{quote(file_name, safe='!#$&+^`|~')}"}
    headers = Headers()
    headers.set("Content-Disposition", "attachment" if attachment else "inline", **names)
    return headers["Content-Disposition"]
