"""The catalogue: audio, videos, images, anime, artists, studios (AnimeThemes-style API and pages)."""
from flask import Flask

from blueprints.catalogue import seed  # noqa: F401  (registers the demo catalogue step)
from blueprints.catalogue.admin import admin
from blueprints.catalogue.api import api
from blueprints.catalogue.views import bp


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(api)
    app.register_blueprint(admin)
