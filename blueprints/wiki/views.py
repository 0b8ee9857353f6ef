"""Anime, artist and season pages, and the search page whose box answers as you type."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("wiki", __name__)


@bp.get("/anime")
def anime_index():
    return "todo"
