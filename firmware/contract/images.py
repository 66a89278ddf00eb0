"""Item pictures on the wire (docs/item-images.md): content-addressed, retained, one message per picture.

Topic `kassa/v1/{store}/images/{sha256}` (fleet -> devices, QoS 1, retained): the payload is the picture's bytes
as they are (a PNG or JPEG, at most `ItemImage.MAX_BYTES`), no JSON and no signature. The signed catalog names
each picture (`CatalogItem.image`: sha256, bytes, type), so a device keeps a picture only when its bytes hash
to the topic's last level and a catalog item names that hash; anything else is dropped.
"""

from __future__ import annotations

import re
import struct
from typing import Annotated, ClassVar

from pydantic import Field, TypeAdapter, WithJsonSchema

from firmware.contract.payloads import KIB
from firmware.contract.topics import DEFAULT_PREFIX

__all__ = ["IMAGES_LEAF", "ItemImage", "ITEM_IMAGE_ADAPTER", "image_topic", "images_filter", "parse_image_topic",
           "picture_size"]

IMAGES_LEAF = "images"
_SHA = re.compile(r"^[0-9a-f]{64}$")


class ItemImage:
    """The payload's bounds (it is bytes, not a JSON document)."""

    MAX_BYTES: ClassVar[int] = 256 * KIB
    TYPES: ClassVar[tuple[str, ...]] = ("image/png", "image/jpeg")
    MAX_SIDE: ClassVar[int] = 1024  # px; a device refuses a bigger picture


# what the JSON Schema (schemas/item_image.json) says of the payload: an octet string of at most MAX_BYTES
ITEM_IMAGE_ADAPTER: TypeAdapter[bytes] = TypeAdapter(Annotated[bytes, Field(max_length=ItemImage.MAX_BYTES),
                                                               WithJsonSchema({
    "type": "string", "maxLength": ItemImage.MAX_BYTES,
    "description": "The picture's bytes as they are (image/png or image/jpeg, at most 256 KiB, at most 1024 px a "
                   "side), not JSON; the topic's last level is their SHA-256 in lowercase hex, and the store's "
                   "signed catalog names that hash on an item (`image`)."})])


def image_topic(store: str, sha256: str, prefix: str = DEFAULT_PREFIX) -> str:
    return f"{prefix}/{store}/{IMAGES_LEAF}/{sha256}"


def images_filter(store: str, prefix: str = DEFAULT_PREFIX) -> str:
    """What a device subscribes to: every picture of its store."""
    return f"{prefix}/{store}/{IMAGES_LEAF}/+"


def parse_image_topic(topic: str, prefix: str = DEFAULT_PREFIX) -> tuple[str, str] | None:
    """`(store, sha256)` of a picture's topic, else None."""
    if not topic.startswith(prefix + "/"):
        return None
    parts = topic[len(prefix) + 1:].split("/")
    if len(parts) != 3 or parts[1] != IMAGES_LEAF or not parts[0] or not _SHA.match(parts[2]):
        return None
    return parts[0], parts[2]


def picture_size(data: bytes) -> tuple[str, int, int] | None:
    """(type, width, height) from a PNG's or a baseline/progressive JPEG's header, else None."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24 and data[12:16] == b"IHDR":
        w, h = struct.unpack(">II", data[16:24])
        return "image/png", w, h
    if data[:3] == b"\xff\xd8\xff":
        i = 2
        while i + 4 <= len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            if marker == 0xFF:  # fill byte
                i += 1
                continue
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            length = struct.unpack(">H", data[i + 2:i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                if i + 9 > len(data):
                    return None
                h, w = struct.unpack(">HH", data[i + 5:i + 9])
                return "image/jpeg", w, h
            if length < 2:
                return None
            i += 2 + length
    return None
