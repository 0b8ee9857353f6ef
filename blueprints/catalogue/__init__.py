"""The catalogue: the anime theme wiki (anime, themes, entries, songs, artists, series, studios),
its audio, videos and images (AnimeThemes-style API, pages and admin)."""
from flask import Flask

from blueprints.common.cache import versioned_tables
from blueprints.common.query import register as register_schema

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
