"""Real PNG and JPEG pictures for tests (drawn with pygame), and the catalog references that name them."""

from __future__ import annotations

import hashlib
import io
import random

from firmware.domain.catalog import ImageRef


def picture(w: int = 64, h: int = 48, *, seed: int = 0, kind: str = "png", noise: bool = True) -> bytes:
    """A w x h picture; with `noise` its pixels are random, so a PNG is about w*h*3 bytes (no compression)."""
    import pygame

    rng = random.Random(seed)
    if noise:
        surface = pygame.image.frombuffer(rng.randbytes(w * h * 3), (w, h), "RGB")
    else:
        surface = pygame.Surface((w, h))
        surface.fill((rng.randrange(256), rng.randrange(256), rng.randrange(256)))
        pygame.draw.circle(surface, (250, 250, 250), (w // 2, h // 2), min(w, h) // 3)
    out = io.BytesIO()
    pygame.image.save(surface, out, f"picture.{'jpg' if kind == 'jpeg' else 'png'}")
    return out.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def ref(data: bytes, kind: str = "image/png") -> ImageRef:
    return ImageRef(sha(data), len(data), kind)


def ref_doc(data: bytes, kind: str = "image/png") -> dict[str, object]:
    """The catalog item's `image` field naming `data`."""
    return {"sha256": sha(data), "bytes": len(data), "type": kind}
