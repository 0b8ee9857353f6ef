"""Playlists and their tracks for the shared query layer, plus `include=playlists` on images."""
from __future__ import annotations

from blueprints.catalogue.schemas import IMAGE
from blueprints.common.query import Attribute, QueryContext, Relation, ResourceSchema
from blueprints.playlists.services import listed_clause
from models.playlist import Playlist, PlaylistTrack, playlist_image
from models.user import User

PLAYLIST = ResourceSchema(
    type="playlist",
    singular="playlist",
    plural="playlists",
    table=Playlist.__table__,
    attributes=[
        Attribute("id", Playlist.public_id),
        Attribute("name", Playlist.name),
        Attribute("description", Playlist.description),
        Attribute("visibility", Playlist.visibility, "int"),
        Attribute("user_id", Playlist.user_id, "int"),
        Attribute("first_id", Playlist.first_id, "int"),
        Attribute("last_id", Playlist.last_id, "int"),
        Attribute("tracks_count", Playlist.track_count, "int"),
        Attribute("created_at", Playlist.created_at, "datetime"),
        Attribute("updated_at", Playlist.updated_at, "datetime"),
    ],
    default_fields=("id", "name", "description", "visibility", "user_id", "first_id", "last_id", "created_at", "updated_at"),
    sorts=("name", "created_at", "updated_at", "tracks_count"),
    filters=("name", "created_at", "updated_at"),
    soft_deletes=False,
    # upstream's PlaylistSchema::allowedIncludes(), for the relations a Themeboard track has
    includes=("images", "first", "last", "tracks", "user", "tracks.audio", "tracks.video", "tracks.video.audio", "tracks.previous", "tracks.next"),
)

TRACK = ResourceSchema(
    type="track",
    singular="track",
    plural="tracks",
    table=PlaylistTrack.__table__,
    attributes=[
        Attribute("track_id", PlaylistTrack.id, "int"),
        Attribute("previous_id", PlaylistTrack.previous_id, "int"),
        Attribute("next_id", PlaylistTrack.next_id, "int"),
        Attribute("audio_id", PlaylistTrack.audio_id, "int"),
        Attribute("video_id", PlaylistTrack.video_id, "int"),
        Attribute("created_at", PlaylistTrack.created_at, "datetime"),
        Attribute("updated_at", PlaylistTrack.updated_at, "datetime"),
    ],
    filters=("audio_id", "video_id"),
    soft_deletes=False,
    includes=("audio", "video", "video.audio", "playlist", "previous", "next"),  # upstream's TrackSchema
    default_order=lambda: [PlaylistTrack.position.asc()],  # the linked list's order, kept as positions
)

# Public facts about a user only: never the email.
USER = ResourceSchema(
    type="user",
    singular="user",
    plural="users",
    table=User.__table__,
    attributes=[Attribute("id", User.id, "int"), Attribute("name", User.name), Attribute("created_at", User.created_at, "datetime")],
    soft_deletes=False,
)


def _listed(ctx: QueryContext):
    return listed_clause(ctx.user_id)


PLAYLIST.add_relation(Relation("tracks", "track", remote_key=PlaylistTrack.playlist_id, order_by=lambda: [PlaylistTrack.position.asc()]))
# A playlist one may open shows its own cover, even where the image list would hide it (unlisted).
PLAYLIST.add_relation(
    Relation("images", "image", pivot=(playlist_image.c.playlist_id, playlist_image.c.image_id), parent_grants_visibility=True)
)
PLAYLIST.add_relation(Relation("user", "user", local_key=Playlist.user_id))
PLAYLIST.add_relation(Relation("first", "track", local_key=Playlist.first_id))
PLAYLIST.add_relation(Relation("last", "track", local_key=Playlist.last_id))
TRACK.add_relation(Relation("audio", "audio", local_key=PlaylistTrack.audio_id))
TRACK.add_relation(Relation("video", "video", local_key=PlaylistTrack.video_id))
TRACK.add_relation(Relation("previous", "track", local_key=PlaylistTrack.previous_id))
TRACK.add_relation(Relation("next", "track", local_key=PlaylistTrack.next_id))
TRACK.add_relation(Relation("playlist", "playlist", local_key=PlaylistTrack.playlist_id))
# Images list the playlists using them, but only those the caller may find.
IMAGE.add_relation(
    Relation("playlists", "playlist", pivot=(playlist_image.c.image_id, playlist_image.c.playlist_id), visible=_listed)
)

