"""The OpenAPI 3.1 document of every JSON endpoint: the three API families and the health check."""
from __future__ import annotations

from flask import Flask

from blueprints.apidocs.animethemes import animethemes_part
from blueprints.apidocs.openapi import SECURITY_SCHEMES, add, json_response, operation
from blueprints.apidocs.soundboard import soundboard_part
from blueprints.apidocs.tracks import tracks_part

DESCRIPTION = """Three API families, each with its own error format:

* **AnimeThemes-style** under `/api/` (and `/restore/`, `/forceDelete/`): errors `{"message", "errors"}`;
  lists take `page[size]`, `page[number]`, `include`, `fields[<type>]`, `sort` and `filter[...]`,
  and anything invalid answers 422.
* **Tracks v1** under `/v1/`: every body has `ok` and `api_request_id` (also the `X-Api-Request-Id`
  header); errors `{"ok": false, "message", "api_request_id"}`, validation errors are 400.
* **Soundboard** (answering as megumin.love's server does): errors `{"code", "name", "message"}`,
  validation errors are 400, and a path under its prefixes that names no endpoint answers 404
  `{"code": 404, "name": "Invalid route", "message": "Endpoint not found."}`. Its admin routes take
  the raw `SOUNDBOARD_ADMIN_TOKEN`, the session of `POST /api/login`, or an admin's account (403
  for other accounts). Pages click and hear of clicks over the WebSocket at `/ws` (or `/`).

Authenticate with `Authorization: Bearer <token>` (tokens are made on the Settings page). A
database that cannot be reached answers 503 with `Retry-After`, in the family's format."""


def _service_paths() -> dict:
    paths: dict = {}
    unavailable = json_response(
        {"type": "object", "properties": {"status": {"const": "unavailable"}, "message": {"type": "string"}}, "required": ["status", "message"], "additionalProperties": False},
        "The database is unavailable",
        headers={"Retry-After": {"schema": {"type": "string"}}},
    )
    check = {
        "type": "object",
        "properties": {"status": {"enum": ["ok", "degraded", "down", "off"]}, "latency_ms": {"type": "number"}},
        "required": ["status", "latency_ms"],
    }
    report = {
        "type": "object",
        "properties": {
            "status": {"enum": ["ok", "degraded", "down"]},
            "checks": {
                "type": "object",
                "properties": {name: check for name in ("database", "storage", "redis", "queue")},
                "required": ["database", "storage", "redis", "queue"],
                "additionalProperties": False,
            },
        },
        "required": ["status", "checks"],
        "additionalProperties": False,
    }
    add(paths, "/healthz", "get", operation(
        "healthz", "Each dependency's state: 503 when the database or the media storage is down, 200 degraded without Redis", "Service",
        {
            "200": json_response(report),
            "503": json_response(
                {"anyOf": [report, unavailable["content"]["application/json"]["schema"]]},
                "A required dependency is down",
                headers={"Retry-After": {"schema": {"type": "string"}}},
            ),
        },
    ))
    add(paths, "/ping", "get", operation(
        "ping", "Liveness without the database", "Service",
        {"200": json_response({"type": "object", "properties": {"pong": {"const": True}}, "required": ["pong"], "additionalProperties": False})},
    ))
    return paths


def build_document(app: Flask) -> dict:
    paths: dict = {}
    schemas: dict = {}
    for part_paths, part_schemas in (animethemes_part(), tracks_part(), soundboard_part(), (_service_paths(), {})):
        for url, methods in part_paths.items():
            for method, spec in methods.items():
                add(paths, url, method, spec)
        schemas |= part_schemas
    return {
        "openapi": "3.1.0",
        "info": {"title": "Themeboard", "version": "1", "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "tags": [
            {"name": name}
            for name in sorted({spec["tags"][0] for methods in paths.values() for spec in methods.values()})
        ],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items())), "securitySchemes": SECURITY_SCHEMES},
    }


def openapi_document(app: Flask) -> dict:
    """Built once per app: it depends only on the code."""
    if "openapi" not in app.extensions:
        app.extensions["openapi"] = build_document(app)
    return app.extensions["openapi"]
