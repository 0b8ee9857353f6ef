"""`/api/openapi.json` (the document) and `/api/docs` (the same, as a page)."""
from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, render_template

from blueprints.apidocs.document import openapi_document

bp = Blueprint("apidocs", __name__)
METHODS = ("get", "post", "put", "patch", "delete")


@bp.get("/api/openapi.json")
def document():
    return jsonify(openapi_document(current_app._get_current_object()))


@bp.get("/api/docs")
def docs():
    spec = openapi_document(current_app._get_current_object())
    by_tag: dict[str, list[dict]] = {}
    for url, methods in spec["paths"].items():
        for method in METHODS:
            if method in methods:
                operation = methods[method]
                by_tag.setdefault(operation["tags"][0], []).append({"url": url, "method": method.upper(), **operation})
    return render_template(
        "apidocs/docs.html",
        spec=spec,
        by_tag=by_tag,
        schemas_json={name: json.dumps(schema, indent=2) for name, schema in spec["components"]["schemas"].items()},
        pretty=lambda value: json.dumps(value, indent=2),
    )
