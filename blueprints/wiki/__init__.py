"""The wiki's reading side: search (API and search box), anime and artist pages, season browsing."""
from flask import Flask

from blueprints.common.templating import add_navigation


def register(app: Flask) -> None:
    from blueprints.wiki.api import api
    from blueprints.wiki.views import bp

    app.register_blueprint(api)
    app.register_blueprint(bp)
    add_navigation(app, (15, "Anime", "wiki.anime_index", False))
