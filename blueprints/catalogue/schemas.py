"""The catalogue's resources, described once for the shared query layer (blueprints/common/query.py)."""
from __future__ import annotations

from blueprints.catalogue.services import images_listed_for
from blueprints.common.query import Attribute, Relation, ResourceSchema, stream_link
from models.catalogue import (
    ANIME_SEASONS,
    IMAGE_FACETS,
    VIDEO_OVERLAPS,
    VIDEO_SOURCES,
    Anime,
    Artist,
    Audio,
    Image,
    Studio,
    Video,
    anime_image,
    anime_studio,
    artist_image,
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
)

_anime_attributes = [
    Attribute("anime_id", Anime.id, "int"),
    Attribute("name", Anime.name),
    Attribute("slug", Anime.slug),
    Attribute("year", Anime.year, "int"),
    Attribute("season", Anime.season, "enum", choices=ANIME_SEASONS),
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
    sorts=("anime_id", "name", "slug", "year", "season", "created_at", "updated_at"),
    filters=("anime_id", "name", "slug", "year", "season", "created_at", "updated_at", "deleted_at"),
)


def _named(model, type_name: str, plural: str) -> ResourceSchema:
    attributes = [
        Attribute(f"{type_name}_id", model.id, "int"),
        Attribute("name", model.name),
        Attribute("slug", model.slug),
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
    )


ARTIST = _named(Artist, "artist", "artists")
STUDIO = _named(Studio, "studio", "studios")

AUDIO.add_relation(Relation("videos", "video", remote_key=Video.audio_id))
VIDEO.add_relation(Relation("audio", "audio", local_key=Video.audio_id))
VIDEO.add_relation(Relation("anime", "anime", local_key=Video.anime_id))
IMAGE.add_relation(Relation("anime", "anime", pivot=(anime_image.c.image_id, anime_image.c.anime_id)))
IMAGE.add_relation(Relation("artists", "artist", pivot=(artist_image.c.image_id, artist_image.c.artist_id)))
IMAGE.add_relation(Relation("studios", "studio", pivot=(studio_image.c.image_id, studio_image.c.studio_id)))
ANIME.add_relation(Relation("videos", "video", remote_key=Video.anime_id))
ANIME.add_relation(Relation("images", "image", pivot=(anime_image.c.anime_id, anime_image.c.image_id)))
ANIME.add_relation(Relation("studios", "studio", pivot=(anime_studio.c.anime_id, anime_studio.c.studio_id)))
ARTIST.add_relation(Relation("images", "image", pivot=(artist_image.c.artist_id, artist_image.c.image_id)))
STUDIO.add_relation(Relation("images", "image", pivot=(studio_image.c.studio_id, studio_image.c.image_id)))
STUDIO.add_relation(Relation("anime", "anime", pivot=(anime_studio.c.studio_id, anime_studio.c.anime_id)))
