"""The catalogue's resources, described once for the shared query layer (blueprints/common/query.py)."""
from __future__ import annotations

from blueprints.catalogue.services import images_listed_for
from blueprints.common.query import Attribute, Relation, ResourceSchema, stream_link
from models.catalogue import (
    ANIME_MEDIA_FORMATS,
    ANIME_SEASONS,
    IMAGE_FACETS,
    SYNONYM_TYPES,
    THEME_TYPES,
    VIDEO_OVERLAPS,
    VIDEO_SOURCES,
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
    anime_image,
    anime_series,
    anime_studio,
    anime_theme_entry_video,
    artist_image,
    artist_song,
    studio_image,
)


def _timestamps(model) -> list[Attribute]:
    return [
        Attribute("created_at", model.created_at, "datetime"),
        Attribute("updated_at", model.updated_at, "datetime"),
        Attribute("deleted_at", model.deleted_at, "datetime"),
    ]


def _defaults(attributes: list[Attribute]) -> tuple[str, ...]:
    # deleted_at only when asked for with fields[...]
    return tuple(a.name for a in attributes if a.name != "deleted_at")


audio_link = stream_link("catalogue.stream_audio", "filename")
video_link = stream_link("catalogue.stream_video", "filename")
image_link = stream_link("catalogue.stream_image", "path")


_audio_attributes = [
    Attribute("audio_id", Audio.id, "int"),
    Attribute("basename", Audio.basename),
    Attribute("filename", Audio.filename),
    Attribute("path", Audio.path),
    Attribute("size", Audio.size, "int"),
    Attribute("mimetype", Audio.mimetype),
    Attribute("link", compute=audio_link, needs=(Audio.filename,)),
    *_timestamps(Audio),
]
AUDIO = ResourceSchema(
    type="audio",
    singular="audio",
    plural="audios",
    table=Audio.__table__,
    attributes=_audio_attributes,
    default_fields=_defaults(_audio_attributes),
    sorts=("audio_id", "basename", "filename", "size", "mimetype", "created_at", "updated_at"),
    filters=("audio_id", "basename", "filename", "path", "size", "mimetype", "created_at", "updated_at", "deleted_at"),
    includes=("videos",),  # upstream's AudioSchema::allowedIncludes()
)

_video_attributes = [
    Attribute("video_id", Video.id, "int"),
    Attribute("basename", Video.basename),
    Attribute("filename", Video.filename),
    Attribute("path", Video.path),
    Attribute("size", Video.size, "int"),
    Attribute("mimetype", Video.mimetype),
    Attribute("resolution", Video.resolution, "int"),
    Attribute("source", Video.source, "enum", choices=VIDEO_SOURCES),
    Attribute("nc", Video.nc, "bool"),
    Attribute("subbed", Video.subbed, "bool"),
    Attribute("lyrics", Video.lyrics, "bool"),
    Attribute("uncen", Video.uncen, "bool"),
    Attribute("overlap", Video.overlap, "enum", choices=VIDEO_OVERLAPS),
    Attribute("tags", Video.tags),
    Attribute("link", compute=video_link, needs=(Video.filename,)),
    *_timestamps(Video),
]
VIDEO = ResourceSchema(
    type="video",
    singular="video",
    plural="videos",
    table=Video.__table__,
    attributes=_video_attributes,
    default_fields=_defaults(_video_attributes),
    sorts=("video_id", "basename", "filename", "size", "resolution", "source", "created_at", "updated_at"),
    filters=(
        "video_id", "basename", "filename", "size", "mimetype", "resolution", "source",
        "nc", "subbed", "lyrics", "uncen", "overlap", "created_at", "updated_at", "deleted_at",
    ),
    # upstream's VideoSchema::allowedIncludes(), plus the legacy anime link
    includes=(
        "audio", "anime", "anime.images", "animethemeentries", "animethemeentries.animetheme", "animethemeentries.animetheme.anime",
        "animethemeentries.animetheme.anime.animesynonyms", "animethemeentries.animetheme.anime.images",
        "animethemeentries.animetheme.song", "animethemeentries.animetheme.song.artists",
    ),
)

_image_attributes = [
    Attribute("image_id", Image.id, "int"),
    Attribute("path", Image.path),
    Attribute("facet", Image.facet, "enum", choices=IMAGE_FACETS),
    Attribute("link", compute=image_link, needs=(Image.path,)),
    *_timestamps(Image),
]
IMAGE = ResourceSchema(
    type="image",
    singular="image",
    plural="images",
    table=Image.__table__,
    attributes=_image_attributes,
    default_fields=_defaults(_image_attributes),
    sorts=("image_id", "path", "facet", "created_at", "updated_at"),
    filters=("image_id", "path", "facet", "created_at", "updated_at", "deleted_at"),
    visible=lambda ctx: images_listed_for(ctx.user_id),
    includes=("anime", "artists", "studios"),  # upstream's ImageSchema (playlists adds its own)
)

_anime_attributes = [
    Attribute("anime_id", Anime.id, "int"),
    Attribute("name", Anime.name),
    Attribute("slug", Anime.slug),
    Attribute("year", Anime.year, "int"),
    Attribute("season", Anime.season, "enum", choices=ANIME_SEASONS),
    Attribute("media_format", Anime.media_format, "enum", choices=ANIME_MEDIA_FORMATS),
    Attribute("synopsis", Anime.synopsis),
    *_timestamps(Anime),
]
ANIME = ResourceSchema(
    type="anime",
    singular="anime",
    plural="anime",
    table=Anime.__table__,
    attributes=_anime_attributes,
    default_fields=_defaults(_anime_attributes),
    sorts=("anime_id", "name", "slug", "year", "season", "media_format", "created_at", "updated_at"),
    filters=("anime_id", "name", "slug", "year", "season", "media_format", "synopsis", "created_at", "updated_at", "deleted_at"),
    # upstream's AnimeSchema::allowedIncludes(), plus the legacy videos link
    includes=(
        "animesynonyms", "animethemes", "animethemes.animethemeentries", "animethemes.animethemeentries.videos",
        "animethemes.animethemeentries.videos.audio", "animethemes.song", "animethemes.song.artists",
        "images", "series", "studios", "videos", "videos.audio",
    ),
)


def _named(model, type_name: str, plural: str, *extra: Attribute, includes: tuple[str, ...]) -> ResourceSchema:
    attributes = [
        Attribute(f"{type_name}_id", model.id, "int"),
        Attribute("name", model.name),
        Attribute("slug", model.slug),
        *extra,
        *_timestamps(model),
    ]
    return ResourceSchema(
        type=type_name,
        singular=type_name,
        plural=plural,
        table=model.__table__,
        attributes=attributes,
        default_fields=_defaults(attributes),
        sorts=(f"{type_name}_id", "name", "slug", "created_at", "updated_at"),
        filters=(f"{type_name}_id", "name", "slug", "created_at", "updated_at", "deleted_at"),
        includes=includes,
    )


# Include allow-lists: upstream's <Type>Schema::allowedIncludes() (withIntermediatePaths), for the relations we have.
ARTIST = _named(
    Artist, "artist", "artists", Attribute("information", Artist.information),
    includes=("images", "songs", "songs.animethemes", "songs.animethemes.anime"),
)
STUDIO = _named(Studio, "studio", "studios", includes=("anime", "images"))
SERIES = _named(Series, "series", "series", includes=("anime",))


def _wiki(
    model, type_name: str, plural: str, attributes: list[Attribute], sorts: tuple[str, ...], filters: tuple[str, ...], includes: tuple[str, ...]
) -> ResourceSchema:
    attributes = [*attributes, *_timestamps(model)]
    return ResourceSchema(
        type=type_name,
        singular=type_name,
        plural=plural,
        table=model.__table__,
        attributes=attributes,
        default_fields=_defaults(attributes),
        sorts=(*sorts, "created_at", "updated_at"),
        filters=(*filters, "created_at", "updated_at", "deleted_at"),
        includes=includes,
    )


ANIMESYNONYM = _wiki(
    AnimeSynonym, "animesynonym", "animesynonyms",
    [
        Attribute("synonym_id", AnimeSynonym.id, "int"),
        Attribute("text", AnimeSynonym.text),
        Attribute("type", AnimeSynonym.type, "enum", choices=SYNONYM_TYPES),
    ],
    ("synonym_id", "text", "type"),
    ("synonym_id", "text", "type"),
    ("anime",),
)
ANIMETHEME = _wiki(
    AnimeTheme, "animetheme", "animethemes",
    [
        Attribute("theme_id", AnimeTheme.id, "int"),
        Attribute("type", AnimeTheme.type, "enum", choices=THEME_TYPES),
        Attribute("sequence", AnimeTheme.sequence, "int"),
        Attribute("slug", AnimeTheme.slug),
    ],
    ("theme_id", "type", "sequence", "slug"),
    ("theme_id", "type", "sequence", "slug"),
    (
        "anime", "anime.images", "animethemeentries", "animethemeentries.videos", "animethemeentries.videos.audio",
        "song", "song.artists",
    ),
)
ANIMETHEMEENTRY = _wiki(
    AnimeThemeEntry, "animethemeentry", "animethemeentries",
    [
        Attribute("entry_id", AnimeThemeEntry.id, "int"),
        Attribute("version", AnimeThemeEntry.version, "int"),
        Attribute("episodes", AnimeThemeEntry.episodes),
        Attribute("nsfw", AnimeThemeEntry.nsfw, "bool"),
        Attribute("spoiler", AnimeThemeEntry.spoiler, "bool"),
        Attribute("notes", AnimeThemeEntry.notes),
    ],
    ("entry_id", "version", "episodes", "nsfw", "spoiler", "notes"),
    ("entry_id", "version", "episodes", "nsfw", "spoiler", "notes"),
    ("animetheme", "animetheme.anime", "animetheme.song", "animetheme.song.artists", "videos"),
)
SONG = _wiki(
    Song, "song", "songs",
    [Attribute("song_id", Song.id, "int"), Attribute("title", Song.title)],
    ("song_id", "title"),
    ("song_id", "title"),
    ("animethemes", "animethemes.anime", "artists"),
)

# A performance's pivot columns, shown on each artist of a song and each song of an artist.
PERFORMANCE = dict(pivot_name="artistsong", pivot_attributes=(("as", artist_song.c["as"]), ("alias", artist_song.c.alias)))

AUDIO.add_relation(Relation("videos", "video", remote_key=Video.audio_id))
VIDEO.add_relation(Relation("audio", "audio", local_key=Video.audio_id))
VIDEO.add_relation(Relation("anime", "anime", local_key=Video.anime_id))
IMAGE.add_relation(Relation("anime", "anime", pivot=(anime_image.c.image_id, anime_image.c.anime_id)))
IMAGE.add_relation(Relation("artists", "artist", pivot=(artist_image.c.image_id, artist_image.c.artist_id)))
IMAGE.add_relation(Relation("studios", "studio", pivot=(studio_image.c.image_id, studio_image.c.studio_id)))
VIDEO.add_relation(Relation("animethemeentries", "animethemeentry", pivot=(anime_theme_entry_video.c.video_id, anime_theme_entry_video.c.entry_id)))
ANIME.add_relation(Relation("videos", "video", remote_key=Video.anime_id))  # legacy: the link from before themes
ANIME.add_relation(Relation("animesynonyms", "animesynonym", remote_key=AnimeSynonym.anime_id))
ANIME.add_relation(Relation("animethemes", "animetheme", remote_key=AnimeTheme.anime_id))
ANIME.add_relation(Relation("series", "series", pivot=(anime_series.c.anime_id, anime_series.c.series_id)))
ANIME.add_relation(Relation("images", "image", pivot=(anime_image.c.anime_id, anime_image.c.image_id)))
ANIME.add_relation(Relation("studios", "studio", pivot=(anime_studio.c.anime_id, anime_studio.c.studio_id)))
ARTIST.add_relation(Relation("images", "image", pivot=(artist_image.c.artist_id, artist_image.c.image_id)))
STUDIO.add_relation(Relation("images", "image", pivot=(studio_image.c.studio_id, studio_image.c.image_id)))
STUDIO.add_relation(Relation("anime", "anime", pivot=(anime_studio.c.studio_id, anime_studio.c.anime_id)))
ARTIST.add_relation(Relation("songs", "song", pivot=(artist_song.c.artist_id, artist_song.c.song_id), **PERFORMANCE))
SERIES.add_relation(Relation("anime", "anime", pivot=(anime_series.c.series_id, anime_series.c.anime_id)))
ANIMESYNONYM.add_relation(Relation("anime", "anime", local_key=AnimeSynonym.anime_id))
ANIMETHEME.add_relation(Relation("anime", "anime", local_key=AnimeTheme.anime_id))
ANIMETHEME.add_relation(Relation("song", "song", local_key=AnimeTheme.song_id))
ANIMETHEME.add_relation(Relation("animethemeentries", "animethemeentry", remote_key=AnimeThemeEntry.theme_id))
ANIMETHEMEENTRY.add_relation(Relation("animetheme", "animetheme", local_key=AnimeThemeEntry.theme_id))
ANIMETHEMEENTRY.add_relation(Relation("videos", "video", pivot=(anime_theme_entry_video.c.entry_id, anime_theme_entry_video.c.video_id)))
SONG.add_relation(Relation("animethemes", "animetheme", remote_key=AnimeTheme.song_id))
SONG.add_relation(Relation("artists", "artist", pivot=(artist_song.c.song_id, artist_song.c.artist_id), **PERFORMANCE))

# Every catalogue resource, in the order of the API documentation; catalogue.register(app) registers them.
ALL = (AUDIO, VIDEO, IMAGE, ANIME, ANIMESYNONYM, ANIMETHEME, ANIMETHEMEENTRY, SONG, ARTIST, SERIES, STUDIO)
