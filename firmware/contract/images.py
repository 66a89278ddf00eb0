"""Item pictures on the wire (docs/item-images.md): content-addressed, retained, one message per picture.

Topic `kassa/v1/{store}/images/{sha256}` (fleet -> devices, QoS 1, retained): the payload is the picture's bytes
as they are (a PNG or JPEG, at most `ItemImage.MAX_BYTES`), no JSON and no signature. The signed catalog names
each picture (`CatalogItem.image`: sha256, bytes, type), so a device keeps a picture only when its bytes hash
to the topic's last level and a catalog item names that hash; anything else is dropped.
"""

from __future__ import annotations

import re
from typing import Annotated, ClassVar

from pydantic import Field, TypeAdapter, WithJsonSchema

from firmware.contract.payloads import KIB
from firmware.contract.topics import DEFAULT_PREFIX

__all__ = ["IMAGES_LEAF", "ItemImage", "ITEM_IMAGE_ADAPTER", "image_topic", "images_filter", "parse_image_topic"]

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
