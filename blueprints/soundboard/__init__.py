"""The soundboard: sounds, clicks, live counters, statistics, milestones, admin upload."""
from flask import Flask


def register(app: Flask) -> None:
    """Attach this feature's blueprints (filled in by the soundboard issue)."""
