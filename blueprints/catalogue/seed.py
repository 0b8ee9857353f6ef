"""Demo wiki: invented anime with synonyms, series and studios, their OP/ED themes and entries,
songs performed by artists, covers, and short synthesised audio with their videos."""
from __future__ import annotations

import io

from sqlalchemy import select

from blueprints.catalogue import services
from demo.audio import encode, render
from demo.images import cover
from demo.seed import add_seed_step
from extensions import db
from models.catalogue import (
    Anime,
    AnimeSynonym,
    AnimeTheme,
    AnimeThemeEntry,
    Artist,
    Audio,
    Image,
    Series,
    Song,
    Studio,
    Video,
    anime_series,
    anime_theme_entry_video,
    artist_song,
)

STUDIOS = {"studio_aurora": "Studio Aurora", "kumo_works": "Kumo Works", "iron_lantern": "Iron Lantern"}
SERIES = {"starlight_drive": "Starlight Drive"}
ARTISTS = {
    "mika_hoshino": "Mika Hoshino",
    "paper_crane_radio": "Paper Crane Radio",
    "yuzu_lemon": "Yuzu Lemon",
    "sora_amane": "Sora Amane",
    "haruto_kisaragi": "Haruto Kisaragi",
    "kogarashi": "KOGARASHI",
}
# basename, format, kind of sound, seconds
AUDIO = [
    ("StarlightDrive-OP1", "ogg", "jingle", 4.0),
    ("StarlightDrive-OP1v2", "mp3", "jingle", 3.0),
    ("StarlightDrive-ED1", "flac", "sweep", 3.0),
    ("StarlightDrive-OP2", "mp3", "jingle", 3.5),
    ("StarlightDriveAfterglow-ED1", "ogg", "sweep", 3.0),
    ("NeonSamurai-OP1", "mp3", "hit", 3.0),
    ("NeonSamurai-ED1", "ogg", "bleeps", 3.0),
    ("NeonSamurai-IN1", "flac", "jingle", 2.5),
    ("MelonSodaDays-OP1", "ogg", "jingle", 4.0),
    ("MelonSodaDays-ED1", "mp3", "bleeps", 3.0),
    ("MelonSodaDays-ED2", "flac", "sweep", 2.0),
    ("Frostbound-OP1", "mp3", "jingle", 3.5),
    ("Frostbound-ED1", "ogg", "sweep", 3.0),
    ("Frostbound-OP2", "flac", "hit", 2.5),
]


def _theme(type_, sequence, title, performers, entries):
    """performers: (artist slug, as); entries: (audio basename, version, episodes, spoiler)."""
    return {"type": type_, "sequence": sequence, "title": title, "performers": performers, "entries": entries}


ANIME = [
    {
        "slug": "starlight_drive", "name": "Starlight Drive", "year": 2019, "season": "Spring", "media_format": "TV",
        "studio": "studio_aurora", "series": "starlight_drive", "artist_cover": "mika_hoshino",
        "synopsis": "Rookie courier Hana Mizuki inherits her grandmother's battered star-yacht and a debt to every "
                    "spaceport between Ceres and Titan. One delivery at a time, she learns why the old ship never runs out of fuel.",
        "synonyms": [("Native", "スターライト・ドライブ"), ("Short", "StarDri"), ("English", "Starlight Drive: Courier of the Outer Rim")],
        "themes": [
            _theme("OP", 1, "Ignition Heart", [("mika_hoshino", None)],
                   [("StarlightDrive-OP1", None, "1-11", False), ("StarlightDrive-OP1v2", 2, "12", True)]),
            _theme("OP", 2, "Orbit of You", [("mika_hoshino", None), ("haruto_kisaragi", None)], [("StarlightDrive-OP2", None, "13-24", False)]),
            _theme("ED", 1, "Cargo Bay Lullaby", [("sora_amane", "Hana Mizuki")], [("StarlightDrive-ED1", None, "1-24", False)]),
        ],
    },
    {
        "slug": "starlight_drive_afterglow", "name": "Starlight Drive the Movie: Afterglow", "year": 2021, "season": "Summer",
        "media_format": "Movie", "studio": "studio_aurora", "series": "starlight_drive", "artist_cover": "sora_amane",
        "synopsis": "A year after the Titan run, Hana's last delivery is a sealed letter addressed to herself.",
        "synonyms": [("Native", "劇場版 スターライト・ドライブ アフターグロウ"), ("Short", "Afterglow")],
        "themes": [
            _theme("ED", 1, "Afterglow Letter", [("sora_amane", "Hana Mizuki"), ("mika_hoshino", None)],
                   [("StarlightDriveAfterglow-ED1", None, None, False)]),
        ],
    },
    {
        "slug": "neon_samurai", "name": "Neon Samurai", "year": 2021, "season": "Fall", "media_format": "TV",
        "studio": "kumo_works", "series": None, "artist_cover": "paper_crane_radio",
        "synopsis": "In a rain-soaked arcology where honour is sold by the gigabyte, a disgraced bodyguard takes one last contract.",
        "synonyms": [("Native", "ネオン侍"), ("English", "Neon Samurai: Ronin Protocol")],
        "themes": [
            _theme("OP", 1, "Static Blade", [("paper_crane_radio", None)], [("NeonSamurai-OP1", None, "2-12", False)]),
            _theme("ED", 1, "Umbrella Street", [("kogarashi", None)], [("NeonSamurai-ED1", None, "1-11", False)]),
            _theme("IN", 1, "Last Train to Shinjuku-9", [("haruto_kisaragi", "Jin Kurogane")], [("NeonSamurai-IN1", None, "7", True)]),
        ],
    },
    {
        "slug": "melon_soda_days", "name": "Melon Soda Days", "year": 2023, "season": "Summer", "media_format": "TV",
        "studio": "studio_aurora", "series": None, "artist_cover": "yuzu_lemon",
        "synopsis": "Four friends run the seaside café nobody visits, and decide this summer will be the one people remember.",
        "synonyms": [("Native", "メロンソーダ・デイズ"), ("Short", "MeloDays")],
        "themes": [
            _theme("OP", 1, "Fizzy Blue Horizon", [("yuzu_lemon", None)], [("MelonSodaDays-OP1", None, "1-12", False)]),
            _theme("ED", 1, "Straw Hat Promise", [("yuzu_lemon", None), ("sora_amane", "Natsu Aoyagi")], [("MelonSodaDays-ED1", None, "1-6", False)]),
            _theme("ED", 2, "Sunset Refill", [("sora_amane", "Natsu Aoyagi")], [("MelonSodaDays-ED2", None, "7-12", False)]),
        ],
    },
    {
        "slug": "frostbound", "name": "Frostbound", "year": 2024, "season": "Winter", "media_format": "TV",
        "studio": "iron_lantern", "series": None, "artist_cover": "kogarashi",
        "synopsis": "When the sun stops rising over the northern provinces, a cartographer and a runaway ice witch chart the way south.",
        "synonyms": [("Native", "フロストバウンド"), ("Other", "Frostbound: The Long Night")],
        "themes": [
            _theme("OP", 1, "White Compass", [("kogarashi", None)], [("Frostbound-OP1", None, "1-12", False)]),
            _theme("OP", 2, "Thaw", [("kogarashi", None), ("mika_hoshino", None)], [("Frostbound-OP2", None, "13-", False)]),
            _theme("ED", 1, "Snowlight Waltz", [("mika_hoshino", "Elsa Winterberg")], [("Frostbound-ED1", None, "1-12", False)]),
        ],
    },
]


def _count() -> int:
    return len(AUDIO) + len(ANIME)


def register_seed() -> None:
    add_seed_step("catalogue", order=10, count=_count, run=seed_catalogue)


def seed_catalogue(advance) -> list[str]:
    created = 0
    audio_by_basename: dict[str, Audio] = {}
    for number, (basename, fmt, kind, seconds) in enumerate(AUDIO):
        audio = db.session.scalar(select(Audio).where(Audio.basename == basename))
        if audio is None:
            data = encode(render(kind, seed=number + 1, seconds=seconds), fmt)
            audio = services.upload_audio(io.BytesIO(data), f"{basename}.{fmt}", basename)
            for suffix, resolution, nc in (("", 1080, False), ("-NCBD720", 720, True)):
                db.session.add(
                    Video(
                        basename=f"{basename}{suffix}", filename=f"{basename}{suffix}.webm", path=f"/video/{basename}{suffix}.webm",
                        size=0, mimetype="video/webm", resolution=resolution, source="BD", nc=nc, audio_id=audio.id,
                    )
                )
            db.session.commit()
            created += 1
        audio_by_basename[basename] = audio
        advance(1)
    studios = {slug: _get_or_create(Studio, slug, name=name) for slug, name in STUDIOS.items()}
    series = {slug: _get_or_create(Series, slug, name=name) for slug, name in SERIES.items()}
    artists = {slug: _get_or_create(Artist, slug, name=name) for slug, name in ARTISTS.items()}
    for index, spec in enumerate(ANIME):
        anime = db.session.scalar(select(Anime).where(Anime.slug == spec["slug"]))
        if anime is None:
            anime = Anime(
                slug=spec["slug"], name=spec["name"], year=spec["year"], season=spec["season"],
                media_format=spec["media_format"], synopsis=spec["synopsis"],
            )
            db.session.add(anime)
            db.session.commit()
            _covers(anime, spec, index, studios[spec["studio"]], artists[spec["artist_cover"]])
            _link(anime, "studios", [studios[spec["studio"]]])
            db.session.commit()
        _fill_wiki(anime, spec, series, artists, audio_by_basename)
        db.session.commit()
        advance(1)
    return [f"Catalogue: {len(ANIME)} demo anime with their themes, {len(AUDIO)} audio ({created} new)."]


def _covers(anime: Anime, spec: dict, index: int, studio: Studio, artist: Artist) -> None:
    slug, name = spec["slug"], spec["name"]
    large = services.store_image_bytes(cover(name, 640, seed=index), "Cover", f"cover/{slug}.png")
    small = services.store_image_bytes(cover(name, 256, seed=index), "Small Cover", f"small_cover/{slug}.png")
    images = db.session.scalars(select(Image).where(Image.id.in_([large.id, small.id]))).all()
    _link(anime, "images", images)
    _link(studio, "images", [small])
    db.session.refresh(artist, attribute_names=["images"])
    if not artist.images:
        grill = services.store_image_bytes(cover(artist.name, 512, seed=index + 7), "Grill", f"grill/{artist.slug}.png")
        _link(artist, "images", [grill])


def _fill_wiki(anime: Anime, spec: dict, series: dict, artists: dict, audio_by_basename: dict) -> None:
    """Whatever of the anime's synonyms, series, themes, songs, entries and video links is missing."""
    for type_, text in spec["synonyms"]:
        if db.session.scalar(select(AnimeSynonym.id).where(AnimeSynonym.anime_id == anime.id, AnimeSynonym.text == text)) is None:
            db.session.add(AnimeSynonym(anime_id=anime.id, type=type_, text=text))
    if spec["series"]:
        _insert_missing(anime_series, anime_id=anime.id, series_id=series[spec["series"]].id)
    for theme_spec in spec["themes"]:
        theme = db.session.scalar(
            select(AnimeTheme).where(
                AnimeTheme.anime_id == anime.id, AnimeTheme.type == theme_spec["type"], AnimeTheme.sequence == theme_spec["sequence"]
            )
        )
        if theme is None:
            theme = AnimeTheme(anime_id=anime.id, type=theme_spec["type"], sequence=theme_spec["sequence"])
            db.session.add(theme)
            db.session.flush()
        if theme.song_id is None:
            song = Song(title=theme_spec["title"])
            db.session.add(song)
            db.session.flush()
            theme.song_id = song.id
            for artist_slug, credited_as in theme_spec["performers"]:
                _insert_missing(artist_song, {"as": credited_as}, artist_id=artists[artist_slug].id, song_id=song.id)
        for basename, version, episodes, spoiler in theme_spec["entries"]:
            version_clause = AnimeThemeEntry.version.is_(None) if version is None else AnimeThemeEntry.version == version
            entry = db.session.scalar(select(AnimeThemeEntry).where(AnimeThemeEntry.theme_id == theme.id, version_clause))
            if entry is None:
                entry = AnimeThemeEntry(theme_id=theme.id, version=version, episodes=episodes, spoiler=spoiler)
                db.session.add(entry)
                db.session.flush()
            audio = audio_by_basename[basename]
            for video_id in db.session.scalars(select(Video.id).where(Video.audio_id == audio.id)):
                _insert_missing(anime_theme_entry_video, entry_id=entry.id, video_id=video_id)
            # The legacy direct link, for pages that still read it.
            db.session.execute(Video.__table__.update().where(Video.audio_id == audio.id, Video.anime_id.is_(None)).values(anime_id=anime.id))


def _insert_missing(table, extra: dict | None = None, **keys) -> None:
    clause = [table.c[name] == value for name, value in keys.items()]
    if db.session.execute(select(*[table.c[name] for name in keys]).where(*clause)).first() is None:
        db.session.execute(table.insert().values(**keys, **(extra or {})))


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
