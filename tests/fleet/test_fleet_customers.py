"""The fleet's customer merge: per field, last writer by receive order, idempotent, duplicate codes flagged."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings, strategies as st

from firmware.contract.customers import CustomerEdit, CustomerEdits, CustomerList
from fleet.customers import CustomerMerge, list_document, merge

AT = "2026-11-30T18:00:00Z"
ANNA = "S001:R1:e1:1"


def edit(customer_id=ANNA, epoch="e1", seq=1, create=False, at=AT, **changes):
    return CustomerEdit.model_validate({"customer_id": customer_id, "epoch": epoch, "seq": seq, "at": at,
                                        "create": create, "changes": changes})


def create(register="R1", epoch="e1", seq=1, **fields):
    return register, edit(f"S001:{register}:{epoch}:{seq}", epoch, seq, create=True, **{"name": "Anna", **fields})


def values(merged, customer_id=ANNA):
    c = merged.customers[customer_id]
    return {name: w.value for name, w in c.writes.items()}


def test_different_fields_edited_on_two_registers_both_survive():
    merged = merge("S001", [create(), ("R2", edit(epoch="f", seq=1, phone="0151 2345678")),
                            ("R3", edit(epoch="g", seq=1, email="anna@example.com"))])
    assert values(merged)["phone"] == "0151 2345678" and values(merged)["email"] == "anna@example.com"
    writes = merged.customers[ANNA].writes
    assert (writes["phone"].register, writes["phone"].seq) == ("R2", 1)
    assert (writes["email"].register, writes["email"].epoch, writes["email"].received) == ("R3", "g", 3)


def test_same_field_last_received_wins_whatever_the_register_clock_says():
    merged = merge("S001", [create(), ("R2", edit(epoch="f", seq=1, name="Anna B", at="2026-12-31T00:00:00Z")),
                            ("R3", edit(epoch="g", seq=1, name="Anna C", at="2026-01-01T00:00:00Z"))])
    assert values(merged)["name"] == "Anna C" and merged.customers[ANNA].writes["name"].register == "R3"


def test_a_create_that_arrives_late_does_not_undo_an_edit_that_overtook_it():
    merged = merge("S001", [("R1", edit(seq=2, phone="0151 2345678")), create(phone="0170 1111111")])
    assert values(merged)["phone"] == "0151 2345678" and values(merged)["name"] == "Anna"
    assert merged.live()[0].created_at == AT


def test_duplicate_is_a_no_op_and_a_different_edit_under_the_same_key_is_a_conflict():
    merged = CustomerMerge("S001")
    assert merged.apply(*create()).result == "applied"
    assert merged.apply(*create()).result == "duplicate"
    clash = merged.apply("R1", edit(seq=1, name="Someone else"))
    assert clash.result == "conflict" and merged.conflicts == [clash] and values(merged)["name"] == "Anna"


def test_refused_values_and_foreign_customers_are_not_applied_but_count_for_heads():
    merged = CustomerMerge("S001")
    merged.apply(*create())
    bad = merged.apply("R1", edit(seq=2, name="Anna\u202e"))
    foreign = merged.apply("R1", edit("S002:R1:e1:1", seq=3, phone="0151 2345678"))
    assert bad.result == "refused" and "invisible" in bad.reason and foreign.result == "refused"
    assert values(merged)["name"] == "Anna"
    assert [(h.register, h.epoch, h.seq) for h in merged.heads()] == [("R1", "e1", 3)]


def test_heads_are_contiguous_per_register_and_epoch():
    merged = CustomerMerge("S001")
    merged.apply(*create())
    merged.apply("R1", edit(seq=3, phone="0151 2345678"))
    assert merged.heads()[0].seq == 1
    merged.apply("R1", edit(seq=2, email="a@example.com"))
    assert merged.heads()[0].seq == 3


def test_same_code_created_on_two_registers_is_kept_twice_and_flagged():
    merged = merge("S001", [create(code="2900000000017"), create("R2", "f", 1, code="2900000000017", name="Ben")])
    assert merged.duplicate_codes() == {"2900000000017": ["S001:R1:e1:1", "S001:R2:f:1"]}
    listed = merged.to_list(version=4)
    assert [c.duplicate_code for c in listed.customers] == [True, True]
    merged.apply("R2", edit("S001:R2:f:1", "f", 2, code="2900000000024"))
    assert merged.duplicate_codes() == {} and not any(c.duplicate_code for c in merged.to_list(5).customers)


def test_deleted_customers_and_uncreated_ones_are_not_listed():
    merged = merge("S001", [create(), create("R2", "f", 1, name="Ben"), ("R1", edit(seq=2, deleted=True)),
                            ("R3", edit("S001:R3:g:1", "g", 2, phone="0151 2345678"))])
    assert [c.name for c in merged.to_list(1).customers] == ["Ben"]


def test_list_document_is_compact_valid_and_versioned():
    merged = merge("S001", [create(email="anna@example.com")])
    doc = list_document(merged, version=7, generated_at=AT)
    parsed = CustomerList.model_validate_json(doc)
    assert parsed.version == 7 and parsed.customers[0].email == "anna@example.com"
    assert json.loads(doc)["heads"] == [{"register": "R1", "epoch": "e1", "seq": 1}]
    assert b" " not in doc.replace(b"Anna", b"")


def test_batch_must_come_from_the_register_it_names():
    message = CustomerEdits.model_validate({"store": "S001", "register": "R1",
                                            "edits": [create()[1].model_dump(exclude_none=True)]})
    with pytest.raises(ValueError, match="arrived on"):
        CustomerMerge("S001").apply_batch("S001", "R2", message)
    assert [o.result for o in CustomerMerge("S001").apply_batch("S001", "R1", message)] == ["applied"]


def test_snapshot_restores_the_same_merge():
    merged = merge("S001", [create(), ("R2", edit(epoch="f", seq=1, phone="0151 2345678"))])
    again = CustomerMerge.restore(json.loads(json.dumps(merged.snapshot())))
    assert list_document(again, 2) == list_document(merged, 2)
    assert again.apply(*create()).result == "duplicate"


# ---- properties --------------------------------------------------------------------------------------------

FIELD_VALUES = {
    "name": st.sampled_from(["Anna", "Ben Braun", "Clara Weiß"]),
    "phone": st.sampled_from(["", "0151 2345678", "+49 170 1234567"]),
    "email": st.sampled_from(["", "a@example.com", "b@example.org"]),
    "code": st.sampled_from(["", "2900000000017", "ABCD1234"]),
    "consent_email": st.booleans(), "consent_sms": st.booleans(), "deleted": st.booleans(),
}
REGISTERS = ["R1", "R2", "R3"]


@st.composite
def edits_of_distinct_fields(draw):
    """Edits (with creates of the customers they touch) where no two non-create edits set the same field of the
    same customer."""
    customers = [f"S001:R{i}:e:{i}" for i in (1, 2)]
    pairs = draw(st.lists(st.tuples(st.sampled_from(customers), st.sampled_from(sorted(FIELD_VALUES))),
                          unique=True, max_size=10))
    out = [(f"R{i}", edit(cid, "e", i, create=True, name="Start")) for i, cid in zip((1, 2), customers, strict=True)]
    seqs = {r: 100 for r in REGISTERS}
    for cid, field in pairs:
        register = draw(st.sampled_from(REGISTERS))
        seqs[register] += 1
        out.append((register, edit(cid, "e", seqs[register], **{field: draw(FIELD_VALUES[field])})))
    return out


def state(merged):
    return {cid: {n: w.value for n, w in c.writes.items()} | {"_created": c.created_at}
            for cid, c in merged.customers.items()}


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(edits_of_distinct_fields(), st.randoms(use_true_random=False))
def test_edits_of_different_fields_merge_the_same_in_any_order(received, rnd):
    shuffled = list(received)
    rnd.shuffle(shuffled)
    assert state(merge("S001", shuffled)) == state(merge("S001", received))
    assert list_document(merge("S001", shuffled), 1) == list_document(merge("S001", received), 1)


@st.composite
def any_edits(draw):
    out = [("R1", edit("S001:R1:e:1", "e", 1, create=True, name="Start"))]
    seqs = {r: 1 for r in REGISTERS}
    for _ in range(draw(st.integers(0, 12))):
        register = draw(st.sampled_from(REGISTERS))
        seqs[register] += 1
        fields = draw(st.lists(st.sampled_from(sorted(FIELD_VALUES)), min_size=1, max_size=3, unique=True))
        out.append((register, edit("S001:R1:e:1", "e", seqs[register],
                                   **{f: draw(FIELD_VALUES[f]) for f in fields})))
    return out


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(any_edits(), st.randoms(use_true_random=False))
def test_each_field_holds_the_last_received_write(received, rnd):
    order = list(received)
    rnd.shuffle(order)
    merged = merge("S001", order)
    customer = merged.customers["S001:R1:e:1"]
    for field in FIELD_VALUES:
        writers = [(r, e) for r, e in order if field in e.changes.fields()]
        last_edit = [(r, e) for r, e in writers if not e.create]
        expected = (last_edit or writers)[-1] if writers else None
        write = customer.writes.get(field)
        if expected is None:
            assert write is None
        else:
            assert write.value == expected[1].changes.fields()[field]
            assert (write.register, write.epoch, write.seq) == (expected[0], expected[1].epoch, expected[1].seq)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(any_edits(), st.data())
def test_duplicates_change_nothing(received, data):
    noisy = []
    for item in received:
        noisy.append(item)
        noisy += data.draw(st.lists(st.sampled_from(noisy), max_size=2))  # resends of what arrived already
    a, b = merge("S001", received), merge("S001", noisy)
    assert state(a) == state(b) and list_document(a, 1) == list_document(b, 1)
    assert [(h.register, h.seq) for h in a.heads()] == [(h.register, h.seq) for h in b.heads()]
