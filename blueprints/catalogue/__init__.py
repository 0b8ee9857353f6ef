"""The catalogue: audio, videos, images, anime, artists, studios (AnimeThemes-style API and pages)."""
from flask import Flask


def register(app: Flask) -> None:
    """Attach this feature's blueprints (filled in by the catalogue issue)."""
