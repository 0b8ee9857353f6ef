"""Demo catalogue: a dozen short synthesised themes with videos, anime, artists, studios and covers."""
from __future__ import annotations

import io

from sqlalchemy import select

from blueprints.catalogue import services
from demo.audio import encode, render
from demo.images import cover
from demo.seed import seed_step
from extensions import db
from models.catalogue import Anime, Artist, Audio, Image, Studio, Video

ANIME = [
    # slug, name, year, season, studio slug, artist slug
    ("starlight_drive", "Starlight Drive", 2019, "Spring", "studio_aurora", "mika_hoshino"),
    ("neon_samurai", "Neon Samurai", 2021, "Fall", "kumo_works", "the_paper_kites"),
    ("melon_soda_days", "Melon Soda Days", 2023, "Summer", "studio_aurora", "yuzu_lemon"),
    ("frostbound", "Frostbound", 2024, "Winter", "iron_lantern", "mika_hoshino"),
]
STUDIOS = {"studio_aurora": "Studio Aurora", "kumo_works": "Kumo Works", "iron_lantern": "Iron Lantern"}
ARTISTS = {"mika_hoshino": "Mika Hoshino", "the_paper_kites": "The Paper Kites", "yuzu_lemon": "Yuzu Lemon"}
# basename, format, kind, seconds, anime slug
THEMES = [
    ("StarlightDrive-OP1", "ogg", "jingle", 4.0, "starlight_drive"),
    ("StarlightDrive-ED1", "flac", "sweep", 3.0, "starlight_drive"),
    ("StarlightDrive-OP2", "mp3", "jingle", 3.5, "starlight_drive"),
    ("NeonSamurai-OP1", "mp3", "hit", 3.0, "neon_samurai"),
    ("NeonSamurai-ED1", "ogg", "bleeps", 3.0, "neon_samurai"),
    ("NeonSamurai-IN1", "flac", "jingle", 2.5, "neon_samurai"),
    ("MelonSodaDays-OP1", "ogg", "jingle", 4.0, "melon_soda_days"),
    ("MelonSodaDays-ED1", "mp3", "bleeps", 3.0, "melon_soda_days"),
    ("MelonSodaDays-ED2", "flac", "sweep", 2.0, "melon_soda_days"),
    ("Frostbound-OP1", "mp3", "jingle", 3.5, "frostbound"),
    ("Frostbound-ED1", "ogg", "sweep", 3.0, "frostbound"),
    ("Frostbound-OP2", "flac", "hit", 2.5, "frostbound"),
]


def _count() -> int:
    return len(THEMES) + len(ANIME)


@seed_step("catalogue", order=10, count=_count)
def seed_catalogue(advance) -> list[str]:
    studios = {slug: _get_or_create(Studio, slug, name=name) for slug, name in STUDIOS.items()}
    artists = {slug: _get_or_create(Artist, slug, name=name) for slug, name in ARTISTS.items()}
    anime_by_slug: dict[str, Anime] = {}
    for index, (slug, name, year, season, studio_slug, artist_slug) in enumerate(ANIME):
        anime = db.session.scalar(select(Anime).where(Anime.slug == slug))
        if anime is None:
            anime = Anime(slug=slug, name=name, year=year, season=season, synopsis=f"{name}: a demo series made up for Themeboard.")
            db.session.add(anime)
            db.session.flush()
            image = services.store_image_bytes(cover(name, 640, seed=index), "Cover", f"cover/{slug}.png")
            small = services.store_image_bytes(cover(name, 256, seed=index), "Small Cover", f"small_cover/{slug}.png")
            grill = services.store_image_bytes(cover(ARTISTS[artist_slug], 512, seed=index + 7), "Grill", f"grill/{slug}.png")
            db.session.refresh(anime)
            anime_images = db.session.scalars(select(Image).where(Image.id.in_([image.id, small.id]))).all()
            _link(anime, "images", anime_images)
            _link(studios[studio_slug], "images", [small])
            _link(artists[artist_slug], "images", [grill])
            _link(anime, "studios", [studios[studio_slug]])
            db.session.commit()
        anime_by_slug[slug] = anime
        advance(1)
    created = 0
    for number, (basename, fmt, kind, seconds, anime_slug) in enumerate(THEMES):
        if db.session.scalar(select(Audio.id).where(Audio.basename == basename)) is None:
            data = encode(render(kind, seed=number + 1, seconds=seconds), fmt)
            audio = services.upload_audio(io.BytesIO(data), f"{basename}.{fmt}", basename)
            for suffix, resolution, source in (("", 1080, "BD"), ("-NCBD720", 720, "BD")):
                db.session.add(
                    Video(
                        basename=f"{basename}{suffix}", filename=f"{basename}{suffix}.webm", path=f"/video/{basename}{suffix}.webm",
                        size=0, mimetype="video/webm", resolution=resolution, source=source, nc=bool(suffix),
                        audio_id=audio.id, anime_id=anime_by_slug[anime_slug].id,
                    )
                )
            db.session.commit()
            created += 1
        advance(1)
    return [f"Catalogue: {len(THEMES)} demo themes ({created} new)."]


def _get_or_create(model, slug: str, **values):
    instance = db.session.scalar(select(model).where(model.slug == slug))
    if instance is None:
        instance = model(slug=slug, **values)
        db.session.add(instance)
        db.session.commit()
    return instance


def _link(owner, relation: str, items) -> None:
    """Append to a raise_on_sql collection after loading it explicitly."""
    db.session.refresh(owner, attribute_names=[relation])
    collection = getattr(owner, relation)
    for item in items:
        if item not in collection:
            collection.append(item)
