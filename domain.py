"""Plain domain exceptions raised by services; each web layer maps them to its API's format.

Services never call abort(): the HTML view, the JSON routes, the CLI and the tests all call
the same function, and each decides what a failure looks like to its caller.
"""
from __future__ import annotations


class DomainError(Exception):
    status = 400

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors


class Unauthenticated(DomainError):
    status = 401

    def __init__(self, message: str = "Unauthenticated"):
        super().__init__(message)


class Forbidden(DomainError):
    status = 403

    def __init__(self, message: str = "This action is unauthorized"):
        super().__init__(message)


class NotFound(DomainError):
    status = 404


class ValidationFailed(DomainError):
    """Invalid input; ``errors`` maps each field to its messages."""

    status = 422

    def __init__(self, errors: dict[str, list[str]], message: str | None = None):
        first = next(iter(errors.values()))[0] if errors else "The given data was invalid."
        super().__init__(message or first, errors)


class PayloadTooLarge(DomainError):
    status = 413


class InvalidAudio(DomainError):
    """An upload that is not real, playable MP3/Ogg/FLAC audio."""

    status = 422


class InvalidImage(DomainError):
    status = 422


class Conflict(DomainError):
    """The resource is busy with another request; ``retry_after`` (seconds) says when to try again."""

    status = 409

    def __init__(self, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after
