"""Demo Tracks v1 content: the demo admin gets a collection of processed tracks, one with cover art."""
from __future__ import annotations

import io

from mutagen.id3 import APIC, ID3
from sqlalchemy import select

from blueprints.tracks import processing, services
from demo.audio import encode, render
from demo.images import cover
from demo.seed import seed_step
from extensions import db
from models.tracks import Collection
from models.user import User

COLLECTION_TITLE = "Demo tapes"
# file name, kind, format, player title, subtitle
TAPES = [
    ("sunrise-jingle.mp3", "jingle", "mp3", "Sunrise jingle", "Side A"),
    ("night-drive.flac", "sweep", "flac", "Night drive", "Side A"),
    ("chatterbox.ogg", "bleeps", "ogg", "Chatterbox", "Side B"),
]


def _with_cover(mp3: bytes, title: str) -> bytes:
    """Embed generated cover art, so processing shows cover extraction and the derived colour."""
    buffer = io.BytesIO(mp3)
    tags = ID3()
    tags.add(APIC(mime="image/png", type=3, desc="cover", data=cover(title, 320, seed=3)))
    tags.save(buffer)
    return buffer.getvalue()


@seed_step("tracks", order=30, count=lambda: len(TAPES))
def seed_tracks(advance) -> list[str]:
    owner = db.session.scalar(select(User).where(User.name == "admin"))
    if owner is None or db.session.scalar(select(Collection.id).where(Collection.user_id == owner.id, Collection.title == COLLECTION_TITLE)):
        advance(len(TAPES))
        return []
    collection = services.create_collection(owner, {"title": COLLECTION_TITLE, "description": "Made by the demo seed."})
    for number, (file_name, kind, fmt, title, subtitle) in enumerate(TAPES):
        data = encode(render(kind, seed=200 + number, seconds=4.0), fmt)
        if fmt == "mp3":
            data = _with_cover(data, title)
        track = services.create_track(
            owner, {"collection_id": str(collection.id), "file_name": file_name, "player_title": title, "player_subtitle": subtitle}
        )
        services.ingest_audio(track, io.BytesIO(data))
        processing.process_track(track.id)  # synchronously: the demo is ready when `make run` serves
        advance(1)
    return [f"Tracks v1: collection '{COLLECTION_TITLE}' with {len(TAPES)} tracks for the demo admin."]
