"""The catalog's `variants` and `items[].image`, and the item pictures' topic (docs/stock.md, docs/item-images.md)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from firmware.contract import PayloadRejected, decode
from firmware.contract.images import ItemImage, image_topic, images_filter, parse_image_topic
from firmware.contract.limits import DEVICE_MAX_PACKET
from firmware.contract.payloads import CatalogMessage
from firmware.contract.schemas import load_schema
from firmware.contract.topics import DeviceTopics, parse_topic

DEMO = json.loads((Path(__file__).parents[2] / "firmware" / "demo" / "catalog.json").read_text(encoding="utf-8"))
SHA = "0f" * 32


def demo(**changes):
    doc = json.loads(json.dumps(DEMO))
    doc.update(changes)
    return doc


def test_the_demo_catalog_with_its_variants_passes_model_and_schema():
    model = decode(CatalogMessage, json.dumps(DEMO))
    assert model.variants is not None and len(model.variants) == 3
    jsonschema.validate(DEMO, load_schema("catalog"))


@pytest.mark.parametrize("change, why", [
    (lambda d: d["variants"][0]["variants"].append({"sku": "missing-sku", "values": ["L", "Black"]}),
     "names skus not in items: missing-sku"),
    (lambda d: d["variants"][1].update(parent=d["items"][0]["sku"]), "is also an item's sku"),
    (lambda d: d["variants"][1]["variants"][0].update(sku=d["variants"][0]["variants"][0]["sku"]),
     "in more than one group"),
    (lambda d: d["variants"][0]["variants"][0].update(values=["XXL", "Blue"]), "is not a Size of this item"),
    (lambda d: d["variants"][0]["axes"].extend([{"name": "A", "values": ["x"]}, {"name": "B", "values": ["y"]}]),
     "axes"),
    (lambda d: d.update(variants=[d["variants"][0]] * 2), "appears more than once"),
])
def test_a_catalog_with_inconsistent_variants_is_refused_with_the_reason(change, why):
    doc = demo()
    change(doc)
    with pytest.raises(PayloadRejected, match=why):
        decode(CatalogMessage, json.dumps(doc))


@pytest.mark.parametrize("image, ok", [
    ({"sha256": SHA, "bytes": 2048, "type": "image/png"}, True),
    ({"sha256": SHA, "bytes": 2048, "type": "image/jpeg", "alt": "later fields are tolerated"}, True),
    ({"sha256": SHA, "bytes": 2048, "type": "image/gif"}, False),
    ({"sha256": SHA, "bytes": ItemImage.MAX_BYTES + 1, "type": "image/png"}, False),
    ({"sha256": SHA.upper(), "bytes": 2048, "type": "image/png"}, False),
    ({"sha256": SHA, "bytes": "2048", "type": "image/png"}, False),  # strict: no coercion
])
def test_an_items_picture_reference_is_checked_by_model_and_schema_alike(image, ok):
    doc = demo()
    doc["items"][0]["image"] = image
    try:
        decode(CatalogMessage, json.dumps(doc))
        model_ok = True
    except PayloadRejected:
        model_ok = False
    try:
        jsonschema.validate(doc, load_schema("catalog"))
        schema_ok = True
    except jsonschema.ValidationError:
        schema_ok = False
    assert model_ok is ok and schema_ok is ok


def test_the_pictures_topic_is_content_addressed_under_the_store():
    t = DeviceTopics("S001", "R1")
    assert t.image(SHA) == image_topic("S001", SHA) == f"kassa/v1/S001/images/{SHA}"
    assert t.images == images_filter("S001") == "kassa/v1/S001/images/+"
    assert parse_image_topic(t.image(SHA)) == ("S001", SHA)
    assert parse_image_topic("kassa/v1/S001/images/not-a-hash") is None
    assert parse_image_topic(f"kassa/v1/S001/R1/images/{SHA}") is None
    assert parse_topic(t.image(SHA)) is None  # not a JSON topic: the recorder and ingest leave it alone
    assert DEVICE_MAX_PACKET > ItemImage.MAX_BYTES
    schema = load_schema("item_image")
    assert schema["type"] == "string" and schema["maxLength"] == ItemImage.MAX_BYTES
