"""Anime, artist and season pages, and the search page whose box answers as you type."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from blueprints.common.htmx import render_page
from blueprints.common.query import page_argument
from blueprints.wiki import services
from models.catalogue import ANIME_SEASONS

bp = Blueprint("wiki", __name__)


@bp.get("/anime")
def anime_index():
    raw_year = request.args.get("year", "")
    year = int(raw_year) if raw_year.isdecimal() and len(raw_year) <= 4 else None
    season = request.args.get("season", "")
    season = season.title() if season.title() in ANIME_SEASONS else None
    pagination = services.browse_anime(year, season, page_argument(request.args))
    return render_template(
        "wiki/anime_index.html", pagination=pagination, year=year, season=season, years=services.anime_years(), seasons=ANIME_SEASONS,
        services=services,
    )


@bp.get("/anime/<slug>")
def anime_detail(slug: str):
    anime, credits = services.anime_detail(slug)
    return render_template("wiki/anime_detail.html", anime=anime, credits=credits, services=services)


@bp.get("/artists/<slug>")
def artist_detail(slug: str):
    artist, songs, credits = services.artist_detail(slug)
    return render_template("wiki/artist_detail.html", artist=artist, songs=songs, credits=credits, services=services)


@bp.get("/search")
def search():
    query = request.args.get("q", "").strip()[:100]
    results = services.search_page(query) if query else None
    return render_page("wiki/search.html", "wiki/_search_results.html", query=query, results=results, services=services)
