"""The register's customer book: the fleet's list plus local edits, search ranking, persistence."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from firmware.contract.customers import CustomerEdits, CustomerList
from firmware.customers import CustomerBook, CustomerIndex, edit_to_json, linear_search, search_fold
from firmware.domain.errors import Refused

AT = "2026-11-30T18:00:00Z"


def entry(cid, name, code="", phone="", email="", **extra):
    return {"customer_id": f"S001:R9:e:{cid}", "name": name, "code": code, "phone": phone, "email": email,
            "consent_email": False, "consent_sms": False, "created_at": AT, "updated_at": AT, **extra}


PEOPLE = [
    entry(1, "Anna Müller", "2900000000017", "+49 151 2345678", "anna@example.com"),
    entry(2, "Anna", phone="0170 5551234"),
    entry(3, "Annabel Schmidt", "ABCD1234"),
    entry(4, "Maria Anna Albers", phone="+49 30 1234567"),
    entry(5, "Ben Anders"),
    entry(6, "Jürgen Schäfer-Müller", phone="0151 9990000"),
    entry(7, "Sean O'Brien"),
    entry(8, "Ana-Lucía García"),
    entry(9, "Zoë Müller", "2900000000024", "+49 171 2345678"),
]


def listing(customers, version=1, heads=()):
    doc = {"version": version, "store": "S001", "customers": customers, "heads": list(heads)}
    return CustomerList.model_validate(doc).model_dump(exclude_none=True)


@pytest.fixture
def book(tmp_path):
    book = CustomerBook(tmp_path, "S001", "R1")
    assert book.apply_list(listing(PEOPLE))
    return book


def names(found):
    return [c.name for c in found]


def test_name_search_is_folded_prefix_of_any_word_and_ranked(book):
    assert names(book.search("anna")) == ["Anna", "Anna Müller", "Annabel Schmidt", "Maria Anna Albers"]
    assert names(book.search("ANN")) == ["Anna", "Anna Müller", "Annabel Schmidt", "Maria Anna Albers"]
    assert names(book.search("an")) == ["Ana-Lucía García", "Anna", "Anna Müller", "Annabel Schmidt",
                                        "Ben Anders", "Maria Anna Albers"]
    # no name starts with it: later words, by that word, then by name
    assert names(book.search("muller")) == ["Anna Müller", "Jürgen Schäfer-Müller", "Zoë Müller"]
    assert names(book.search("zoe")) == ["Zoë Müller"]
    assert names(book.search("lucia")) == ["Ana-Lucía García"]
    assert names(book.search("obrien")) == names(book.search("O'Bri")) == ["Sean O'Brien"]
    assert names(book.search("mü an")) == ["Anna Müller"]
    assert names(book.search("anna m")) == ["Anna Müller", "Maria Anna Albers"]
    assert book.search("xyz") == [] and book.search("  ") == [] and book.search("an", limit=0) == []
    assert len(book.search("a", limit=2)) == 2


def test_code_is_exact_typed_or_scanned(book):
    assert names(book.search("2900000000017")) == ["Anna Müller"]
    assert names(book.by_code(" abcd1234\r")) == ["Annabel Schmidt"]
    assert book.by_code("290000000001") == [] and book.by_code("") == []


def test_phone_search_is_digits_only_equal_then_prefix_then_suffix(book):
    assert names(book.search("+49 151 2345678")) == ["Anna Müller"]
    assert names(book.search("0170")) == ["Anna"]
    assert names(book.search("2345678")) == ["Anna Müller", "Zoë Müller"]  # suffix of both
    assert names(book.search("4915")) == ["Anna Müller"]
    assert names(book.search("1234567")) == ["Maria Anna Albers"]


def test_local_edits_show_at_once_and_survive_a_restart(book, tmp_path):
    created = book.create({"name": "Anneliese Neu", "phone": "0160 1234567"}, at="2026-11-30T19:00:00Z")
    book.edit("S001:R9:e:2", {"name": "Anna Zett"}, at="2026-11-30T19:01:00Z")
    book.edit("S001:R9:e:9", {"deleted": True}, at="2026-11-30T19:02:00Z")
    expected = ["Anna Müller", "Anna Zett", "Annabel Schmidt", "Anneliese Neu", "Maria Anna Albers"]
    assert names(book.search("ann")) == expected
    assert book.search("zoe") == [] and book.get("S001:R9:e:9") is None and len(book) == 9
    again = CustomerBook(tmp_path, "S001", "R1")
    assert names(again.search("ann")) == expected
    assert [e.seq for e in again.pending()] == [1, 2, 3] and again.get(created.customer_id).phone == "0160 1234567"
    assert again.create({"name": "X Y"}, at=AT).seq == 4


def test_edits_are_refused_with_a_reason(book):
    with pytest.raises(Refused, match="e-mail"):
        book.create({"name": "Ben", "email": "ben"}, at=AT)
    with pytest.raises(Refused, match="no longer"):
        book.edit("S001:R9:e:404", {"name": "Ghost"}, at=AT)
    with pytest.raises(Refused, match="Nothing changed"):
        book.edit("S001:R9:e:2", {"name": "Anna"}, at=AT)
    assert book.pending() == []


def test_pending_edits_make_a_valid_uplink_message(book):
    book.create({"name": "Anneliese Neu"}, at=AT)
    book.edit("S001:R9:e:2", {"consent_sms": True}, at=AT)
    message = {"store": "S001", "register": "R1", "edits": [edit_to_json(e) for e in book.pending()]}
    parsed = CustomerEdits.model_validate_json(json.dumps(message))
    assert parsed.edits[0].create and parsed.edits[1].changes.consent_sms is True


def test_a_list_drops_the_edits_it_holds_and_replays_the_rest(book, tmp_path):
    first = book.edit("S001:R9:e:2", {"name": "Anna Zett"}, at=AT)
    book.edit("S001:R9:e:2", {"phone": "0151 0000000"}, at=AT)
    merged = [p if p["customer_id"] != "S001:R9:e:2" else {**p, "name": "Anna Zett"} for p in PEOPLE]
    assert not book.apply_list(listing(merged, version=1))  # not newer
    assert book.apply_list(listing(merged, version=2, heads=[{"register": "R1", "epoch": first.epoch, "seq": 1}]))
    assert [e.seq for e in book.pending()] == [2]
    assert book.get("S001:R9:e:2").name == "Anna Zett" and book.get("S001:R9:e:2").phone == "0151 0000000"
    again = CustomerBook(tmp_path, "S001", "R1")
    assert again.version == 2 and [e.seq for e in again.pending()] == [2]
    assert again.create({"name": "Neu"}, at=AT).seq == 3


def test_duplicate_codes_return_every_holder(tmp_path):
    book = CustomerBook(tmp_path, "S001", "R1")
    book.apply_list(listing([entry(1, "Anna", "ABCD1234", duplicate_code=True),
                             entry(2, "Ben", "ABCD1234", updated_at="2026-12-01T00:00:00Z", duplicate_code=True)]))
    assert names(book.by_code("ABCD1234")) == ["Ben", "Anna"] and book.is_duplicate_code(book.get("S001:R9:e:1"))
    assert book.index.duplicate_code(0)


def test_a_torn_log_tail_is_dropped_and_a_damaged_index_starts_empty(book, tmp_path):
    book.create({"name": "Anneliese Neu"}, at=AT)
    with open(tmp_path / "customer-edits.jsonl", "ab") as log:
        log.write(b'{"customer_id": "S001:R1:')
    (tmp_path / "customers.index").write_bytes(b"kassa-customer-index/1\n{}\n")
    again = CustomerBook(tmp_path, "S001", "R1")
    assert names(again.search("anneliese")) == ["Anneliese Neu"] and again.version == 0 and len(again) == 1
    assert again.apply_list(listing(PEOPLE))
    assert len(again) == 10


def test_a_log_of_another_register_is_refused(book, tmp_path):
    with pytest.raises(ValueError, match="not this register"):
        CustomerBook(tmp_path, "S001", "R2")


def test_index_round_trips_through_its_file_format():
    index = CustomerIndex.build(listing(PEOPLE))
    again = CustomerIndex.from_bytes(index.to_bytes())
    assert [again.customer(r) for r in range(len(again))] == [index.customer(r) for r in range(len(index))]
    assert again.name_keys == index.name_keys and again.word_rows == index.word_rows
    empty = CustomerIndex.from_bytes(CustomerIndex.empty().to_bytes())
    assert len(empty) == 0 and empty.code_rows("X") == []


# ---- the index agrees with the reference search ----------------------------------------------------------------

WORDS = ["anna", "ann", "anne", "an", "ben", "bea", "müller", "muller", "mü", "maria", "mar", "max", "o'brien",
         "Ana-Lucía", "zoë", "zoe", "z", "a", "schäfer-müller"]
QUERY = st.one_of(
    st.lists(st.sampled_from(WORDS + ["b", "m", "s", "sch", "x"]), min_size=1, max_size=3).map(" ".join),
    st.text(alphabet="0123456789 +", min_size=1, max_size=8),
    st.sampled_from(["ABCD1234", "2900000000017", "abcd1234"]),
)


@st.composite
def people(draw):
    n = draw(st.integers(0, 40))
    out = []
    for i in range(1, n + 1):
        name = " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3))).title()
        phone = draw(st.sampled_from(["", "0151 2345678", "+49 151 2345678", "0170 123456", "030 5551234"]))
        code = draw(st.sampled_from(["", "ABCD1234", "2900000000017", f"C{i:05d}"]))
        out.append(entry(i, name, code, phone))
    return out


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people(), st.lists(QUERY, min_size=1, max_size=5), st.integers(1, 6), st.data())
def test_indexed_search_equals_the_linear_scan(tmp_path_factory, customers, queries, limit, data):
    book = CustomerBook(tmp_path_factory.mktemp("book"), "S001", "R1")
    book.apply_list(listing(customers))
    for i in range(data.draw(st.integers(0, 3))):
        if customers and data.draw(st.booleans()):
            target = data.draw(st.sampled_from(customers))["customer_id"]
            name = data.draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=2).map(" ".join)).title()
            try:
                book.edit(target, {"name": name}, at=AT)
            except Refused:
                pass
        else:
            book.create({"name": f"Anna Neu{i}", "code": "ABCD1234"}, at=AT)
    everyone = list(book.iter_all())
    for query in queries:
        assert [c.customer_id for c in book.search(query, limit)] == \
            [c.customer_id for c in linear_search(everyone, query, limit)], query


def test_search_fold():
    assert search_fold("  Ana-Lucía   O'Brien ") == "ana lucia obrien"
    assert search_fold("J. R. R. Tolkien") == "j r r tolkien"
