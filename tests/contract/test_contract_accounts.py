"""Account movements on receipts and the fleet's account snapshot: models and JSON Schemas agree, both ways."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings, strategies as st
from pydantic import ValidationError

from firmware.chain import canonical_json
from firmware.contract import PayloadRejected, Receipt, decode, encode
from firmware.contract.accounts import (
    ACCOUNTS_ADAPTER,
    MAX_ACCOUNT_ENTRIES,
    AccountsSnapshot,
    GiftCardRedeem,
    LoyaltyEarn,
    OnAccountCharge,
    accounts_of,
    decode_accounts,
)
from firmware.contract.schemas import DIALECT, portable
from firmware.domain import credit, giftcards, loyalty
from tests.contract.kassa_samples import make_receipt
from tests.contract.model_documents import JSON_VALUES, _strategy

HASH = "9f" * 32
ACCOUNTS = [
    {"type": "loyalty_earn", "customer": "C-1001", "points": 12},
    {"type": "loyalty_redeem", "customer": "C-1001", "points": 500, "value": 500},
    {"type": "loyalty_reverse", "customer": "C-1001", "points": 3, "refund_of": "S001:R1:7f3a9c2e:40"},
    {"type": "giftcard_sell", "card_hash": HASH, "last4": "0000", "amount": 5_000},
    {"type": "giftcard_top_up", "card_hash": HASH, "last4": "0000", "amount": 2_500},
    {"type": "giftcard_redeem", "card_hash": HASH, "last4": "0000", "amount": 700},
    {"type": "on_account_charge", "customer": "ACME", "amount": 12_000, "approved_by": "m1"},
    {"type": "on_account_credit", "customer": "ACME", "amount": 300},
]
SNAPSHOT = {
    "version": 7, "issued_at": "2026-11-30T12:00:00Z", "currency": "EUR",
    "through": [{"store": "S001", "register": "R1", "seq": 41}, {"store": "S001", "register": "R2", "seq": 0}],
    "loyalty": [{"customer": "C-1001", "points": 1_250}, {"customer": "C-1002", "points": -20}],
    "gift_cards": [{"card_hash": HASH, "last4": "0000", "balance": 4_300, "offline_limit": 5_000},
                   {"card_hash": "ab" * 32, "last4": "9876", "balance": 0, "blocked": True}],
    "on_account": [{"customer": "ACME", "owed": 12_300, "limit": 50_000}, {"customer": "Bistro", "owed": 0}],
}


def schema_of(adapter_or_model: Any, name: str) -> dict[str, Any]:
    """The portable JSON Schema 2020-12 of a model, as firmware.contract.schemas writes the checked-in files."""
    raw = adapter_or_model.model_json_schema() if hasattr(adapter_or_model, "model_json_schema") \
        else adapter_or_model.json_schema()
    return {"$schema": DIALECT, "$id": f"https://kassa.example/schemas/v1/{name}.json", **portable(raw)}


ACCOUNTS_SCHEMA = schema_of(ACCOUNTS_ADAPTER, "receipt_accounts")
SNAPSHOT_SCHEMA = schema_of(AccountsSnapshot, "accounts_snapshot")
ACCOUNTS_VALIDATOR = jsonschema.Draft202012Validator(ACCOUNTS_SCHEMA)
SNAPSHOT_VALIDATOR = jsonschema.Draft202012Validator(SNAPSHOT_SCHEMA)


def accepts(name: str, doc: object) -> bool:
    """Whether the model accepts `doc` as it would arrive: through JSON, with the decoders device and fleet use."""
    raw = json.dumps(doc)
    try:
        if name == "accounts":  # the list itself (decode_accounts also reads an absent list, None, as none)
            ACCOUNTS_ADAPTER.validate_json(raw, strict=True)
        else:
            decode(AccountsSnapshot, raw.encode())
    except (PayloadRejected, ValidationError):
        return False
    return True


def test_schemas_are_valid_json_schemas():
    jsonschema.Draft202012Validator.check_schema(ACCOUNTS_SCHEMA)
    jsonschema.Draft202012Validator.check_schema(SNAPSHOT_SCHEMA)


def test_samples_pass_schema_and_model_and_come_back_unchanged():
    ACCOUNTS_VALIDATOR.validate(ACCOUNTS)
    SNAPSHOT_VALIDATOR.validate(SNAPSHOT)
    models = decode_accounts(ACCOUNTS)
    assert [m.model_dump(mode="json", exclude_none=True) for m in models] == ACCOUNTS
    snapshot = decode(AccountsSnapshot, canonical_json(SNAPSHOT))
    assert json.loads(encode(snapshot)) == {**SNAPSHOT, "gift_cards": [
        SNAPSHOT["gift_cards"][0] | {"blocked": False}, SNAPSHOT["gift_cards"][1]]}
    SNAPSHOT_VALIDATOR.validate(json.loads(encode(snapshot)))


def test_the_domain_writes_entries_the_contract_accepts():
    ref = giftcards.CardRef(HASH, "0000")
    entries = [loyalty.earn_entry("C-1001", 12), loyalty.redeem_entry("C-1001", 500, 500),
               loyalty.reverse_entry("C-1001", 3, "S001:R1:7f3a9c2e:40"),
               giftcards.entry(giftcards.SELL, ref, 5_000), giftcards.entry(giftcards.TOP_UP, ref, 2_500),
               giftcards.entry(giftcards.REDEEM, ref, 700), credit.charge_entry("ACME", 12_000, approved_by="m1"),
               credit.credit_entry("ACME", 300)]
    assert entries == ACCOUNTS
    ACCOUNTS_VALIDATOR.validate(entries)
    assert len(decode_accounts(entries)) == len(entries)
    # and every type the contract knows, the domain reads back as a movement
    assert [m.delta for _, m in credit.movements_of_receipt({"seq": 9, "accounts": entries}, "S001:R1")] == \
        [12, -500, -3, 5_000, 2_500, -700, 12_000, -300]


def test_a_receipt_carries_its_accounts_as_an_added_field():
    doc = make_receipt(id_store="S001", accounts=ACCOUNTS[:1])
    receipt = decode(Receipt, canonical_json(doc))
    assert accounts_of(receipt) == [LoyaltyEarn(type="loyalty_earn", customer="C-1001", points=12)]
    assert accounts_of(decode(Receipt, canonical_json(make_receipt(id_store="S001")))) == []
    bad = decode(Receipt, canonical_json(make_receipt(id_store="S001", accounts=[{"type": "loyalty_earn"}])))
    with pytest.raises(PayloadRejected, match=r"receipt: accounts\.0\.loyalty_earn\.customer: Field required"):
        accounts_of(bad)


@pytest.mark.parametrize("entry, where", [
    ({"type": "giftcard_redeem", "card_hash": HASH, "last4": "00a0", "amount": 700}, "last4"),
    ({"type": "giftcard_redeem", "card_hash": HASH.upper(), "last4": "0000", "amount": 700}, "card_hash"),
    ({"type": "giftcard_redeem", "card_hash": HASH, "last4": "0000", "amount": 0}, "amount"),
    ({"type": "giftcard_redeem", "card_hash": HASH, "last4": "0000", "amount": "700"}, "amount"),
    ({"type": "loyalty_earn", "customer": "C-1001", "points": 1.0}, "points"),
    ({"type": "loyalty_earn", "customer": "", "points": 1}, "customer"),
    ({"type": "loyalty_reverse", "customer": "C", "points": 1, "refund_of": "nope"}, "refund_of"),
    ({"type": "giftcard_refund", "card_hash": HASH, "last4": "0000", "amount": 1}, "type"),
    ({"type": "on_account_charge", "customer": "ACME", "amount": 10**12 + 1}, "amount"),
])
def test_malformed_entries_are_refused_by_model_and_schema(entry, where):
    assert not accepts("accounts", [entry])
    if where != "points":  # JSON Schema's "integer" takes 1.0; the strict model does not: the model is stricter
        assert not ACCOUNTS_VALIDATOR.is_valid([entry])


def test_the_card_number_itself_never_fits_where_the_hash_goes():
    number_entry = {"type": "giftcard_redeem", "card_hash": "6035710000000000", "last4": "0000", "amount": 1}
    assert not accepts("accounts", [number_entry]) and not ACCOUNTS_VALIDATOR.is_valid([number_entry])


def test_lists_are_bounded():
    many = [ACCOUNTS[0]] * (MAX_ACCOUNT_ENTRIES + 1)
    assert not accepts("accounts", many) and not ACCOUNTS_VALIDATOR.is_valid(many)
    big = copy.deepcopy(SNAPSHOT)
    big["loyalty"] = [{"customer": f"C{i:062d}", "points": 10**12} for i in range(60_000)]
    with pytest.raises(PayloadRejected, match="over the limit of 4194304"):
        decode(AccountsSnapshot, json.dumps(big).encode())


@pytest.mark.parametrize("field, entry", [
    ("through", {"store": "S001", "register": "R1", "seq": 50}),
    ("loyalty", {"customer": "C-1001", "points": 1}),
    ("gift_cards", {"card_hash": HASH, "last4": "0000", "balance": 1}),
    ("on_account", {"customer": "ACME", "owed": 1}),
])
def test_a_snapshot_names_each_register_and_account_once(field, entry):
    doc = copy.deepcopy(SNAPSHOT)
    doc[field].append(entry)
    with pytest.raises(PayloadRejected, match=f"{field}: an entry appears more than once"):
        decode(AccountsSnapshot, json.dumps(doc).encode())


def test_models_are_frozen_and_strict():
    model = GiftCardRedeem(type="giftcard_redeem", card_hash=HASH, last4="0000", amount=1)
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error
        model.amount = 2  # type: ignore[misc]
    assert not accepts("accounts", [{"type": "on_account_charge", "customer": "ACME", "amount": True}])
    assert OnAccountCharge(type="on_account_charge", customer="ACME", amount=5).approved_by is None


# ---- both ways, over drawn documents ---------------------------------------------------------------

def _unique_snapshot(doc: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    keys = {"through": lambda e: (e["store"], e["register"]), "loyalty": lambda e: e["customer"],
            "gift_cards": lambda e: e["card_hash"], "on_account": lambda e: e["customer"]}
    for name, key in keys.items():
        if name in doc:
            doc[name] = list({key(e): e for e in doc[name]}.values())
    return doc


DRAWN = {
    "accounts": (_strategy(ACCOUNTS_SCHEMA, ACCOUNTS_SCHEMA.get("$defs", {})), ACCOUNTS_VALIDATOR),
    "snapshot": (_strategy(SNAPSHOT_SCHEMA, SNAPSHOT_SCHEMA.get("$defs", {})).map(_unique_snapshot),
                 SNAPSHOT_VALIDATOR),
}


def _paths(doc: object, here: tuple = ()) -> list[tuple]:
    out = [here]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += _paths(value, (*here, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out += _paths(value, (*here, i))
    return out


def _mutate(doc: object, path: tuple, new: object, delete: bool) -> object:
    if not path:
        return new
    doc = copy.deepcopy(doc)
    parent: Any = doc
    for step in path[:-1]:
        parent = parent[step]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return doc


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(DRAWN))
def test_documents_the_model_accepts_pass_the_schema(name):
    strategy, validator = DRAWN[name]
    checked = []

    @settings(max_examples=60, deadline=None, database=None)
    @given(strategy)
    def check(doc):
        if accepts(name, doc):
            assert not [e.message for e in validator.iter_errors(doc)], doc
            checked.append(doc)

    check()
    assert len(checked) >= 30


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(DRAWN))
def test_documents_the_schema_refuses_the_model_refuses(name):
    strategy, validator = DRAWN[name]
    refused = []

    @settings(max_examples=60, deadline=None, database=None)
    @given(strategy, st.data())
    def check(doc, data):
        if data.draw(st.booleans()):
            path = data.draw(st.sampled_from(_paths(doc)))
            doc = _mutate(doc, path, data.draw(JSON_VALUES), delete=data.draw(st.booleans()))
        else:
            doc = data.draw(JSON_VALUES)
        if not validator.is_valid(doc):
            assert not accepts(name, doc), doc
            refused.append(doc)

    check()
    assert len(refused) >= 10
