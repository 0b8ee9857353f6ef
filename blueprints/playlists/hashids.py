"""Opaque playlist ids: sqids with an alphabet shuffled by a secret, so ids can't be guessed or counted."""
from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from flask import current_app
from sqids import Sqids

ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
MIN_LENGTH = 8


@lru_cache(maxsize=8)
def _codec(secret: str) -> Sqids:
    # A deterministic shuffle keyed by the secret: the same secret always gives the same ids.
    letters = list(ALPHABET)
    keyed = sorted(letters, key=lambda ch: hmac.new(secret.encode(), ch.encode(), hashlib.sha256).digest())
    return Sqids(alphabet="".join(keyed), min_length=MIN_LENGTH)


def codec() -> Sqids:
    secret = current_app.config.get("HASHIDS_SALT") or current_app.config["SECRET_KEY"]
    return _codec(secret)


def encode_id(playlist_id: int) -> str:
    return codec().encode([playlist_id])


def decode_id(hashid: str) -> int | None:
    """The numeric id, or None for anything that is not exactly what encode_id produces."""
    if not hashid or len(hashid) > 32 or not hashid.isalnum():
        return None
    numbers = codec().decode(hashid)
    if len(numbers) != 1 or codec().encode(numbers) != hashid:
        return None
    return numbers[0]
