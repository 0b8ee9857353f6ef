"""Playlists: management API, tracks, events and pages."""
from flask import Flask


def register(app: Flask) -> None:
    """Attach this feature's blueprints (filled in by the playlists issue)."""
