"""Playlists: management API, tracks, events and pages."""
from flask import Flask

from blueprints.catalogue.services import IMAGE_VISIBILITY, audio_leaving
from blueprints.playlists import events, schemas  # noqa: F401  (schemas register the query resources)
from blueprints.playlists.api import api
from blueprints.playlists.services import image_listed_clause, image_reachable_clause, remove_audio_everywhere
from blueprints.playlists.views import bp


def _take_audio_out_of_playlists(sender, audio_id: int, **extra) -> None:
    remove_audio_everywhere(audio_id)


def register(app: Flask) -> None:
    app.register_blueprint(api)
    app.register_blueprint(bp)
    events.connect_activity_log()
    audio_leaving.connect(_take_audio_out_of_playlists)
    IMAGE_VISIBILITY.listed = image_listed_clause
    IMAGE_VISIBILITY.reachable = image_reachable_clause
