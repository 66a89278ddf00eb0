"""Item prompts and age checks in the contract (docs/item-prompts.md): the model, the checked-in JSON Schema and
the domain agree on what a catalog item's `prompt`/`min_age` and a receipt line's `age_check` may be."""

from __future__ import annotations

import json

import jsonschema
import pytest

from firmware.contract import CatalogMessage, PayloadRejected, Receipt, decode, load_schema
from firmware.contract.chain import receipt_hash
from firmware.domain.catalog import Catalog
from firmware.domain.errors import PayloadInvalid
from firmware.domain.receipt_model import Receipt as ReceiptModel
from tests.contract.kassa_samples import CATALOG, make_receipt


def _catalog(**fields):
    return {**CATALOG, "items": [{**CATALOG["items"][0], **fields}, *CATALOG["items"][1:]]}


def test_a_catalog_item_with_a_prompt_and_a_minimum_age_passes_model_schema_and_domain():
    doc = _catalog(prompt="check ID: 18+", min_age=18)
    jsonschema.validate(doc, load_schema("catalog"))
    decode(CatalogMessage, json.dumps(doc))
    item = Catalog.from_payload(doc).items[0]
    assert (item.prompt, item.min_age) == ("check ID: 18+", 18)
    again = Catalog.from_payload(doc).to_payload()
    assert again["items"][0]["prompt"] == "check ID: 18+" and again["items"][0]["min_age"] == 18
    assert Catalog.from_trusted(again).items[0].min_age == 18


def test_old_catalogs_stay_valid_and_round_trip_without_the_new_fields():
    payload = Catalog.from_payload(CATALOG).to_payload()
    assert all("prompt" not in i and "min_age" not in i for i in payload["items"])
    assert Catalog.from_payload(CATALOG).items[0].min_age == 0


@pytest.mark.parametrize("fields", [{"min_age": 100}, {"min_age": -1}, {"min_age": "18"}, {"min_age": True},
                                    {"min_age": 17.5}, {"prompt": ""}, {"prompt": "x" * 81}, {"prompt": 7}])
def test_bad_prompt_or_age_is_refused_by_model_schema_and_domain(fields):
    doc = _catalog(**fields)
    assert not jsonschema.Draft202012Validator(load_schema("catalog")).is_valid(doc)
    with pytest.raises(PayloadRejected):
        decode(CatalogMessage, json.dumps(doc))
    with pytest.raises(PayloadInvalid):
        Catalog.from_payload(doc)


def _receipt_with(age_check):
    line = {"sku": "4006381333931", "name": "Pencil HB", "qty": 2, "unit_price": 129, "discount": 0,
            "tax_code": "A", "amount": 258, "age_check": age_check}
    return make_receipt(lines=[line])


def test_a_receipt_line_age_check_passes_model_and_schema_and_keeps_its_hash():
    doc = _receipt_with({"by": "c7", "min_age": 18, "dob": "1990-12-24"})
    jsonschema.validate(doc, load_schema("receipt"))
    decode(Receipt, json.dumps(doc))
    model = ReceiptModel.from_doc(doc)
    assert model.lines[0].age_check == {"by": "c7", "min_age": 18, "dob": "1990-12-24"}
    assert model.to_doc() == doc and receipt_hash(model.to_doc()) == doc["hash"]


@pytest.mark.parametrize("age_check", [{"by": "c7", "min_age": 0}, {"by": "c7", "min_age": 100}, {"min_age": 18},
                                       {"by": "c7", "min_age": 18, "dob": "24.12.1990"}])
def test_a_bad_age_check_is_refused_by_model_and_schema(age_check):
    doc = _receipt_with(age_check)
    assert not jsonschema.Draft202012Validator(load_schema("receipt")).is_valid(doc)
    with pytest.raises(PayloadRejected):
        decode(Receipt, json.dumps(doc))
