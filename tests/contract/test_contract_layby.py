"""Layby on the wire (contract 1.3.0, docs/layby.md): the receipt's layby movements and the snapshot's open laybys;
the models and the JSON Schemas (generated, and the checked-in accounts.json) agree, and bad documents are refused
by both."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from firmware.contract import PayloadRejected, decode, encode
from firmware.contract.accounts import MAX_LAYBY_LINES, AccountsSnapshot, decode_accounts
from firmware.contract.schemas import load_schema
from firmware.domain import credit
from tests.contract.test_contract_accounts import ACCOUNTS_VALIDATOR, SNAPSHOT

LINE = {"sku": "4006380135079", "name": "Coffee beans 500 g", "qty": 2, "unit_price": 799, "discount": 0,
        "tax_code": "B", "amount": 1598}
WEIGHED = {**LINE, "qty": "0.730", "amount": 583}
MOVES = [
    {"type": "layby_open", "layby": "LB-S001-R1-42", "customer": "C-1001", "total": 2181, "deposit": 300,
     "due": "2026-12-24", "lines": [LINE, WEIGHED]},
    {"type": "layby_payment", "layby": "LB-S001-R1-42", "amount": 1000},
    {"type": "layby_collect", "layby": "LB-S001-R1-42", "paid": 2181},
    {"type": "layby_cancel", "layby": "LB-S001-R2-7", "refund": 0, "fee": 500},
]
OPEN_LAYBY = {"layby": "LB-S001-R1-42", "customer": "C-1001", "total": 2181, "paid": 1300, "due": "2026-12-24",
              "lines": [LINE, WEIGHED]}
FILE_VALIDATOR = jsonschema.Draft202012Validator(load_schema("accounts"))


def both_refuse_list(entries: list) -> None:
    assert not ACCOUNTS_VALIDATOR.is_valid(entries)
    with pytest.raises(PayloadRejected):
        decode_accounts(entries)


def test_layby_movements_pass_schema_and_model_unchanged_and_the_balance_reader_skips_them():
    ACCOUNTS_VALIDATOR.validate(MOVES)
    models = decode_accounts(MOVES)
    assert [m.model_dump(mode="json", exclude_none=True) for m in models] == MOVES
    assert credit.movements_of_receipt({"seq": 3, "accounts": MOVES}, "S001:R1") == []  # not a balance


@pytest.mark.parametrize("change", [
    lambda m: m[0].update(layby="42"),  # not an LB- id
    lambda m: m[0].update(deposit=0),
    lambda m: m[0].update(due="24.12.2026"),
    lambda m: m[0].update(lines=[]),
    lambda m: m[0].update(lines=[LINE] * (MAX_LAYBY_LINES + 1)),
    lambda m: m[1].update(amount=-5),
    lambda m: m[2].pop("paid"),
    lambda m: m[3].update(refund=-1),
    lambda m: m[1].update(type="layby_refund"),  # an unknown type is a contract change
])
def test_bad_layby_movements_are_refused_by_schema_and_model(change):
    moves = copy.deepcopy(MOVES)
    change(moves)
    both_refuse_list(moves)


def test_unknown_fields_on_a_layby_movement_are_tolerated():
    moves = copy.deepcopy(MOVES)
    moves[1]["note"] = "paid by the customer's mother"
    ACCOUNTS_VALIDATOR.validate(moves)
    assert len(decode_accounts(moves)) == 4


def test_the_snapshot_carries_open_laybys_in_the_checked_in_schema_and_the_model():
    doc = {**SNAPSHOT, "laybys": [OPEN_LAYBY]}
    FILE_VALIDATOR.validate(doc)
    snap = decode(AccountsSnapshot, json.dumps(doc).encode())
    assert json.loads(encode(snap))["laybys"] == [OPEN_LAYBY]
    assert "laybys" not in json.loads(encode(decode(AccountsSnapshot, json.dumps(SNAPSHOT).encode())))
    twice = {**SNAPSHOT, "laybys": [OPEN_LAYBY, OPEN_LAYBY]}
    with pytest.raises(PayloadRejected, match="laybys: an entry appears more than once"):
        decode(AccountsSnapshot, json.dumps(twice).encode())
    bad = {**SNAPSHOT, "laybys": [{**OPEN_LAYBY, "paid": -1}]}
    assert not FILE_VALIDATOR.is_valid(bad)
    with pytest.raises(PayloadRejected):
        decode(AccountsSnapshot, json.dumps(bad).encode())


def test_the_asyncapi_document_says_1_3_and_names_laybys():
    doc = yaml.safe_load((Path(__file__).resolve().parents[2] / "firmware/contract/asyncapi.yaml").read_text())
    assert doc["info"]["version"] == "1.3.0"
    assert "layby_open" in doc["info"]["description"]
