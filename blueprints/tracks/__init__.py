"""Tracks v1: collections, creators, tracks, signed uploads, processing and the embed player."""
from flask import Flask


def register(app: Flask) -> None:
    """Attach this feature's blueprints (filled in by the Tracks v1 issue)."""
