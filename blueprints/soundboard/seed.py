"""Demo soundboard: short synthesised MP3 clips in two themes, and a few milestones."""
from __future__ import annotations

import io

from sqlalchemy import select

from blueprints.soundboard import services
from demo.audio import encode, render
from demo.seed import seed_step
from extensions import db
from models.soundboard import Milestone, Sound

# filename, displayname, source, theme, kind, seconds
CLIPS = [
    ("explosion", "EXPLOSION!", "Season 1", "megumin", "hit", 1.5),
    ("chant", "Chant", "Season 1", "megumin", "bleeps", 1.6),
    ("fanfare", "Fanfare", "Season 1", "megumin", "jingle", 2.0),
    ("giggle", "Giggle", "Season 1", "megumin", "bleeps", 1.0),
    ("boom-boom", "Boom boom", "Season 2", "megumin", "hit", 1.2),
    ("victory", "Victory", "Season 2", "megumin", "jingle", 1.8),
    ("rise", "Rising spell", "Season 2", "megumin", "sweep", 1.5),
    ("chatter", "Chatter", "Season 2", "megumin", "bleeps", 1.4),
    ("encore", "Encore", "Kurenai Densetsu (Movie)", "megumin", "jingle", 1.6),
    ("finale", "Finale", "Kurenai Densetsu (Movie)", "megumin", "hit", 1.3),
    ("secret-laugh", None, None, "megumin", "bleeps", 1.0),  # no source ("no-source"): big button only
    ("splash", "Splash", "Season 1", "aqua", "sweep", 1.2),
    ("party-trick", "Party trick", "Season 1", "aqua", "jingle", 1.5),
    ("sob", "Sob", "Season 2", "aqua", "bleeps", 1.2),
    ("purify", "Purify", "Season 2", "aqua", "sweep", 1.6),
    ("blessing", "Blessing", "OVA", "aqua", "jingle", 1.4),
]
MILESTONES = [100, 1000, 10000, 100000]


@seed_step("soundboard", order=40, count=lambda: len(CLIPS))
def seed_soundboard(advance) -> list[str]:
    created = 0
    for number, (filename, displayname, source, theme, kind, seconds) in enumerate(CLIPS):
        if db.session.scalar(select(Sound.id).where(Sound.filename == filename)) is None:
            data = encode(render(kind, seed=100 + number, seconds=seconds), "mp3")
            upload = _Upload(io.BytesIO(data), f"{filename}.mp3")
            form = {"filename": filename, "displayname": displayname, "source": source, "theme": theme}
            services.upload_sound({k: v for k, v in form.items() if v is not None}, upload)
            created += 1
        advance(1)
    for count in MILESTONES:
        if db.session.scalar(select(Milestone.id).where(Milestone.count == count)) is None:
            services.add_milestone({"count": count})
    return [f"Soundboard: {len(CLIPS)} demo clips ({created} new)."]


class _Upload:
    """The two attributes of a Werkzeug FileStorage that the upload service reads."""

    def __init__(self, stream, filename: str):
        self.stream, self.filename = stream, filename
