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


@pytest.mark.slow
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
                                         absent=frozenset({"of_line", "cart_discount", "age_check"})),)
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


# ---- reading from the journal's JSON: decoded once, the parts built on first access (issue 15)

_PARTS = ("lines", "totals", "taxes", "tenders", "cart_discount", "absent", "extra")


@pytest.mark.slow
@settings(max_examples=200)
@given(kassa_receipts(), st.permutations(_PARTS))
def test_lazy_receipt_equals_the_eager_one_whatever_is_read_first(doc: dict[str, Any], order: list[str]) -> None:
    payload = canonical_json(doc)
    stored = json.loads(payload)
    eager, lazy = Receipt.from_doc(stored), Receipt.from_json(payload)
    assert lazy.to_doc() == stored and json.dumps(lazy.to_doc()) == json.dumps(stored)  # same text too
    assert lazy.to_json() == json.dumps(stored, ensure_ascii=False) == eager.to_json()
    for name in order:  # each part built on its own first access, in any order, equals the eager one
        assert getattr(lazy, name) == getattr(eager, name)
    assert lazy == eager and hash(lazy) == hash(eager)
    assert Receipt.from_doc(lazy.to_doc()) == lazy and canonical_json(lazy.to_doc()) == payload


@pytest.mark.slow
@settings(max_examples=100)
@given(kassa_receipts())
def test_lazy_receipt_is_immutable_and_hands_out_copies(doc: dict[str, Any]) -> None:
    receipt = Receipt.from_json(canonical_json(doc))
    before = receipt.to_doc()
    handed = receipt.to_doc()
    handed["lines"] = "changed"
    handed.setdefault("x_future", {})["k"] = 1
    assert receipt.to_doc() == before and receipt.lines == Receipt.from_doc(before).lines
    with pytest.raises(AttributeError):
        receipt.lines = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        receipt._doc = {}  # noqa: SLF001


def test_parts_built_from_a_seen_shape_match_the_general_path() -> None:
    # the first document of a shape compiles its builder; later ones use it; unknown keys take the general path
    a = {"sku": "1", "name": "A", "qty": 2, "unit_price": 5, "tax_code": "A", "amount": 10}
    b = dict(a, sku="2", of_line=3)
    c = dict(a, x_note=[1])
    for d in (a, a, b, b, c, c, {}):
        line = ReceiptLine.from_doc(d)
        assert line.to_doc() == dict(sorted(d.items()))
        assert line.absent == frozenset(ReceiptLine._fields[:10]) - set(d)
    assert ReceiptLine.from_doc(c).extra == {"x_note": [1]}


def test_from_json_refuses_what_is_not_a_receipt_object() -> None:
    with pytest.raises(ValueError):
        Receipt.from_json(b"[1, 2]")
    with pytest.raises(ValueError):
        Receipt.from_json(b'{"seq": 1} trailing')
    assert Receipt.from_json(b' {"seq": 2} ').seq == 2
    assert Receipt() == Receipt.from_doc({k: v for k, v in Receipt().to_doc().items()})
