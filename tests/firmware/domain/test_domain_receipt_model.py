"""The typed Receipt reads a stored document and writes it back exactly (the hash chain is over its bytes)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from firmware.contract.chain import canonical_json, receipt_hash, seal
from firmware.domain.receipt_model import Receipt, ReceiptLine, ReceiptTender
from tests.contract.kassa_samples import make_receipt
from tests.contract.model_documents import documents

ABSENT = object()


def _maybe(doc: dict[str, Any], key: str, value: Any) -> None:
    if value is not ABSENT:
        doc[key] = value


ids = st.text("abcXYZ019_-", min_size=1, max_size=12)
money = st.integers(-(10**12), 10**12)
optional_text = st.one_of(st.just(ABSENT), st.none(), ids)


@st.composite
def lines(draw: st.DrawFn) -> dict[str, Any]:
    line = {"sku": draw(ids), "name": draw(st.text(max_size=20)),
            "qty": draw(st.integers(1, 99) | st.from_regex(r"^[0-9]{1,3}\.[0-9]{3}$", fullmatch=True)),
            "unit_price": draw(money), "tax_code": draw(st.sampled_from("ABC")), "amount": draw(money)}
    _maybe(line, "discount", draw(st.one_of(st.just(ABSENT), money)))
    _maybe(line, "of_line", draw(st.one_of(st.just(ABSENT), st.integers(1, 50))))
    _maybe(line, "cart_discount", draw(st.one_of(st.just(ABSENT), money)))
    return line


@st.composite
def tenders(draw: st.DrawFn) -> dict[str, Any]:
    tender = {"type": draw(st.sampled_from(["cash", "card", "on_account"])), "amount": draw(money)}
    _maybe(tender, "change", draw(st.one_of(st.just(ABSENT), money)))
    _maybe(tender, "reference", draw(st.one_of(st.just(ABSENT), ids)))
    return tender


@st.composite
def kassa_receipts(draw: st.DrawFn) -> dict[str, Any]:
    """Receipts as the register writes them, with every optional field present, null or absent."""
    kind = draw(st.sampled_from(["sale", "refund", "no_sale"]))
    fields: dict[str, Any] = {"kind": kind, "lines": draw(st.lists(lines(), max_size=4)),
                              "tenders": draw(st.lists(tenders(), max_size=3)),
                              "taxes": [{"tax_code": c, "rate": "19.00", "net": draw(money), "tax": draw(money)}
                                        for c in draw(st.lists(st.sampled_from("ABC"), max_size=3, unique=True))],
                              "totals": {"subtotal": draw(money), "tax": draw(money), "total": draw(money)}
                              | ({} if draw(st.booleans()) else {"rounding": draw(money)}),
                              "refund_of": draw(st.none() | st.just("S001:R1:7f3a9c2e:1"))}
    for key in ("customer_code", "approved_by", "reason"):
        _maybe(fields, key, draw(optional_text))
    if draw(st.booleans()):
        fields["cart_discount"] = draw(st.none() | st.fixed_dictionaries(
            {"amount": money, "percent": st.none() | st.just("10"), "approved_by": st.none() | ids}))
    if draw(st.booleans()):
        fields["x_future"] = draw(st.dictionaries(ids, st.integers() | st.text(max_size=4), max_size=2))
    receipt = make_receipt(seq=draw(st.integers(1, 10**6)), id_store="S001", **fields)
    if draw(st.booleans()):  # older receipts have no sale_id
        receipt = seal({k: v for k, v in receipt.items() if k not in ("sale_id", "hash")}, receipt["prev_hash"])
    return receipt


def _round_trip(doc: dict[str, Any]) -> None:
    stored = json.loads(canonical_json(doc))  # what the journal hands out: the canonical JSON, parsed
    back = Receipt.from_doc(stored).to_doc()
    assert back == stored
    assert json.dumps(back) == json.dumps(stored)  # the same key order too: exports write this text
    assert canonical_json(back) == canonical_json(doc)


@settings(max_examples=300)
@given(kassa_receipts())
def test_kassa_receipts_round_trip_exactly(doc: dict[str, Any]) -> None:
    _round_trip(doc)
    assert receipt_hash(Receipt.from_doc(doc).to_doc()) == doc["hash"]  # the chain still holds


@pytest.mark.slow  # 200 generated contract documents: in CI's full run, not in the fast lane
@settings(max_examples=200)
@given(documents("receipt"))
def test_contract_documents_round_trip_exactly(doc: dict[str, Any]) -> None:
    _round_trip(doc)


def test_attributes_read_the_document() -> None:
    doc = make_receipt(seq=3, id_store="S001", tenders=[{"type": "card", "amount": 258, "reference": "slip 9"}])
    receipt = Receipt.from_doc(doc)
    assert receipt.seq == 3 and receipt.kind == "sale" and receipt.receipt_id == "S001:R1:7f3a9c2e:3"
    assert receipt.lines == (ReceiptLine("4006381333931", "Pencil HB", 2, 129, 0, "A", 258,
                                         absent=frozenset({"of_line", "cart_discount"})),)
    assert receipt.tenders[0] == ReceiptTender("card", 258, 0, "slip 9", absent=frozenset({"change"}))
    assert not receipt.tenders[0].has("change") and receipt.totals.has("rounding")
    assert receipt.totals.total == 258 and receipt.taxes[0].rate == "19.00"
    assert receipt.customer_code is None and not receipt.has("customer_code") and receipt.has("refund_of")
    assert receipt.tender_types == ("card",)


def test_the_model_is_immutable_and_does_not_share_the_document() -> None:
    doc = make_receipt(x_note={"a": [1]})
    receipt = Receipt.from_doc(doc)
    doc["x_note"]["a"].append(2)
    doc["lines"][0]["name"] = "changed"
    assert receipt.to_doc()["x_note"] == {"a": [1]} and receipt.lines[0].name == "Pencil HB"
    receipt.to_doc()["x_note"]["a"].append(3)
    assert receipt.extra["x_note"] == {"a": [1]}
    with pytest.raises(AttributeError):
        receipt.seq = 9  # type: ignore[misc]
    with pytest.raises(TypeError):
        receipt.extra["x_note"] = 1  # type: ignore[index]
