"""Input checks shared by the Tracks v1 API and the pages; each failure names its field."""
from __future__ import annotations

import re
import uuid
from typing import Any, Mapping

from domain import ValidationFailed

MAX_STRING = 255
MAX_DESCRIPTION = 5000
MAX_LIMIT = 200
DEFAULT_LIMIT = 50
MAX_OFFSET = 2**31 - 1  # far past any list, and well inside the databases' 64-bit OFFSET
COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
MISSING = object()


def fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed({field: [message]})


def parse_uuid(value: Any, field: str) -> uuid.UUID:
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise fail(field, f"{field} must be a valid UUID.")


def json_object(payload: Any) -> Mapping[str, Any]:
    if not isinstance(payload, dict):
        raise fail("body", "The request body must be a JSON object.")
    return payload


def required_string(data: Mapping[str, Any], field: str, max_length: int = MAX_STRING) -> str:
    value = data.get(field, MISSING)
    if value is MISSING or value is None or (isinstance(value, str) and not value.strip()):
        raise fail(field, f"{field} is required.")
    return string(value, field, max_length)  # type: ignore[return-value]


def string(value: Any, field: str, max_length: int = MAX_STRING, *, nullable: bool = True) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise fail(field, f"{field} must be a string.")
    value = value.strip()
    if len(value) > max_length:
        raise fail(field, f"{field} must be at most {max_length} characters.")
    return value or None


def file_name(value: Any) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise fail("file_name", "file_name is required.")
    name = string(value, "file_name")
    assert name is not None
    if "/" in name or "\\" in name:
        raise fail("file_name", "file_name must not contain path separators.")
    if name in {".", ".."} or any(ord(char) < 32 for char in name):
        raise fail("file_name", "file_name must be a plain file name.")
    return name


def metadata(value: Any, field: str = "metadata") -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise fail(field, f"{field} must be a JSON object.")
    return value


def boolean(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise fail(field, f"{field} must be a boolean.")
    return value


def color(value: Any, field: str = "player_color") -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not COLOR.fullmatch(value):
        raise fail(field, f"{field} must be a hex colour like #1A2B3C.")
    return value.upper()


def page(args: Mapping[str, str]) -> tuple[int, int]:
    """``limit`` 1..200 (default 50) and ``offset`` >= 0 from the query string."""
    limit = _integer(args.get("limit"), "limit", DEFAULT_LIMIT)
    offset = _integer(args.get("offset"), "offset", 0)
    if not 1 <= limit <= MAX_LIMIT:
        raise fail("limit", f"limit must be between 1 and {MAX_LIMIT}.")
    if not 0 <= offset <= MAX_OFFSET:
        raise fail("offset", f"offset must be between 0 and {MAX_OFFSET}.")
    return limit, offset


def _integer(raw: str | None, field: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise fail(field, f"{field} must be an integer.") from None
