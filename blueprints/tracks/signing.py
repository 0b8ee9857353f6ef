"""Signed upload URLs: who may upload what, until when, without a bearer token.

The URL carries an HMAC (itsdangerous) over the track id, the purpose ("audio" or "cover") and the
expiry. ``LocalUploadSigner`` is the only piece that knows the URLs point at this app; an
S3-compatible store would provide a signer with the same ``presign`` method returning the store's
own presigned PUT/POST URLs (and its own verification), and nothing else would change.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer

from domain import Forbidden
from models.base import isoformat

Purpose = Literal["audio", "cover"]
METHODS: dict[str, str] = {"audio": "PUT", "cover": "POST"}
ENDPOINTS: dict[str, str] = {"audio": "tracks_api.upload_audio", "cover": "tracks_api.upload_cover"}
SALT = "tracks-v1-upload"


@dataclass(frozen=True)
class PresignedUpload:
    method: str
    upload_url: str
    ttl: int
    expires_at: datetime

    def to_json(self) -> dict:
        return {"method": self.method, "upload_url": self.upload_url, "ttl": self.ttl, "expires_at": isoformat(self.expires_at)}


class UploadSigner(Protocol):
    def presign(self, track_id: uuid.UUID, purpose: Purpose, *, now: datetime | None = None) -> PresignedUpload: ...


class LocalUploadSigner:
    """URLs served by this app's own upload endpoints."""

    def __init__(self, secret_key: str, ttl: int):
        self.serializer = URLSafeSerializer(secret_key, salt=SALT)
        self.ttl = ttl

    def presign(self, track_id: uuid.UUID, purpose: Purpose, *, now: datetime | None = None) -> PresignedUpload:
        expires_at = (now or datetime.now(UTC)).replace(microsecond=0) + timedelta(seconds=self.ttl)
        signature = self.serializer.dumps({"t": str(track_id), "p": purpose, "e": int(expires_at.timestamp())})
        url = url_for(ENDPOINTS[purpose], track_id=str(track_id), signature=signature, _external=True)
        return PresignedUpload(METHODS[purpose], url, self.ttl, expires_at)

    def verify(self, signature: str | None, track_id: str, purpose: Purpose, *, now: datetime | None = None) -> None:
        """Raise Forbidden unless ``signature`` was issued here for this track and purpose and is unexpired."""
        if not signature:
            raise Forbidden("The upload URL is not signed.")
        try:
            claims = self.serializer.loads(signature)
        except BadSignature:
            raise Forbidden("The upload URL signature is invalid.") from None
        if not isinstance(claims, dict) or claims.get("t") != track_id or claims.get("p") != purpose:
            raise Forbidden("The upload URL signature is invalid.")
        expires = claims.get("e")
        if not isinstance(expires, int) or (now or datetime.now(UTC)).timestamp() >= expires:
            raise Forbidden("The upload URL has expired.")


def get_upload_signer() -> LocalUploadSigner:
    return LocalUploadSigner(current_app.config["SECRET_KEY"], int(current_app.config["TRACKS_UPLOAD_TTL"]))
