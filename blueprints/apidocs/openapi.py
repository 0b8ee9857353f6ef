"""Building blocks shared by the three families' descriptions: responses, errors, parameters."""
from __future__ import annotations

from typing import Any

REF = "#/components/schemas/"
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "string", "pattern": "^[0-9]+$"}}}

STATUS_TEXT = {
    200: "Success",
    201: "Created",
    400: "Invalid request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Busy with another request; try again after Retry-After seconds",
    413: "Body too large",
    422: "Invalid input",
    429: "Too many requests",
    503: "Database unavailable; try again after Retry-After seconds",
}

# Who may call an operation, as OpenAPI security requirements.
PUBLIC: list[dict] = []
SIGNED_IN = [{"bearerToken": []}, {"sessionCookie": []}]
SOUNDBOARD_ADMIN = [{"soundboardAdminToken": []}, {"bearerToken": []}, {"sessionCookie": []}]

SECURITY_SCHEMES = {
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token from Settings: `Authorization: Bearer <token>`. Admin operations need an admin's token.",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "session",
        "description": "The pages' login session; unsafe methods then also need the X-CSRFToken header.",
    },
    "soundboardAdminToken": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "The raw SOUNDBOARD_ADMIN_TOKEN (no scheme), as the original soundboard expects.",
    },
}


def ref(name: str) -> dict:
    return {"$ref": REF + name}


def nullable(schema: dict) -> dict:
    """The schema or null (OpenAPI 3.1 is JSON Schema 2020-12)."""
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    if "enum" in schema:
        return {**schema, "enum": [*schema["enum"], None]}
    kind = schema.get("type")
    return {**schema, "type": [kind, "null"]} if isinstance(kind, str) else schema


def json_response(schema: dict, description: str = "Success", example: Any = None, headers: dict | None = None) -> dict:
    content: dict = {"schema": schema}
    if example is not None:
        content["example"] = example
    response: dict = {"description": description, "content": {"application/json": content}}
    if headers:
        response["headers"] = headers
    return response


def error_responses(error_schema: str, *codes: int) -> dict[str, dict]:
    """Every listed status answered with the family's error body; 409, 429 and 503 say when to retry."""
    responses = {}
    for code in sorted(set(codes) | {429, 503}):
        headers = RETRY_AFTER if code in (409, 429, 503) else None
        responses[str(code)] = json_response(ref(error_schema), STATUS_TEXT[code], headers=headers)
    return responses


def query(name: str, schema: dict, description: str = "", *, example: Any = None) -> dict:
    parameter = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        parameter["description"] = description
    if example is not None:
        parameter["example"] = example
    return parameter


def path(name: str, schema: dict, description: str = "") -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}


def json_body(schema: dict, *, required: bool = True, example: Any = None, form: bool = False) -> dict:
    """A JSON request body (and, where the route also reads forms, the same fields as a form)."""
    content: dict = {"application/json": {"schema": schema}}
    if example is not None:
        content["application/json"]["example"] = example
    if form:
        content["application/x-www-form-urlencoded"] = {"schema": schema}
    return {"required": required, "content": content}


def operation(
    operation_id: str,
    summary: str,
    tag: str,
    responses: dict,
    *,
    parameters: list[dict] | None = None,
    body: dict | None = None,
    security: list[dict] = PUBLIC,
    description: str = "",
) -> dict:
    spec: dict = {"operationId": operation_id, "summary": summary, "tags": [tag], "responses": responses, "security": security or [{}]}
    if description:
        spec["description"] = description
    if parameters:
        spec["parameters"] = parameters
    if body:
        spec["requestBody"] = body
    return spec


def add(paths: dict, url: str, method: str, spec: dict) -> None:
    paths.setdefault(url, {})[method] = spec
