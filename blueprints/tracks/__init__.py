"""Tracks v1: collections, creators, tracks, signed uploads, processing and the embed player."""
from flask import Flask

from blueprints.tracks import processing, seed  # noqa: F401  (seed registers the demo step)
from blueprints.tracks.api import api
from blueprints.tracks.views import bp


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(api)

    @app.before_request
    def _start_track_sweeper() -> None:
        # On the first request of each process: nothing is left ``processing`` after a restart.
        processing.start_sweeper(app)
