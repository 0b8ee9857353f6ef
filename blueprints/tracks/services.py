"""Tracks v1 use cases: collections, creators, tracks, signed uploads. Everything is scoped to its
owner: another user's ids are simply not found."""
from __future__ import annotations

import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any, Mapping

from sqlalchemy import func, select, update

from blueprints.tracks import validation as v
from blueprints.tracks.signing import get_upload_signer
from domain import DomainError, Forbidden, NotFound, ValidationFailed
from extensions import db
from media.images import inspect_image
from media.inspection import inspect_audio
from media.storage import get_storage, max_upload_bytes, staged_upload
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
            track.status = TrackStatus.processing
            track.audio_upload_used_at = datetime.now(UTC)  # no signed URL will be handed out for it
            db.session.add(track)
            created.append((track, staged))
        if created:
            db.session.commit()
        for track, staged in created:
            staged.store(track.audio_key)
    return [track for track, _ in created], rejected


def presigned_uploads(track: Track) -> dict[str, dict]:
    signer = get_upload_signer()
    return {
        "track_upload": signer.presign(track.id, "audio").to_json(),
        "track_cover_upload": signer.presign(track.id, "cover").to_json(),
    }


# ---------------------------------------------------------------------------------------------
# Signed uploads
# ---------------------------------------------------------------------------------------------


def _claim(track_id: uuid.UUID, column) -> None:
    """The first request to set the column wins (one atomic UPDATE); later uses are refused."""
    claimed = db.session.execute(
        update(Track).where(Track.id == track_id, column.is_(None)).values({column.key: datetime.now(UTC)})
    ).rowcount
    db.session.commit()
    if not claimed:
        raise Forbidden("This upload URL has already been used.")


def _release(track_id: uuid.UUID, column) -> None:
    db.session.rollback()
    db.session.execute(update(Track).where(Track.id == track_id).values({column.key: None}))
    db.session.commit()


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
    """The PUT: stream to disk, inspect, store; 200 only when the audio is accepted."""
    track = _verified_track(raw_id, signature, "audio")
    _claim(track.id, Track.audio_upload_used_at)
    try:
        return ingest_audio(track, stream)
    except DomainError as error:
        # A rejected file leaves the URL usable for a corrected upload, and says why on the track.
        _release(track.id, Track.audio_upload_used_at)
        db.session.execute(update(Track).where(Track.id == track.id).values(status=TrackStatus.error, error_reason=error.message[:500]))
        db.session.commit()
        raise
    except Exception:
        _release(track.id, Track.audio_upload_used_at)
        raise


def ingest_audio(track: Track, stream) -> Track:
    """Inspect and store a track's audio, leaving it ``processing`` (the seed step calls this too)."""
    with staged_upload(stream) as staged:
        info = inspect_audio(staged.path, max_bytes=max_upload_bytes(), peak_count=WAVEFORM_PEAKS)
        key = f"tracks/{track.id}/audio.{info.extension}"
        track = db.session.get(Track, track.id, populate_existing=True)
        track.audio_key, track.format, track.mimetype = key, info.format, info.mimetype
        track.duration, track.size, track.waveform = info.duration, info.size, info.peaks
        track.status, track.error_reason, track.claimed_at = TrackStatus.processing, None, None
        db.session.commit()
        staged.store(key)
    return track


def receive_cover(raw_id: str, signature: str | None, file_storage) -> Track:
    track = _verified_track(raw_id, signature, "cover")
    if file_storage is None:
        raise ValidationFailed({"file": ["A multipart field named file is required."]})
    _claim(track.id, Track.cover_upload_used_at)
    try:
        with staged_upload(file_storage.stream, max_bytes=min(max_upload_bytes(), 20 * 1024 * 1024)) as staged:
            info = inspect_image(staged.path.read_bytes())
            key = f"tracks/{track.id}/cover-upload.{info.extension}"
            track = db.session.get(Track, track.id, populate_existing=True)
            track.uploaded_cover_key, track.uploaded_cover_mimetype = key, info.mimetype
            track.cover_key, track.cover_mimetype = key, info.mimetype
            db.session.commit()
            staged.store(key)
    except Exception:
        _release(track.id, Track.cover_upload_used_at)
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
