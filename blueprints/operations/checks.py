"""`flask check`: what the database and the storage disagree about, and the repairs that are safe.

Found: orphan files (stored, named by no row), missing files (named by a row, not stored),
broken playlist chains, and a soundboard total that disagrees with its daily statistics.
Repaired with ``--repair`` only where nothing is lost: an orphan older than ``min_age`` is
deleted (younger ones may belong to a write in progress); a track whose file is gone is marked
``error`` and its upload URL given back; a playlist is relinked in the order its links give; the
total is set to the statistics' sum. A missing catalogue or soundboard file cannot be made up:
it is reported and left.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from blueprints.playlists import services as playlists
from blueprints.soundboard import services as soundboard
from extensions import db
from media.storage import get_storage
from models.catalogue import Audio, Image
from models.playlist import Playlist, PlaylistTrack
from models.soundboard import Sound
from models.tracks import Track, TrackStatus

Progress = Callable[[int], None]


@dataclass
class Finding:
    kind: str  # "orphan file", "missing file", "broken playlist", "counter"
    subject: str
    detail: str
    action: str | None = None  # what --repair did; None: not repaired

    @property
    def repaired(self) -> bool:
        return self.action is not None


@dataclass(frozen=True)
class Reference:
    """A stored key and the row that names it."""

    key: str
    owner: str
    track_id: object | None = None
    track_column: str | None = None


def references(connection=None) -> dict[str, Reference]:
    """Every storage key a row names, read in a few plain queries (on ``connection``, e.g. a
    backup's snapshot, or the session's)."""
    execute = (connection or db.session).execute
    found: dict[str, Reference] = {}
    columns = ("audio_key", "cover_key", "uploaded_cover_key", "embedded_cover_key")
    for row in execute(select(Track.id, *(getattr(Track, c) for c in columns))):
        for column, key in zip(columns, row[1:]):
            if key:
                found[key] = Reference(key, f"track {row.id}", row.id, column)
    for audio_id, key in execute(select(Audio.id, Audio.storage_key).where(Audio.storage_key.is_not(None))):
        found[key] = Reference(key, f"audio {audio_id}")
    for image_id, path in execute(select(Image.id, Image.path)):
        found[f"images/{path}"] = Reference(f"images/{path}", f"image {image_id}")
    for sound_id, filename in execute(select(Sound.id, Sound.filename)):
        key = soundboard.storage_key(filename)
        found[key] = Reference(key, f"sound {sound_id}")
    return found


def is_derived(key: str, refs: dict[str, Reference]) -> bool:
    """Thumbnails (``thumbs/<width>/<image path>``) belong to their image, made again on demand."""
    parts = key.split("/", 2)
    return len(parts) == 3 and parts[0] == "thumbs" and f"images/{parts[2]}" in refs


@dataclass(frozen=True)
class Inventory:
    stored_before: set[str]
    refs: dict[str, Reference]
    stored_after: set[str]
    playlists: int

    @property
    def size(self) -> int:
        """Steps for a progress bar."""
        return len(self.stored_before - set(self.refs)) + len(self.refs) + self.playlists


def take_inventory() -> Inventory:
    storage = get_storage()
    # Stored keys first, rows second: a file stored after its row's commit is then always named;
    # listed again after, so a file deleted after its row's commit is not called missing.
    stored_before = set(storage.keys())
    refs = references()
    playlist_count = db.session.scalar(select(func.count(Playlist.id)))
    db.session.rollback()
    return Inventory(stored_before, refs, set(storage.keys()), playlist_count)


def check_files(inventory: Inventory, repair: bool, min_age: float, progress: Progress) -> list[Finding]:
    storage = get_storage()
    refs, stored_after = inventory.refs, inventory.stored_after
    findings = []
    for key in sorted(inventory.stored_before - set(refs)):
        progress(1)
        if is_derived(key, refs) or key not in stored_after:
            continue
        finding = Finding("orphan file", key, "stored, but no row names it")
        if repair:
            stat = storage.stat(key)
            age = (datetime.now(UTC) - stat.modified).total_seconds() if stat else None
            if age is None:
                continue  # gone meanwhile
            if age >= min_age:
                storage.delete(key)
                finding.action = "deleted"
            else:
                finding.detail += f"; written {int(age)} s ago, may belong to a write in progress (see --min-age)"
        findings.append(finding)
    for key, ref in sorted(refs.items()):
        progress(1)
        if key in stored_after:
            continue
        finding = Finding("missing file", key, f"named by {ref.owner}, not in the storage")
        if repair and ref.track_id is not None:
            finding.action = _forget_track_file(ref)
        findings.append(finding)
    return findings


def _forget_track_file(ref: Reference) -> str | None:
    """A track whose audio is gone is marked error with its upload URL usable again; a gone cover
    is forgotten. Not while it is processing: the job reports a missing file itself."""
    track = db.session.get(Track, ref.track_id)
    if track is None or getattr(track, ref.track_column) != ref.key or get_storage().exists(ref.key):
        db.session.rollback()
        return None
    if ref.track_column == "audio_key":
        if track.status == TrackStatus.processing:
            db.session.rollback()
            return None
        track.audio_key, track.audio_upload_used_at = None, None
        track.status, track.error_reason = TrackStatus.error, "The audio file is missing; upload it again."
        db.session.commit()
        return "track marked error, its upload URL usable again"
    for column in ("cover_key", "uploaded_cover_key", "embedded_cover_key"):
        if getattr(track, column) == ref.key:
            setattr(track, column, None)
    if track.cover_key is None:
        track.cover_key = track.uploaded_cover_key or track.embedded_cover_key
    db.session.commit()
    return "cover forgotten"


def check_playlists(repair: bool, progress: Progress) -> list[Finding]:
    findings = []
    ids = list(db.session.scalars(select(Playlist.id).order_by(Playlist.id)))
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        lists = {p.id: p for p in db.session.scalars(select(Playlist).where(Playlist.id.in_(batch)))}
        tracks: dict[int, list[PlaylistTrack]] = {playlist_id: [] for playlist_id in batch}
        for track in db.session.scalars(select(PlaylistTrack).where(PlaylistTrack.playlist_id.in_(batch))):
            tracks[track.playlist_id].append(track)
        broken = [(lists[i], problems) for i in batch if (problems := playlists.chain_problems(lists[i], tracks[i]))]
        db.session.rollback()
        for playlist, problems in broken:
            finding = Finding("broken playlist", f"playlist {playlist.public_id} (id {playlist.id})", "; ".join(problems))
            if repair:
                count = playlists.rebuild_chain(playlist.id)
                finding.action = f"relinked {count} track(s) in the order their links give, then by position"
            findings.append(finding)
        progress(len(batch))
    return findings


def check_counter(repair: bool) -> list[Finding]:
    counter, total = soundboard.counter_and_statistics()
    db.session.rollback()
    if counter == total:
        return []
    finding = Finding("counter", "soundboard total", f"the counter says {counter}, the daily statistics add up to {total}")
    if repair:
        before, after = soundboard.align_counter_with_statistics()
        if before != after:
            finding.action = f"counter set from {before} to {after}, the statistics' sum"
        else:
            return []  # clicks made them agree meanwhile
    return [finding]


def run_checks(inventory: Inventory, repair: bool, min_age: float, progress: Progress) -> list[Finding]:
    findings = check_files(inventory, repair, min_age, progress)
    findings += check_playlists(repair, progress)
    findings += check_counter(repair)
    return findings
