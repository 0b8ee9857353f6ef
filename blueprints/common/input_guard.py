"""Hostile input stopped once, before any view sees it.

Three guards, each in one place rather than in every endpoint:

* every JSON body is parsed by :class:`GuardedRequest` (``request.get_json``, whoever calls it,
  ``silent`` or not): at most ``MAX_JSON_BYTES``, ``MAX_JSON_DEPTH`` levels, integers that fit in
  64 bits, finite numbers, and text without NUL characters or unpaired surrogates;
* :func:`reject_unstorable_text` checks query arguments, path parameters, form fields and upload
  file names for the same characters (PostgreSQL refuses NUL in text; no database can store a
  lone surrogate as UTF-8);
* ``<int:...>`` URL parameters stop at the largest value an id column holds, so a longer number
  is an ordinary 404 instead of an overflow in the database driver.

Each failure is a :class:`domain.ValidationFailed` (or a 413), answered in the caller's format.
"""
from __future__ import annotations

import json
import math
from types import SimpleNamespace
from typing import Any, Iterable

from flask import Flask, Request, request
from flask import json as flask_json
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from domain import ValidationFailed

MAX_JSON_BYTES = 1024 * 1024  # API bodies are small records; uploads are never JSON
MAX_JSON_DEPTH = 32  # far more than any document of the three APIs needs
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Every id column is INTEGER, which PostgreSQL stores in 32 bits.
ID_MAX = 2**31 - 1


def unstorable_text(value: str) -> bool:
    """True for text no database column can hold: a NUL character or an unpaired surrogate."""
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _text_error(field: str) -> ValidationFailed:
    field = field.replace("[", ".").replace("]", "")  # filter[name] -> filter.name, as the query layer says it
    return ValidationFailed({field: [f"The {field} field must not contain NUL characters or unpaired surrogates."]})


# --- JSON bodies -----------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")  # json.loads accepts NaN and Infinity; JSON does not


def _check_json(document: Any) -> None:
    """Walk the parsed body without recursion: depth, integer range, finite numbers, storable text."""
    stack: list[tuple[Any, str, int]] = [(document, "body", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise ValidationFailed({"body": [f"The request body is nested deeper than {MAX_JSON_DEPTH} levels."]})
            if isinstance(value, dict):
                for key, item in value.items():
                    child = key if path == "body" else f"{path}.{key}"
                    if unstorable_text(key):
                        raise _text_error(path)
                    stack.append((item, child, depth + 1))
            else:
                stack.extend((item, f"{path}.{index}", depth + 1) for index, item in enumerate(value))
        elif isinstance(value, str):
            if unstorable_text(value):
                raise _text_error(path)
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if not INT64_MIN <= value <= INT64_MAX:
                raise ValidationFailed({path: [f"The {path} field must be between {INT64_MIN} and {INT64_MAX}."]})
        elif isinstance(value, float) and not math.isfinite(value):
            raise ValidationFailed({path: [f"The {path} field must be a finite number."]})


def loads_request_json(data: str | bytes, **kwargs: Any) -> Any:
    """``json.loads`` for request bodies. Malformed JSON raises ValueError, which ``get_json`` turns
    into its usual 400 (or None when ``silent``); a well-formed but hostile body raises
    ValidationFailed, which no caller silences."""
    try:
        document = json.loads(data, parse_constant=_reject_constant, **kwargs)
    except RecursionError:
        raise ValidationFailed({"body": [f"The request body is nested deeper than {MAX_JSON_DEPTH} levels."]}) from None
    _check_json(document)
    return document


# get_json calls ``json_module.loads``; anything else keeps Flask's own JSON provider.
GUARDED_JSON = SimpleNamespace(loads=loads_request_json, dumps=flask_json.dumps)


class GuardedRequest(Request):
    @property
    def json_module(self) -> Any:
        return GUARDED_JSON

    @json_module.setter
    def json_module(self, value: Any) -> None:
        pass  # Flask assigns app.json to every request; bodies are still parsed by the guarded loads

    @property
    def max_content_length(self) -> int | None:
        limit = Request.max_content_length.fget(self)  # type: ignore[attr-defined]
        if self._max_content_length is None and self.is_json:
            return MAX_JSON_BYTES if limit is None else min(limit, MAX_JSON_BYTES)
        return limit

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value


# --- arguments, path parameters, forms -------------------------------------------------------


def _first_bad(pairs: Iterable[tuple[str | None, Any]]) -> str | None:
    for key, value in pairs:
        if key is None:
            # Werkzeug files a multipart part whose name it cannot read under None.
            raise ValidationFailed({"body": ["Every form field must have a name."]})
        if unstorable_text(key) or (isinstance(value, str) and unstorable_text(value)):
            return key
    return None


def reject_unstorable_text() -> None:
    """before_request: NUL or lone surrogates anywhere in the arguments, path or form are a 4xx."""
    sources: list[Iterable[tuple[str, Any]]] = [request.args.items(multi=True), (request.view_args or {}).items()]
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        # Parsing here also means a body over MAX_CONTENT_LENGTH answers 413 before any view,
        # whatever that view does with exceptions.
        sources.append(request.form.items(multi=True))
        sources.append((key, upload.filename or "") for key, upload in request.files.items(multi=True))
    for pairs in sources:
        bad = _first_bad(pairs)
        if bad is not None:
            raise _text_error(bad if not unstorable_text(bad) else "parameter")


class BoundedIntegerConverter(IntegerConverter):
    """``<int:...>``: a number beyond what an id column holds names nothing, so it is a 404.

    Raised here rather than refused as a non-match: werkzeug then answers 405 for the methods of
    a neighbouring rule, and 404 or 405 depending on the method."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > ID_MAX:
            raise NotFound()
        return number


def register_input_guard(app: Flask) -> None:
    """Call before any blueprint is registered (the converter applies to rules as they are added)
    and before any other before_request hook (the guard runs first)."""
    app.request_class = GuardedRequest
    app.url_map.converters["int"] = BoundedIntegerConverter
    app.before_request(reject_unstorable_text)
