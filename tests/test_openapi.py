"""The OpenAPI document: valid OpenAPI 3.1, every JSON route of the app in it (and nothing else),
every example valid against its schema, served as JSON and as a page."""
from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from blueprints.common.errors import family_for

HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
SERVICE_ROUTES = {"/healthz", "/ping"}
# JSON endpoints that are not part of an API: the document describes itself and its page.
UNDOCUMENTED = {"/api/openapi.json", "/api/docs"}


@pytest.fixture()
def document(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises with the first problem


def _json_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.websocket or rule.rule in UNDOCUMENTED or not (family_for(rule.rule) or rule.rule in SERVICE_ROUTES):
            continue  # a WebSocket (/ws, /) speaks its own protocol, not JSON over HTTP
        routes |= {(url, method.lower()) for url in _document_urls(rule.rule) for method in rule.methods & HTTP_METHODS}
    return routes


def _document_urls(rule: str) -> list[str]:
    """The rule's URLs as the document writes them: ``<int:id>`` is ``{id}``, and an
    ``<any(a, b):name>`` rule is one URL per choice (each takes its own body)."""
    choices = re.search(r"<any\(([^)]*)\):[a-z_]+>", rule)
    if choices:
        return [url for choice in choices[1].split(",") for url in _document_urls(rule.replace(choices[0], choice.strip().strip("'\"")))]
    return [re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)]


def test_every_json_route_is_documented_and_nothing_else(app, document):
    routes = _json_routes(app)
    assert len(routes) > 90
    documented = {(url, method) for url, methods in document["paths"].items() for method in methods if method.upper() in HTTP_METHODS}
    assert routes - documented == set(), "routes missing from the document"
    assert documented - routes == set(), "documented operations the app does not have"


def test_path_parameters_match_the_routes(document):
    for url, methods in document["paths"].items():
        names = set(re.findall(r"{([a-z_]+)}", url))
        for method, operation in methods.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, (method, url)


def _examples(node, trail=()):
    """(where, schema, example) for every example in the document, with the schema it illustrates."""
    if isinstance(node, dict):
        if "schema" in node and "example" in node:
            yield trail, node["schema"], node["example"]
        for key, value in node.get("examples", {}).items() if isinstance(node.get("examples"), dict) else ():
            if "schema" in node and isinstance(value, dict) and "value" in value:
                yield (*trail, key), node["schema"], value["value"]
        for key, value in node.items():
            yield from _examples(value, (*trail, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _examples(value, (*trail, index))


def test_every_example_validates_against_its_schema(document):
    found = list(_examples(document["paths"]))
    assert len(found) >= 8
    for trail, schema, example in found:
        # The schema's $refs point into the document's components.
        rooted = {**schema, "components": document["components"]} if "$ref" not in schema else {"allOf": [schema], "components": document["components"]}
        validator = Draft202012Validator(rooted, format_checker=Draft202012Validator.FORMAT_CHECKER)
        errors = [error.message for error in validator.iter_errors(example)]
        assert errors == [], "/".join(map(str, trail))


def test_an_example_that_does_not_match_is_caught(document):
    schema = document["paths"]["/api/playlist"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    rooted = {**schema, "components": document["components"]}
    wrong = {"playlist": {"id": "x", "visibility": "0"}}
    assert list(Draft202012Validator(rooted).iter_errors(wrong))


def test_the_docs_page_reads_the_document(client, document):
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for url, methods in document["paths"].items():
        assert f"<code>{url}</code>" in html
    from tests.test_security_headers import inline_code

    assert inline_code(html) == []
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
