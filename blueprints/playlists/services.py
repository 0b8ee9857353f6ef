"""Playlist use cases: management with the spec's checks, visibility, and the linked list of tracks.

Every track write starts by bumping the playlist's ``lock_version``: on PostgreSQL that UPDATE holds
the row lock until the commit, on SQLite it takes the database write lock. Either way concurrent
writers on one playlist run one after another and always read the list as the last one left it.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

from flask import current_app
from sqlalchemy import ColumnElement, delete, func, or_, select, update

from blueprints.playlists import events
from domain import DomainError, Forbidden, NotFound, ValidationFailed
from extensions import db
from media.storage import get_storage, staged_upload
from models.base import isoformat, utcnow
from models.catalogue import Audio, Image, Video
from models.playlist import PRIVATE, PUBLIC, UNLISTED, VISIBILITIES, Playlist, PlaylistTrack, is_public_id, playlist_image
from models.user import User

PLAYLIST_NOT_FOUND = "No query results for model [Playlist]"
TRACK_NOT_FOUND = "No query results for model [PlaylistTrack]"
NAME_MAX = 192
DESCRIPTION_MAX = 1000  # upstream's PlaylistDescriptionField: max:1000


class LimitExceeded(DomainError):
    """The spec's own body for the playlist limit: {"error": "..."}."""

    status = 403


# ---------------------------------------------------------------------------------------------
# Serialisation used by events, exports and write responses
# ---------------------------------------------------------------------------------------------


def playlist_json(playlist: Playlist) -> dict[str, Any]:
    return {
        "id": playlist.public_id,
        "name": playlist.name,
        "description": playlist.description,
        "visibility": playlist.visibility,
        "user_id": playlist.user_id,
        "first_id": playlist.first_id,
        "last_id": playlist.last_id,
        "created_at": isoformat(playlist.created_at),
        "updated_at": isoformat(playlist.updated_at),
    }


# ---------------------------------------------------------------------------------------------
# Lookups and visibility
# ---------------------------------------------------------------------------------------------


def visible_clause(user_id: int | None):
    """Who may open a playlist directly: public and unlisted to anyone, private only to its owner."""
    allowed = Playlist.visibility.in_([PUBLIC, UNLISTED])
    return or_(allowed, Playlist.user_id == user_id) if user_id is not None else allowed


def listed_clause(user_id: int | None):
    """Who may find a playlist in lists, searches and includes: public ones, plus the caller's own."""
    return or_(Playlist.visibility == PUBLIC, Playlist.user_id == user_id) if user_id is not None else Playlist.visibility == PUBLIC


def _cover_of_a_playlist(*conditions) -> ColumnElement:
    """EXISTS: the outer query's image is the cover of a playlist meeting ``conditions``."""
    return (
        select(playlist_image.c.image_id)
        .join(Playlist, Playlist.id == playlist_image.c.playlist_id)
        .where(playlist_image.c.image_id == Image.id, *conditions)
        .correlate_except(playlist_image, Playlist)
        .exists()
    )


def image_listed_clause(user_id: int | None) -> ColumnElement:
    """Who may find an image (lists, shows, includes, the gallery): covers of private or unlisted
    playlists only their owner; every other image anyone."""
    return or_(~_cover_of_a_playlist(), _cover_of_a_playlist(listed_clause(user_id)))


def image_reachable_clause(user_id: int | None) -> ColumnElement:
    """Who may fetch an image's file: also anyone for an unlisted playlist's cover, which that
    playlist's page shows to whoever has the link (its path holds 64 random bits)."""
    return or_(~_cover_of_a_playlist(), _cover_of_a_playlist(or_(listed_clause(user_id), Playlist.visibility == UNLISTED)))


def find_visible(public_id: str, user: User | None) -> Playlist:
    user_id = user.id if user is not None and user.is_authenticated else None
    playlist = None
    if is_public_id(public_id):
        playlist = db.session.scalar(select(Playlist).where(Playlist.public_id == public_id, visible_clause(user_id)))
    if playlist is None:
        raise NotFound(PLAYLIST_NOT_FOUND)
    return playlist


def find_owned(public_id: str, user: User) -> Playlist:
    """Checks in the spec's order: exists and visible (404), owner (403), feature switch (403)."""
    playlist = find_visible(public_id, user)
    if playlist.user_id != user.id:
        raise Forbidden()
    require_management_enabled()
    return playlist


def require_management_enabled() -> None:
    if not current_app.config["ALLOW_PLAYLIST_MANAGEMENT"]:
        raise Forbidden()


# ---------------------------------------------------------------------------------------------
# Management
# ---------------------------------------------------------------------------------------------


def validate_playlist(data: Any, *, partial: bool) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ValidationFailed({"body": ["The request body must be a JSON object."]})
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    if "name" in data or not partial:
        name = data.get("name")
        if name is None or (isinstance(name, str) and not name.strip()):
            errors["name"] = ["The name field is required"]
        elif not isinstance(name, str):
            errors["name"] = ["The name field must be a string"]
        elif len(name.strip()) > NAME_MAX:
            errors["name"] = [f"The name field must not be greater than {NAME_MAX} characters"]
        else:
            clean["name"] = name.strip()
    if "description" in data:
        description = data.get("description")
        if description is not None and not isinstance(description, str):
            errors["description"] = ["The description field must be a string"]
        elif description is not None and len(description) > DESCRIPTION_MAX:
            errors["description"] = [f"The description field must not be greater than {DESCRIPTION_MAX} characters"]
        else:
            clean["description"] = description.strip() if description else None
    if "visibility" in data or not partial:
        visibility = data.get("visibility")
        if visibility is None:
            errors["visibility"] = ["The visibility field is required"]
        elif isinstance(visibility, bool) or not isinstance(visibility, int) or visibility not in VISIBILITIES:
            errors["visibility"] = ["The selected visibility is invalid"]  # an integer, as the spec says: "0" is not
        else:
            clean["visibility"] = visibility
    if errors:
        raise ValidationFailed(errors)
    return clean


def _new_playlist(user: User, data: Any) -> Playlist:
    """Checks and adds a playlist to the session (flushed, not committed)."""
    require_management_enabled()
    owned = db.session.scalar(select(func.count()).select_from(Playlist).where(Playlist.user_id == user.id))
    if owned >= current_app.config["PLAYLIST_LIMIT"]:
        raise LimitExceeded("User has exceeded the playlist limit")
    playlist = Playlist(user_id=user.id, **validate_playlist(data, partial=False))
    db.session.add(playlist)
    db.session.flush()
    return playlist


def _announce_created(playlist: Playlist) -> None:
    events.playlist_created.send(current_app._get_current_object(), playlist=playlist_json(playlist), user_id=playlist.user_id)


def create_playlist(user: User, data: Any) -> Playlist:
    playlist = _new_playlist(user, data)
    db.session.commit()
    _announce_created(playlist)
    return playlist


def update_playlist(playlist: Playlist, data: Any) -> Playlist:
    changes = validate_playlist(data, partial=True)
    for name, value in changes.items():
        setattr(playlist, name, value)
    playlist.updated_at = utcnow()
    db.session.commit()
    events.playlist_updated.send(current_app._get_current_object(), playlist=playlist_json(playlist), user_id=playlist.user_id)
    return playlist


def delete_playlist(playlist: Playlist) -> None:
    """Permanent: tracks and images (rows, then files) go in the same transaction as the playlist."""
    data = playlist_json(playlist)
    image_rows = db.session.execute(
        select(Image.id, Image.path).join(playlist_image, playlist_image.c.image_id == Image.id).where(playlist_image.c.playlist_id == playlist.id)
    ).all()
    db.session.execute(delete(PlaylistTrack).where(PlaylistTrack.playlist_id == playlist.id))
    db.session.execute(delete(playlist_image).where(playlist_image.c.playlist_id == playlist.id))
    if image_rows:
        db.session.execute(delete(Image).where(Image.id.in_([row.id for row in image_rows])))
    db.session.execute(delete(Playlist).where(Playlist.id == playlist.id))
    db.session.commit()
    storage = get_storage()
    for row in image_rows:
        storage.delete(f"images/{row.path}")
    events.playlist_deleted.send(current_app._get_current_object(), playlist=data, user_id=data["user_id"])


def _replace_cover(playlist: Playlist, image: Image) -> list:
    """Link ``image`` as the playlist's one cover, deleting the previous image rows (no commit);
    returns their paths, whose files the caller deletes once the commit has succeeded."""
    old = db.session.execute(
        select(Image.id, Image.path).join(playlist_image, playlist_image.c.image_id == Image.id).where(playlist_image.c.playlist_id == playlist.id)
    ).all()
    db.session.execute(delete(playlist_image).where(playlist_image.c.playlist_id == playlist.id))
    if old:
        db.session.execute(delete(Image).where(Image.id.in_([row.id for row in old])))
    db.session.flush()
    db.session.execute(playlist_image.insert().values(playlist_id=playlist.id, image_id=image.id))
    return [row.path for row in old]


def set_cover(playlist: Playlist, image: Image) -> None:
    """One cover per playlist: replacing it deletes the previous image and its file."""
    old_paths = _replace_cover(playlist, image)
    db.session.commit()
    for path in old_paths:
        get_storage().delete(f"images/{path}")


def upload_cover(playlist: Playlist, stream) -> Image:
    """The playlist page's cover upload: the image and the link to it in one commit, then the file."""
    from blueprints.catalogue.services import add_staged_image

    with staged_upload(stream) as staged:
        image = add_staged_image(staged, "Cover")
        db.session.flush()
        old_paths = _replace_cover(playlist, image)
        db.session.commit()
        staged.store(f"images/{image.path}")
    for path in old_paths:
        get_storage().delete(f"images/{path}")
    return image


def cover_path(playlist_id: int) -> str | None:
    return db.session.scalar(
        select(Image.path).join(playlist_image, playlist_image.c.image_id == Image.id).where(playlist_image.c.playlist_id == playlist_id)
    )


# ---------------------------------------------------------------------------------------------
# Tracks: the linked list
# ---------------------------------------------------------------------------------------------


def _lock(playlist_id: int) -> Playlist:
    """Serialise writers on one playlist, then read its current state."""
    db.session.execute(update(Playlist).where(Playlist.id == playlist_id).values(lock_version=Playlist.lock_version + 1))
    playlist = db.session.get(Playlist, playlist_id, populate_existing=True)
    if playlist is None:
        raise NotFound(PLAYLIST_NOT_FOUND)
    return playlist


def _track_in(playlist_id: int, track_id: Any, field: str) -> PlaylistTrack:
    if isinstance(track_id, bool) or not isinstance(track_id, int):
        if isinstance(track_id, str) and track_id.isdecimal() and len(track_id) <= 10:  # "²" is a digit int() refuses
            track_id = int(track_id)
        else:
            raise ValidationFailed({field: [f"The {field} field must be an integer"]})
    track = db.session.get(PlaylistTrack, track_id, populate_existing=True)
    if track is None or track.playlist_id != playlist_id:
        raise ValidationFailed({field: [f"The selected {field} is invalid"]})
    return track


def find_track(playlist: Playlist, track_id: int) -> PlaylistTrack:
    track = db.session.get(PlaylistTrack, track_id)
    if track is None or track.playlist_id != playlist.id:
        raise NotFound(TRACK_NOT_FOUND)
    return track


def _unlink(playlist: Playlist, track: PlaylistTrack) -> None:
    previous = db.session.get(PlaylistTrack, track.previous_id) if track.previous_id else None
    following = db.session.get(PlaylistTrack, track.next_id) if track.next_id else None
    if previous is not None:
        previous.next_id = track.next_id
    else:
        playlist.first_id = track.next_id
    if following is not None:
        following.previous_id = track.previous_id
    else:
        playlist.last_id = track.previous_id
    track.previous_id = track.next_id = None


def _link(playlist: Playlist, track: PlaylistTrack, *, after: PlaylistTrack | None, before: PlaylistTrack | None) -> None:
    """Place ``track`` after ``after`` or before ``before``; neither appends."""
    if after is None and before is None:
        after = db.session.get(PlaylistTrack, playlist.last_id) if playlist.last_id else None
        if after is None:  # empty list
            track.previous_id = track.next_id = None
            track.position = 0
            playlist.first_id = playlist.last_id = track.id
            return
    if after is not None:
        following = db.session.get(PlaylistTrack, after.next_id) if after.next_id else None
        previous = after
    else:
        following = before
        previous = db.session.get(PlaylistTrack, before.previous_id) if before.previous_id else None
    # Open a gap in the positions right after ``previous`` (one UPDATE, however long the list).
    new_position = previous.position + 1 if previous is not None else following.position
    db.session.flush()
    db.session.execute(
        update(PlaylistTrack)
        .where(PlaylistTrack.playlist_id == playlist.id, PlaylistTrack.position >= new_position, PlaylistTrack.id != track.id)
        .values(position=PlaylistTrack.position + 1)
        .execution_options(synchronize_session=False)
    )
    for loaded in (previous, following):
        if loaded is not None:
            db.session.refresh(loaded, ["position"])
    track.position = new_position
    track.previous_id = previous.id if previous is not None else None
    track.next_id = following.id if following is not None else None
    if previous is not None:
        previous.next_id = track.id
    else:
        playlist.first_id = track.id
    if following is not None:
        following.previous_id = track.id
    else:
        playlist.last_id = track.id


def _placement(playlist: Playlist, data: Mapping[str, Any]) -> tuple[PlaylistTrack | None, PlaylistTrack | None]:
    if data.get("previous") is not None and data.get("next") is not None:
        # Upstream's prohibits rules fail on both keys (TrackStoreTest 'prohibits next and previous').
        raise ValidationFailed(
            {
                "next": ["The next field prohibits previous from being present"],
                "previous": ["The previous field prohibits next from being present"],
            }
        )
    after = _track_in(playlist.id, data["previous"], "previous") if data.get("previous") is not None else None
    before = _track_in(playlist.id, data["next"], "next") if data.get("next") is not None else None
    return after, before


def _track_media(data: Mapping[str, Any], *, current: PlaylistTrack | None = None) -> dict[str, Any]:
    """The audio (required on create) and the video, which must be one of that audio's videos."""
    errors: dict[str, list[str]] = {}
    audio_id = data.get("audio_id") if "audio_id" in data or current is None else current.audio_id
    video_id = data.get("video_id") if "video_id" in data or current is None else current.video_id
    if audio_id is None:
        errors["audio_id"] = ["The audio id field is required"]
    elif isinstance(audio_id, bool) or not isinstance(audio_id, int):
        errors["audio_id"] = ["The audio id field must be an integer"]
    elif db.session.scalar(select(Audio.id).where(Audio.id == audio_id, Audio.deleted_at.is_(None))) is None:
        errors["audio_id"] = ["The selected audio id is invalid"]
    if video_id is not None:
        if isinstance(video_id, bool) or not isinstance(video_id, int):
            errors["video_id"] = ["The video id field must be an integer"]
        elif db.session.scalar(select(Video.audio_id).where(Video.id == video_id, Video.deleted_at.is_(None))) != audio_id:
            errors["video_id"] = ["The selected video id is invalid"]
    if errors:
        raise ValidationFailed(errors)
    return {"audio_id": audio_id, "video_id": video_id}


def track_limit_message(limit: int) -> str:
    return f"Playlists cannot contain more than '{limit}' tracks."  # upstream's PlaylistExceedsTrackLimit


def add_track(playlist: Playlist, data: Any) -> PlaylistTrack:
    track = _insert_track(playlist, data)
    db.session.commit()
    return track


def _insert_track(playlist: Playlist, data: Any) -> PlaylistTrack:
    """Validate and link one track into the list, in the caller's transaction (rolled back on errors)."""
    if not isinstance(data, Mapping):
        raise ValidationFailed({"body": ["The request body must be a JSON object."]})
    media = _track_media(data)
    audio_id, video_id = media["audio_id"], media["video_id"]
    playlist = _lock(playlist.id)
    limit = current_app.config["PLAYLIST_TRACK_LIMIT"]
    if playlist.track_count >= limit:
        db.session.rollback()
        raise Forbidden(track_limit_message(limit))
    try:
        after, before = _placement(playlist, data)
    except ValidationFailed:
        db.session.rollback()
        raise
    track = PlaylistTrack(playlist_id=playlist.id, audio_id=audio_id, video_id=video_id, position=0)
    db.session.add(track)
    db.session.flush()
    _link(playlist, track, after=after, before=before)
    playlist.track_count += 1
    playlist.updated_at = utcnow()
    db.session.flush()
    return track


NEW_PLAYLIST = "__new__"


class DuplicateTrack(DomainError):
    """The audio is already in the playlist: pages ask before adding it a second time."""

    status = 409

    def __init__(self, playlist: Playlist):
        super().__init__(f"Already in {playlist.name}.")
        self.playlist = playlist


def contains_audio(playlist_id: int, audio_id: Any) -> bool:
    return db.session.scalar(
        select(PlaylistTrack.id).where(PlaylistTrack.playlist_id == playlist_id, PlaylistTrack.audio_id == audio_id).limit(1)
    ) is not None


def add_audio_to_playlist(user: User, audio_id: Any, target: str, *, new_name: str | None = None, allow_duplicate: bool = False) -> tuple[Playlist, PlaylistTrack]:
    """The page's "Add to playlist": to one of the user's playlists (asking before a duplicate), or to a
    new private playlist created with it as its first track, in one transaction."""
    created = target == NEW_PLAYLIST
    try:
        if created:
            playlist = _new_playlist(user, {"name": new_name or "", "visibility": PRIVATE})
        else:
            playlist = find_owned(target, user)
            if not allow_duplicate and contains_audio(playlist.id, audio_id):
                raise DuplicateTrack(playlist)
        track = _insert_track(playlist, {"audio_id": audio_id})
    except DomainError:
        db.session.rollback()
        raise
    db.session.commit()
    if created:
        _announce_created(playlist)
    return playlist, track


def restore_track(playlist: Playlist, audio_id: Any, previous_id: int | None, next_id: int | None) -> PlaylistTrack:
    """Undo of a removal: back beside the neighbour it had, if that neighbour is still in the list."""
    placement: dict[str, Any] = {}
    for field, neighbour_id in (("previous", previous_id), ("next", next_id)):
        neighbour = db.session.get(PlaylistTrack, neighbour_id) if neighbour_id else None
        if neighbour is not None and neighbour.playlist_id == playlist.id:
            placement = {field: neighbour.id}
            break
    return add_track(playlist, {"audio_id": audio_id, **placement})


def update_track(playlist: Playlist, track_id: int, data: Any) -> PlaylistTrack:
    """Changes the track's audio or video and, with ``previous`` or ``next``, moves it; a body with
    neither changes it in place (upstream's TrackUpdateTest 'update')."""
    if not isinstance(data, Mapping):
        raise ValidationFailed({"body": ["The request body must be a JSON object."]})
    playlist = _lock(playlist.id)
    try:
        track = find_track(playlist, track_id)
        db.session.refresh(track)
        media = _track_media(data, current=track) if ("audio_id" in data or "video_id" in data) else None
        after, before = _placement(playlist, data)
        if track in (after, before):
            raise ValidationFailed({"previous" if after is track else "next": ["A track cannot be moved next to itself"]})
    except DomainError:
        db.session.rollback()
        raise
    if media is not None:
        track.audio_id, track.video_id = media["audio_id"], media["video_id"]
        track.updated_at = utcnow()
    if after is None and before is None:
        playlist.updated_at = utcnow()
        db.session.commit()
        return track
    _unlink(playlist, track)
    db.session.flush()
    for neighbour in (after, before):
        if neighbour is not None:
            db.session.refresh(neighbour)
    _link(playlist, track, after=after, before=before)
    playlist.updated_at = utcnow()
    db.session.commit()
    return track


def track_deleted_message(track_id: int) -> str:
    return f"Playlist Track '{track_id}' was deleted."  # upstream's DestroyTrackAction (getName() is the key)


def remove_track(playlist: Playlist, track_id: int) -> dict[str, Any]:
    playlist = _lock(playlist.id)
    try:
        track = find_track(playlist, track_id)
        db.session.refresh(track)
    except DomainError:
        db.session.rollback()
        raise
    removed = {"track_id": track.id, "audio_id": track.audio_id, "video_id": track.video_id, "previous_id": track.previous_id, "next_id": track.next_id}
    _unlink(playlist, track)
    db.session.delete(track)
    playlist.track_count -= 1
    playlist.updated_at = utcnow()
    db.session.commit()
    return removed


def remove_audio_everywhere(audio_id: int) -> None:
    """Before an audio track is deleted: take it out of every playlist, keeping each chain whole.
    Runs inside the caller's transaction (no commit)."""
    tracks = db.session.execute(select(PlaylistTrack.id, PlaylistTrack.playlist_id).where(PlaylistTrack.audio_id == audio_id)).all()
    for track_id, playlist_id in tracks:
        playlist = _lock(playlist_id)
        track = db.session.get(PlaylistTrack, track_id, populate_existing=True)
        _unlink(playlist, track)
        db.session.delete(track)
        playlist.track_count -= 1
        db.session.flush()


def ordered_tracks(playlist: Playlist) -> list[PlaylistTrack]:
    return list(db.session.scalars(select(PlaylistTrack).where(PlaylistTrack.playlist_id == playlist.id).order_by(PlaylistTrack.position)))


def chain_is_consistent(playlist_id: int) -> bool:
    """Walk the links from first to last: every track exactly once, both directions agree."""
    playlist = db.session.get(Playlist, playlist_id, populate_existing=True)
    tracks = {t.id: t for t in db.session.scalars(select(PlaylistTrack).where(PlaylistTrack.playlist_id == playlist_id))}
    seen, previous, current = [], None, playlist.first_id
    while current is not None:
        track = tracks.get(current)
        if track is None or current in seen or track.previous_id != previous:
            return False
        seen.append(current)
        previous, current = current, track.next_id
    positions = [tracks[i].position for i in seen]
    return previous == playlist.last_id and len(seen) == len(tracks) == playlist.track_count and positions == sorted(set(positions))


def chain_problems(playlist: Playlist, tracks: list[PlaylistTrack]) -> list[str]:
    """What is wrong with one playlist's linked list (empty when it is whole), for ``flask check``."""
    by_id = {t.id: t for t in tracks}
    problems: list[str] = []
    seen: set[int] = set()
    walked: list[PlaylistTrack] = []
    previous, current = None, playlist.first_id
    while current is not None:
        track = by_id.get(current)
        if track is None:
            problems.append(f"the chain points at track {current}, which is not in the playlist")
            break
        if current in seen:
            problems.append(f"the chain loops back to track {current}")
            break
        if track.previous_id != previous:
            problems.append(f"track {current} says its previous is {track.previous_id}, the chain says {previous}")
        seen.add(current)
        walked.append(track)
        previous, current = current, track.next_id
    if previous != playlist.last_id and not problems:
        problems.append(f"the chain ends at {previous}, the playlist says its last track is {playlist.last_id}")
    if unreachable := sorted(set(by_id) - seen):
        problems.append(f"{len(unreachable)} track(s) not reachable from the first: {unreachable[:10]}")
    positions = [t.position for t in walked]
    if positions != sorted(set(positions)):
        problems.append("positions do not increase along the chain")
    if playlist.track_count != len(tracks):
        problems.append(f"track_count is {playlist.track_count}, the playlist holds {len(tracks)}")
    return problems


def rebuild_chain(playlist_id: int) -> int:
    """Relink a broken playlist: the order the surviving links give, then every track they do not
    reach in position order; rewrites links, positions, ends and count. Returns the track count."""
    playlist = _lock(playlist_id)
    tracks = list(db.session.scalars(select(PlaylistTrack).where(PlaylistTrack.playlist_id == playlist_id).order_by(PlaylistTrack.position, PlaylistTrack.id)))
    by_id = {t.id: t for t in tracks}
    ordered: list[PlaylistTrack] = []
    current = playlist.first_id
    while current in by_id and by_id[current] not in ordered:
        ordered.append(by_id[current])
        current = by_id[current].next_id
    ordered += [t for t in tracks if t not in ordered]
    for index, track in enumerate(ordered):
        track.position = index
        track.previous_id = ordered[index - 1].id if index else None
        track.next_id = ordered[index + 1].id if index + 1 < len(ordered) else None
    playlist.first_id = ordered[0].id if ordered else None
    playlist.last_id = ordered[-1].id if ordered else None
    playlist.track_count = len(ordered)
    db.session.commit()
    return len(ordered)


# ---------------------------------------------------------------------------------------------
# Export and import
# ---------------------------------------------------------------------------------------------


def export_rows(playlist: Playlist) -> list[tuple[PlaylistTrack, Audio]]:
    statement = (
        select(PlaylistTrack, Audio)
        .join(Audio, Audio.id == PlaylistTrack.audio_id)
        .where(PlaylistTrack.playlist_id == playlist.id)
        .order_by(PlaylistTrack.position)
    )
    return [(track, audio) for track, audio in db.session.execute(statement)]


def export_json(playlist: Playlist) -> dict[str, Any]:
    return {
        "format": "themeboard.playlist/1",
        "playlist": {"name": playlist.name, "description": playlist.description, "visibility": playlist.visibility},
        "tracks": [{"basename": audio.basename, "audio_id": audio.id, "video_id": track.video_id} for track, audio in export_rows(playlist)],
    }


def import_json(user: User, raw: bytes | str) -> tuple[Playlist, int]:
    """A new playlist from an export; tracks whose audio no longer exists are skipped (and counted)."""
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed({"file": ["The file is not valid JSON."]}) from None
    if not isinstance(document, dict) or not isinstance(document.get("playlist"), dict) or not isinstance(document.get("tracks"), list):
        raise ValidationFailed({"file": ["The file is not a Themeboard playlist export."]})
    meta = document["playlist"]
    basenames = [t.get("basename") for t in document["tracks"] if isinstance(t, dict) and isinstance(t.get("basename"), str)]
    rows = db.session.execute(select(Audio.basename, Audio.id).where(Audio.basename.in_(basenames), Audio.deleted_at.is_(None)))
    audio_ids = {basename: audio_id for basename, audio_id in rows}
    kept = [audio_ids[b] for b in basenames[: current_app.config["PLAYLIST_TRACK_LIMIT"]] if b in audio_ids]
    skipped = min(len(basenames), current_app.config["PLAYLIST_TRACK_LIMIT"]) - len(kept)
    # One transaction: the playlist and its chain of tracks, built in order (no per-track relinking).
    try:
        playlist = _new_playlist(user, {"name": meta.get("name"), "description": meta.get("description"), "visibility": meta.get("visibility", PRIVATE)})
    except DomainError:
        db.session.rollback()
        raise
    tracks = [PlaylistTrack(playlist_id=playlist.id, audio_id=audio_id, position=index) for index, audio_id in enumerate(kept)]
    db.session.add_all(tracks)
    db.session.flush()
    for previous, following in zip(tracks, tracks[1:]):
        previous.next_id, following.previous_id = following.id, previous.id
    if tracks:
        playlist.first_id, playlist.last_id = tracks[0].id, tracks[-1].id
    playlist.track_count = len(tracks)
    db.session.commit()
    _announce_created(playlist)
    return playlist, skipped


# ---------------------------------------------------------------------------------------------
# Reads for the pages
# ---------------------------------------------------------------------------------------------


def browse_public(search: str = "", page: int = 1, per_page: int = 20):
    from blueprints.common.query import search_clause

    statement = select(Playlist).where(Playlist.visibility == PUBLIC)
    if search:
        statement = statement.where(search_clause([Playlist.name, Playlist.description], search))
    return db.paginate(statement.order_by(Playlist.updated_at.desc(), Playlist.id.desc()), page=page, per_page=per_page, error_out=False)


def find_audio(audio_id: int) -> Audio:
    audio = db.session.scalar(select(Audio).where(Audio.id == audio_id, Audio.deleted_at.is_(None)))
    if audio is None:
        raise NotFound("No query results for model [Audio]")
    return audio


def playlists_of(user: User) -> list[Playlist]:
    return list(db.session.scalars(select(Playlist).where(Playlist.user_id == user.id).order_by(Playlist.created_at.desc(), Playlist.id.desc())))


def activity_of(user: User, limit: int = 20):
    from models.playlist import PlaylistActivity

    return list(
        db.session.scalars(select(PlaylistActivity).where(PlaylistActivity.user_id == user.id).order_by(PlaylistActivity.id.desc()).limit(limit))
    )


def owner_names(playlists: list[Playlist]) -> dict[int, str]:
    ids = {p.user_id for p in playlists}
    if not ids:
        return {}
    return {user_id: name for user_id, name in db.session.execute(select(User.id, User.name).where(User.id.in_(ids)))}
