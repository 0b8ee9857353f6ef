"""The catalogue: the anime theme wiki (anime, themes, entries, songs, artists, series, studios),
its audio, videos and images (AnimeThemes-style API, pages and admin)."""
from flask import Flask

from blueprints.common.cache import versioned_tables
from blueprints.common.query import register as register_schema
from blueprints.common.templating import add_admin_links, add_navigation

# Every table a cached catalogue response may read (pivots too: attach/detach writes them directly).
TABLES = (
    "audio", "video", "image", "anime", "artist", "studio", "series", "song",
    "anime_synonym", "anime_theme", "anime_theme_entry",
    "anime_image", "artist_image", "studio_image", "anime_studio", "anime_series", "anime_theme_entry_video", "artist_song",
)


def register(app: Flask) -> None:
    from blueprints.catalogue import schemas, seed
    from blueprints.catalogue.admin import admin
    from blueprints.catalogue.api import api
    from blueprints.catalogue.cli import catalogue_cli
    from blueprints.catalogue.views import bp

    for resource_schema in schemas.ALL:
        register_schema(resource_schema)
    versioned_tables(*TABLES)
    seed.register_seed()
    app.register_blueprint(bp)
    app.register_blueprint(api)
    app.register_blueprint(admin)
    app.cli.add_command(catalogue_cli)
    add_navigation(app, (20, "Audio", "catalogue.audio_index", False), (30, "Images", "catalogue.image_index", False))
    add_admin_links(
        app,
        (10, "Audio", "catalogue_admin.admin_audio", "Create, edit, upload and trash audio tracks"),
        (11, "Videos", "catalogue_admin.admin_video", "Videos: link them to theme entries"),
        (12, "Images", "catalogue_admin.admin_image", "Cover art and artwork"),
        (20, "Anime", "catalogue_admin.admin_anime", "Anime: synonyms, themes, entries, series, studios, covers"),
        (21, "Themes", "catalogue_admin.admin_animetheme", "OP/ED/IN themes: their song and entries"),
        (22, "Entries", "catalogue_admin.admin_animethemeentry", "Theme entries (versions, episodes): their videos"),
        (23, "Songs", "catalogue_admin.admin_song", "Songs and the artists performing them"),
        (24, "Artists", "catalogue_admin.admin_artist", "Artists: songs and images"),
        (25, "Synonyms", "catalogue_admin.admin_animesynonym", "Other names of anime"),
        (26, "Series", "catalogue_admin.admin_series", "Series grouping anime"),
        (27, "Studios", "catalogue_admin.admin_studio", "Studios: anime and images"),
    )
