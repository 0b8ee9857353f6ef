"""One URL serves the full page, or the fragment it includes for htmx requests."""
from __future__ import annotations

from flask import Response, make_response, render_template, request


def is_htmx_request() -> bool:
    return request.headers.get("HX-Request") == "true"


def wants_fragment() -> bool:
    """A genuine htmx swap: not a boosted navigation and not a history restore (those need the page)."""
    return (
        is_htmx_request()
        and request.headers.get("HX-Boosted") != "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render_page(page: str, fragment: str, status: int = 200, **context) -> Response:
    template = fragment if wants_fragment() else page
    response = make_response(render_template(template, **context), status)
    response.headers.add("Vary", "HX-Request")
    return response
