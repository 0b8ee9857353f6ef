"""`GET /api/search?q=`: upstream AnimeThemes' search endpoint, one list per resource type."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from blueprints.common.query import schema, serialize_row
from blueprints.wiki import search as search_service
from domain import ValidationFailed
from extensions import db

api = Blueprint("wiki_api", __name__)

# Upstream's search keys and the schema each one lists. Videos and series are not indexed here:
# they answer empty lists so that clients reading every key keep working.
SEARCH_TYPES = {
    "anime": "anime",
    "animethemes": "animetheme",
    "artists": "artist",
    "series": "series",
    "songs": "song",
    "studios": "studio",
    "videos": "video",
}
DEFAULT_LIMIT = 3
MAX_LIMIT = 15
ALLOWED_PARAMS = {"q", "fields[search]", "page[limit]"}


def _serialize(type_name: str, ids: list[int]) -> list[dict]:
    if not ids:
        return []
    resource = schema(type_name)
    names = list(resource.default_fields or resource.attribute_names())
    columns = {"id": resource.id_column}
    for name in names:
        attribute = resource.by_name[name]
        for column in ((attribute.column,) if attribute.column is not None else ()) + attribute.needs:
            columns[column.key] = column
    rows = {row.id: row._mapping for row in db.session.execute(select(*columns.values()).where(resource.id_column.in_(ids)))}
    return [serialize_row(resource, rows[i], names) for i in ids if i in rows]


def parse_search_args(args) -> tuple[str, list[str], int]:
    errors: dict[str, list[str]] = {}
    unknown = sorted(key for key in args if key not in ALLOWED_PARAMS)
    if unknown:
        errors[unknown[0]] = [f"The {unknown[0]} parameter is not allowed."]
    query = args.get("q", "").strip()
    if not query:
        errors["q"] = ["The q field is required."]
    elif len(query) > 100:
        errors["q"] = ["The q field must not be greater than 100 characters."]
    wanted = list(SEARCH_TYPES)
    if "fields[search]" in args:
        wanted = [part.strip() for part in args.get("fields[search]", "").split(",") if part.strip()]
        bad = [part for part in wanted if part not in SEARCH_TYPES]
        if bad or not wanted:
            errors["fields.search"] = [f"The selected fields.search is invalid. Valid values: {', '.join(SEARCH_TYPES)}."]
    limit = DEFAULT_LIMIT
    raw = args.get("page[limit]", "")
    if raw:
        if not raw.isdecimal() or not 1 <= int(raw) <= MAX_LIMIT:
            errors["page.limit"] = [f"The page.limit must be an integer between 1 and {MAX_LIMIT}."]
        else:
            limit = int(raw)
    if errors:
        raise ValidationFailed(errors)
    return query, wanted, limit


@api.get("/api/search")
def search():
    query, wanted, limit = parse_search_args(request.args)
    hits = search_service.search(query, limit)
    found = {"anime": hits.anime, "animethemes": hits.themes, "artists": hits.artists, "songs": hits.songs}
    body = {key: _serialize(SEARCH_TYPES[key], found.get(key, [])) for key in wanted}
    return jsonify({"search": body})
