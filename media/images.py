"""The image counterpart of the audio inspection: is this upload a real JPEG, PNG, WebP or GIF?"""
from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from domain import InvalidImage

FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp"), "GIF": ("gif", "image/gif")}
MESSAGE = "The file must be a JPEG, PNG, WebP or GIF image."


@dataclass(frozen=True)
class ImageInfo:
    extension: str
    mimetype: str
    width: int
    height: int


def inspect_image(data: bytes) -> ImageInfo:
    """Decoded by Pillow (verify, then a full load) to prove it is an image; InvalidImage otherwise."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            kind, (width, height) = image.format, image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise InvalidImage(MESSAGE) from None
    if kind not in FORMATS:
        raise InvalidImage(MESSAGE)
    extension, mimetype = FORMATS[kind]
    return ImageInfo(extension, mimetype, width, height)
