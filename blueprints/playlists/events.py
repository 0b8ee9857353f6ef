"""PlaylistCreated / PlaylistUpdated / PlaylistDeleted, sent as Flask (blinker) signals after the commit.

Receivers get ``playlist`` (the API representation as a dict) and ``user_id``. A rolled-back change
sends nothing because services send only once the commit has returned.
"""
from __future__ import annotations

from blinker import Namespace
from flask import Flask

from extensions import db
from models.playlist import PlaylistActivity

_signals = Namespace()
playlist_created = _signals.signal("PlaylistCreated")
playlist_updated = _signals.signal("PlaylistUpdated")
playlist_deleted = _signals.signal("PlaylistDeleted")

EVENT_NAMES = {playlist_created: "created", playlist_updated: "updated", playlist_deleted: "deleted"}


def _record(event: str):
    def receiver(sender: Flask, playlist: dict, user_id: int, **extra) -> None:
        db.session.add(PlaylistActivity(user_id=user_id, playlist_hashid=playlist["id"], playlist_name=playlist["name"], event=event))
        db.session.commit()

    receiver.__name__ = f"record_{event}"
    return receiver


# Module-level receivers: blinker keeps weak references, so they must outlive this import.
record_created = _record("created")
record_updated = _record("updated")
record_deleted = _record("deleted")


def connect_activity_log() -> None:
    playlist_created.connect(record_created)
    playlist_updated.connect(record_updated)
    playlist_deleted.connect(record_deleted)
