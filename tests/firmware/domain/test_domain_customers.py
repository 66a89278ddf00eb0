"""Customers: validation refusals in the cashier's words, create/edit events, applying edits."""

from __future__ import annotations

import pytest

from firmware.domain.customers import (
    FIELDS,
    Customer,
    apply_edit,
    check_field,
    create_edit,
    customer_id_of,
    digits,
    edit_of,
    parse_customer_id,
)
from firmware.domain.errors import Refused

AT = "2026-11-30T18:00:00Z"


def new(**fields):
    return create_edit({"name": "Anna Müller", **fields}, store="S001", register="R1", epoch="ab12cd34", seq=7, at=AT)


@pytest.mark.parametrize("field, value, stored", [
    ("name", "  Anna   Müller ", "Anna Müller"),
    ("name", "Ana-Lucía O'Brien", "Ana-Lucía O'Brien"),
    ("code", " 2900000000017 ", "2900000000017"),
    ("code", "ab12cd", "AB12CD"),
    ("code", "", ""),
    ("phone", "+49 (151) 234-5678", "+49 (151) 234-5678"),
    ("phone", "", ""),
    ("email", "Anna.Mueller+shop@Example.COM", "Anna.Mueller+shop@example.com"),
    ("email", "jürgen@bücher.de", "jürgen@bücher.de"),
    ("consent_email", True, True),
])
def test_valid_values_are_stored_normalized(field, value, stored):
    assert check_field(field, value) == stored


@pytest.mark.parametrize("field, value, words", [
    ("name", "", "Enter the customer's name"),
    ("name", "x" * 101, "at most 100"),
    ("name", "Anna\x00Müller", "control character"),
    ("name", "Anna\u202eMüller", "invisible"),
    ("name", "Anna\nMüller", "control character"),
    ("name", "12345", "at least one letter"),
    ("code", "12", "4 to 32"),
    ("code", "29-0000", "letters A-Z and digits"),
    ("code", "ÄBCD1", "letters A-Z and digits"),
    ("phone", "0151 CALL ME", "digits, spaces"),
    ("phone", "12345", "6 to 15 digits"),
    ("phone", "+49 151 1234567890123", "digits"),
    ("email", "anna", "one @"),
    ("email", "anna@@example.com", "one @"),
    ("email", "anna müller@example.com", "no spaces"),
    ("email", "anna@example", "needs a dot"),
    ("email", ".anna@example.com", "before @"),
    ("email", "anna@-example.com", "after @"),
    ("email", "a" * 65 + "@example.com", "before @"),
    ("email", "a@" + "b" * 250 + ".com", "at most 254"),
    ("consent_sms", "yes", "yes or no"),
    ("shoe_size", "42", "no field"),
])
def test_bad_values_are_refused_with_a_reason(field, value, words):
    with pytest.raises(Refused, match=words):
        check_field(field, value)


def test_create_carries_every_field_and_names_the_customer_after_itself():
    edit = new(phone="0151 2345678")
    assert edit.create and edit.customer_id == "S001:R1:ab12cd34:7" == customer_id_of("S001", "R1", "ab12cd34", 7)
    assert [f for f, _v in edit.changes] == list(FIELDS)
    assert edit.changed["phone"] == "0151 2345678" and edit.changed["consent_sms"] is False
    assert parse_customer_id(edit.customer_id) == ("S001", "R1", "ab12cd34", 7)
    assert parse_customer_id("nope") is None and parse_customer_id("S:R:e:0") is None


def test_create_needs_a_name_and_cannot_be_deleted():
    with pytest.raises(Refused, match="name"):
        create_edit({"phone": "0151 2345678"}, store="S001", register="R1", epoch="e", seq=1, at=AT)
    with pytest.raises(Refused, match="deleted"):
        new(deleted=True)


def test_edit_keeps_only_changed_fields_and_refuses_no_change():
    customer = apply_edit(None, new(email="anna@example.com"))
    edit = edit_of(customer, {"email": "anna@example.com", "phone": "0151 2345678"}, register="R2", epoch="e2",
                   seq=3, at="2026-11-30T19:00:00Z")
    assert edit.changes == (("phone", "0151 2345678"),) and not edit.create and edit.key == ("R2", "e2", 3)
    with pytest.raises(Refused, match="Nothing changed"):
        edit_of(customer, {"email": "anna@example.com"}, register="R2", epoch="e2", seq=4, at=AT)
    with pytest.raises(Refused, match="e-mail"):
        edit_of(customer, {"email": "anna"}, register="R2", epoch="e2", seq=4, at=AT)


def test_apply_edit_sets_only_the_named_fields():
    customer = apply_edit(None, new(email="anna@example.com"))
    assert customer == Customer("S001:R1:ab12cd34:7", name="Anna Müller", email="anna@example.com", created_at=AT,
                                updated_at=AT)
    later = edit_of(customer, {"consent_sms": True}, register="R2", epoch="e", seq=1, at="2026-12-01T08:00:00Z")
    after = apply_edit(customer, later)
    assert after.consent_sms and after.email == "anna@example.com" and after.updated_at == "2026-12-01T08:00:00Z"
    assert apply_edit(after, new()) is after  # a create never overwrites a customer that exists
    assert apply_edit(None, later) is None  # an edit of an unknown customer has nothing to edit


def test_digits_are_ascii_only():
    assert digits("+49 (151) 234-56٧8") == "4915123456" + "8"
