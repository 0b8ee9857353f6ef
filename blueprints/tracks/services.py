"""Tracks v1 use cases: collections, creators, tracks, signed uploads. Everything is scoped to its
owner: another user's ids are simply not found."""
from __future__ import annotations

import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any, Mapping

from flask import current_app
from sqlalchemy import func, or_, select, update

from blueprints.tracks import validation as v
from blueprints.tracks.signing import get_upload_signer
from domain import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from extensions import db
from media.images import inspect_image
from media.inspection import inspect_audio
from media.storage import get_storage, max_upload_bytes, staged_upload
from models.base import as_utc
from models.tracks import Collection, Creator, Track, TrackStatus
from models.user import User

WAVEFORM_PEAKS = 300


def find_owned(model, user: User, raw_id: Any, field: str):
    item_id = v.parse_uuid(raw_id, field) if not isinstance(raw_id, uuid.UUID) else raw_id
    item = db.session.get(model, item_id)
    if item is None or item.user_id != user.id:
        raise NotFound(f"{model.__name__} not found.")
    return item


# ---------------------------------------------------------------------------------------------
# Collections and creators
# ---------------------------------------------------------------------------------------------


def list_owned(model, user: User, args: Mapping[str, str], order=None) -> tuple[list, int]:
    limit, offset = v.page(args)
    base = select(model).where(model.user_id == user.id)
    total = db.session.scalar(select(func.count()).select_from(base.subquery()))
    items = db.session.scalars(base.order_by(*(order or [model.created_at.desc(), model.id])).limit(limit).offset(offset))
    return list(items), total


def create_collection(user: User, data: Any) -> Collection:
    data = v.json_object(data)
    collection = Collection(
        user_id=user.id,
        title=v.required_string(data, "title"),
        description=v.string(data.get("description"), "description", v.MAX_DESCRIPTION),
        meta=v.metadata(data.get("metadata")),
    )
    db.session.add(collection)
    db.session.commit()
    return collection


def update_collection(collection: Collection, data: Any) -> Collection:
    data = v.json_object(data)
    if "title" in data:
        collection.title = v.required_string(data, "title")
    if "description" in data:
        collection.description = v.string(data["description"], "description", v.MAX_DESCRIPTION)
    if "metadata" in data:
        collection.meta = v.metadata(data["metadata"])
    db.session.commit()
    return collection


def delete_collection(collection: Collection) -> None:
    keys = [key for track in db.session.scalars(select(Track).where(Track.collection_id == collection.id)) for key in track.file_keys()]
    db.session.execute(Track.__table__.delete().where(Track.collection_id == collection.id))
    db.session.delete(collection)
    db.session.commit()
    storage = get_storage()
    for key in keys:
        storage.delete(key)


def create_creator(user: User, data: Any) -> Creator:
    data = v.json_object(data)
    creator = Creator(
        user_id=user.id,
        organization_index=v.required_string(data, "organization_index"),
        name=v.string(data.get("name"), "name"),
        meta=v.metadata(data.get("metadata")),
    )
    db.session.add(creator)
    db.session.commit()
    return creator


def update_creator(creator: Creator, data: Any) -> Creator:
    data = v.json_object(data)
    if "organization_index" in data:
        creator.organization_index = v.required_string(data, "organization_index")
    if "name" in data:
        creator.name = v.string(data["name"], "name")
    if "metadata" in data:
        creator.meta = v.metadata(data["metadata"])
    db.session.commit()
    return creator


def delete_creator(creator: Creator) -> None:
    db.session.execute(update(Track).where(Track.creator_id == creator.id).values(creator_id=None))
    db.session.delete(creator)
    db.session.commit()


# ---------------------------------------------------------------------------------------------
# Tracks
# ---------------------------------------------------------------------------------------------

TRACK_FIELDS = ("organization_index", "title", "player_title", "player_subtitle")
TRACK_BOOLEANS = ("is_cover_overridable", "is_theme_overridable")


def _apply_track_fields(user: User, track: Track, data: Mapping[str, Any]) -> None:
    if "creator_id" in data:
        track.creator_id = None if data["creator_id"] is None else find_owned(Creator, user, data["creator_id"], "creator_id").id
    for name in TRACK_FIELDS:
        if name in data:
            setattr(track, name, v.string(data[name], name))
    for name in TRACK_BOOLEANS:
        if name in data:
            setattr(track, name, v.boolean(data[name], name))
    if "metadata" in data:
        track.meta = v.metadata(data["metadata"])
    if "player_color" in data:
        track.player_color = v.color(data["player_color"])


def create_track(user: User, data: Any) -> Track:
    data = v.json_object(data)
    if "collection_id" not in data:
        raise v.fail("collection_id", "collection_id is required.")
    collection_id = v.parse_uuid(data["collection_id"], "collection_id")
    collection = db.session.get(Collection, collection_id)
    if collection is None or collection.user_id != user.id:
        raise v.fail("collection_id", "collection_id must name one of your collections.")
    track = Track(user_id=user.id, collection_id=collection.id, file_name=v.file_name(data.get("file_name")), meta={})
    if "creator_id" in data and data["creator_id"] is not None:
        creator_id = v.parse_uuid(data["creator_id"], "creator_id")
        creator = db.session.get(Creator, creator_id)
        if creator is None or creator.user_id != user.id:
            raise v.fail("creator_id", "creator_id must name one of your creators.")
    _apply_track_fields(user, track, {k: val for k, val in data.items() if k != "title"})
    db.session.add(track)
    db.session.commit()
    return track


def update_track(user: User, track: Track, data: Any) -> Track:
    _apply_track_fields(user, track, v.json_object(data))
    db.session.commit()
    return track


def find_track(user: User, raw_id: Any) -> Track:
    return find_owned(Track, user, raw_id, "track_id")


def delete_track(track: Track) -> None:
    keys = track.file_keys()
    db.session.delete(track)
    db.session.commit()
    storage = get_storage()
    for key in keys:
        storage.delete(key)


def upload_tracks(user: User, collection: Collection, files) -> tuple[list[Track], list[tuple[str, str]]]:
    """The collection page's upload: every file inspected, the accepted ones created ``processing``
    in one commit and then stored; a rejected file leaves no track behind, only its reason.
    Returns (created tracks, [(file name, reason)])."""
    if collection.user_id != user.id:
        raise NotFound("Collection not found.")
    created: list[tuple[Track, object]] = []
    rejected: list[tuple[str, str]] = []
    storing_since = datetime.now(UTC)
    with ExitStack() as stack:
        for upload in files:
            name = (upload.filename or "").strip() or "upload"
            try:
                file_name = v.file_name(PurePosixPath(name.replace("\\", "/")).name)
                staged = stack.enter_context(staged_upload(upload.stream))
                info = inspect_audio(staged.path, max_bytes=max_upload_bytes(), peak_count=WAVEFORM_PEAKS)
            except DomainError as error:
                rejected.append((name, error.message))
                continue
            track = Track(
                id=uuid.uuid4(),
                user_id=user.id,
                collection_id=collection.id,
                file_name=file_name,
                player_title=PurePosixPath(file_name).stem[: v.MAX_STRING] or None,
                meta={},
            )
            track.audio_key = f"tracks/{track.id}/audio.{info.extension}"
            track.format, track.mimetype = info.format, info.mimetype
            track.duration, track.size, track.waveform = info.duration, info.size, info.peaks
            # Held like ingest_audio's claim while the file is stored, so the sweep leaves it alone.
            track.status, track.claimed_at = TrackStatus.processing, storing_since
            track.audio_upload_used_at = storing_since  # no signed URL will be handed out for it
            db.session.add(track)
            created.append((track, staged))
        if not created:
            return [], rejected
        db.session.commit()
        stored: list[Track] = []
        for track, staged in created:
            try:
                staged.store(track.audio_key)
            except OSError:
                # No row may name a file that is not there.
                track.audio_key, track.status, track.error_reason = None, TrackStatus.error, "The file could not be stored; upload it again."
                rejected.append((track.file_name, track.error_reason))
            else:
                stored.append(track)
            track.claimed_at = None
        db.session.commit()
    return stored, rejected


def presigned_uploads(track: Track) -> dict[str, dict]:
    signer = get_upload_signer()
    return {
        "track_upload": signer.presign(track.id, "audio").to_json(),
        "track_cover_upload": signer.presign(track.id, "cover").to_json(),
    }


# ---------------------------------------------------------------------------------------------
# Signed uploads
# ---------------------------------------------------------------------------------------------


@dataclass
class UploadClaim:
    """One request's hold on a signed upload URL while its body arrives.

    Taken by one atomic UPDATE (the URL is unspent and nobody else's claim is live), renewed as
    bytes arrive, and turned into "spent" by the same commit that accepts the file. A request
    killed mid-body simply stops renewing: once the claim lapses the URL works again.
    """

    track_id: uuid.UUID
    purpose: str
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    renewed: float = field(default_factory=time.monotonic)

    @property
    def columns(self):
        return _UPLOAD_COLUMNS[self.purpose]

    @staticmethod
    def seconds() -> int:
        return int(current_app.config["TRACKS_UPLOAD_CLAIM_SECONDS"])

    def renew(self, _size: int = 0) -> None:
        """Called after each chunk; writes only every quarter of the claim's life."""
        if time.monotonic() - self.renewed < self.seconds() / 4:
            return
        _used, claim, until = self.columns
        renewed = db.session.execute(
            update(Track)
            .where(Track.id == self.track_id, claim == self.token)
            .values({until.key: datetime.now(UTC) + timedelta(seconds=self.seconds())})
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        if not renewed:
            raise Conflict("Another upload to this URL took over while this one stalled; upload again.")
        self.renewed = time.monotonic()

    def spend(self) -> None:
        """Inside the accepting transaction: the URL is spent, or Conflict if the claim was lost."""
        used, claim, until = self.columns
        spent = db.session.execute(
            update(Track)
            .where(Track.id == self.track_id, claim == self.token)
            .values({used.key: datetime.now(UTC), claim.key: None, until.key: None})
            .execution_options(synchronize_session=False)
        ).rowcount
        if not spent:
            db.session.rollback()
            raise Conflict("Another upload to this URL took over while this one stalled; upload again.")

    def release(self, **values) -> None:
        """Give the URL back (the file was refused or the request failed), unless taken over."""
        db.session.rollback()
        _used, claim, until = self.columns
        db.session.execute(
            update(Track)
            .where(Track.id == self.track_id, claim == self.token)
            .values({claim.key: None, until.key: None, **values})
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


_UPLOAD_COLUMNS = {
    "audio": (Track.audio_upload_used_at, Track.audio_upload_claim, Track.audio_upload_claimed_until),
    "cover": (Track.cover_upload_used_at, Track.cover_upload_claim, Track.cover_upload_claimed_until),
}


def _claim(track_id: uuid.UUID, purpose: str) -> UploadClaim:
    """403 once the URL is spent; 409 with Retry-After while another request's claim is live."""
    claim = UploadClaim(track_id, purpose)
    used, token, until = claim.columns
    now = datetime.now(UTC)
    taken = db.session.execute(
        update(Track)
        .where(Track.id == track_id, used.is_(None), or_(token.is_(None), until.is_(None), until < now))
        .values({token.key: claim.token, until.key: now + timedelta(seconds=claim.seconds())})
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if taken:
        return claim
    spent_at, live_until = db.session.execute(select(used, until).where(Track.id == track_id)).one()
    if spent_at is not None:
        raise Forbidden("This upload URL has already been used.")
    wait = max(1, int((as_utc(live_until) - now).total_seconds() + 0.999)) if live_until else 1
    raise Conflict("Another upload to this URL is in progress.", retry_after=wait)


def _verified_track(raw_id: str, signature: str | None, purpose: str) -> Track:
    try:
        track_id = uuid.UUID(raw_id)
    except ValueError:
        raise Forbidden("The upload URL is invalid.") from None
    get_upload_signer().verify(signature, str(track_id), purpose)
    track = db.session.get(Track, track_id)
    if track is None:
        raise Forbidden("The upload URL is invalid.")
    return track


def receive_audio(raw_id: str, signature: str | None, stream) -> Track:
    """The PUT: stream to disk, inspect, store; 200 only when the audio is accepted, and only
    then is the URL spent."""
    track = _verified_track(raw_id, signature, "audio")
    claim = _claim(track.id, "audio")
    try:
        return ingest_audio(track, stream, claim)
    except Conflict:
        raise  # the claim is someone else's now: leave the track to them
    except DomainError as error:
        # A rejected file leaves the URL usable for a corrected upload, and says why on the track.
        claim.release(status=TrackStatus.error, error_reason=error.message[:500])
        raise
    except Exception:
        claim.release()
        raise


def ingest_audio(track: Track, stream, claim: UploadClaim | None = None) -> Track:
    """Inspect and store a track's audio, leaving it ``processing`` (the seed step calls this
    without a claim)."""
    with staged_upload(stream, on_chunk=claim.renew if claim else None) as staged:
        info = inspect_audio(staged.path, max_bytes=max_upload_bytes(), peak_count=WAVEFORM_PEAKS)
        key = f"tracks/{track.id}/audio.{info.extension}"
        if claim is not None:
            claim.spend()
        track = db.session.get(Track, track.id, populate_existing=True)
        track.audio_key, track.format, track.mimetype = key, info.format, info.mimetype
        track.duration, track.size, track.waveform = info.duration, info.size, info.peaks
        # The upload holds the processing claim while its file is being stored: the sweep must not
        # hand the track to a worker that would find no file yet and mark it missing.
        storing_since = datetime.now(UTC)
        track.status, track.error_reason, track.claimed_at = TrackStatus.processing, None, storing_since
        db.session.commit()
        try:
            staged.store(key)
        except OSError:
            # No row may name a file that is not there; the URL is not spent by a file never stored.
            db.session.execute(
                update(Track)
                .where(Track.id == track.id, Track.audio_key == key)
                .values(audio_key=None, audio_upload_used_at=None, status=TrackStatus.error, error_reason="The file could not be stored; upload it again.")
            )
            db.session.commit()
            raise
        # Stored: the track is free for processing (a crash before this leaves it to the sweep once
        # TRACKS_PROCESSING_LEASE_SECONDS have passed).
        db.session.execute(update(Track).where(Track.id == track.id, Track.claimed_at == storing_since).values(claimed_at=None))
        db.session.commit()
    return track


def receive_cover(raw_id: str, signature: str | None, file_storage) -> Track:
    track = _verified_track(raw_id, signature, "cover")
    if file_storage is None:
        raise ValidationFailed({"file": ["A multipart field named file is required."]})
    claim = _claim(track.id, "cover")
    spent = False
    try:
        limit = min(max_upload_bytes(), 20 * 1024 * 1024)
        with staged_upload(file_storage.stream, max_bytes=limit, on_chunk=claim.renew) as staged:
            info = inspect_image(staged.path.read_bytes())
            key = f"tracks/{track.id}/cover-upload.{info.extension}"
            claim.spend()
            track = db.session.get(Track, track.id, populate_existing=True)
            previous = (track.uploaded_cover_key, track.uploaded_cover_mimetype, track.cover_key, track.cover_mimetype)
            track.uploaded_cover_key, track.uploaded_cover_mimetype = key, info.mimetype
            track.cover_key, track.cover_mimetype = key, info.mimetype
            db.session.commit()
            spent = True
            try:
                staged.store(key)
            except OSError:
                track.uploaded_cover_key, track.uploaded_cover_mimetype, track.cover_key, track.cover_mimetype = previous
                track.cover_upload_used_at = None
                db.session.commit()
                raise
    except Conflict:
        raise
    except Exception:
        if not spent:
            claim.release()
        raise
    from blueprints.tracks.processing import derive_cover_color

    derive_cover_color(track.id)
    return track


def collection_tracks(collection: Collection, limit: int, offset: int) -> tuple[list[Track], int]:
    base = select(Track).where(Track.collection_id == collection.id)
    total = db.session.scalar(select(func.count()).select_from(base.subquery()))
    tracks = db.session.scalars(base.order_by(Track.created_at, Track.id).limit(limit).offset(offset))
    return list(tracks), total


def track_counts(collection_ids: list) -> dict:
    if not collection_ids:
        return {}
    rows = db.session.execute(select(Track.collection_id, func.count()).where(Track.collection_id.in_(collection_ids)).group_by(Track.collection_id))
    return {collection_id: count for collection_id, count in rows}
