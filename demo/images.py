"""Generated demo artwork: gradient covers with a title, drawn with Pillow."""
from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageFont

PALETTES = [
    ((255, 92, 138), (124, 131, 255)),
    ((60, 207, 145), (30, 60, 140)),
    ((255, 181, 71), (200, 40, 90)),
    ((100, 220, 255), (90, 40, 160)),
    ((240, 240, 255), (255, 92, 138)),
]


def cover(title: str, size: int = 640, seed: int = 0, fmt: str = "PNG") -> bytes:
    rng = random.Random(seed)
    top, bottom = PALETTES[seed % len(PALETTES)]
    image = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(image)
    for y in range(size):
        mix = y / (size - 1)
        draw.line([(0, y), (size, y)], fill=tuple(int(a + (b - a) * mix) for a, b in zip(top, bottom)))
    for _ in range(6):  # soft circles, like stage lights
        r = rng.randint(size // 10, size // 3)
        x, y = rng.randint(0, size), rng.randint(0, size)
        draw.ellipse([x - r, y - r, x + r, y + r], outline=(255, 255, 255), width=max(2, size // 120))
    try:
        font = ImageFont.load_default(size=max(12, size // 11))
    except TypeError:  # Pillow < 10.1
        font = ImageFont.load_default()
    draw.rectangle([0, size * 0.72, size, size * 0.9], fill=(15, 16, 32))
    draw.text((size * 0.06, size * 0.74), title[:18], fill=(255, 255, 255), font=font)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()
