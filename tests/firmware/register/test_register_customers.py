"""Customers on a real register (docs/customers.md#on-the-till): create and edit offline through `Register.handle`,
search through `FindCustomers` (answered at once in `Outcome.data`), attach to the sale with `SetCustomer`, and
the edits are durable (fsync'ed edit log) across a restart."""

from __future__ import annotations

import json

import pytest

from firmware.register.commands import FindCustomers, SaveCustomer, SetCustomer
from tests.firmware.register.conftest import PENCIL, login_cashier, paid_cash_sale

pytestmark = pytest.mark.slow

ANNA = (("name", "Anna Schmidt"), ("code", "card1001"), ("phone", "+49 151 2345678"),
        ("email", "anna@example.com"), ("consent_email", True), ("consent_sms", False))


def test_create_edit_search_attach_and_survive_a_restart(rig):
    reg = login_cashier(rig.register)
    out = reg.handle(SaveCustomer(ANNA))
    assert out.ok and out.message == "Customer added"
    anna = out.data
    assert anna.name == "Anna Schmidt" and anna.code == "CARD1001" and anna.consent_email
    assert anna.customer_id == f"DEMO:R1:{reg.customers.log.epoch}:1"
    for text in ("anna", "schm", "CARD1001", "card1001", "2345678", "+49 151"):
        found = reg.handle(FindCustomers(text))
        assert found.ok and [c.customer_id for c in found.data] == [anna.customer_id], text
    nothing = reg.handle(FindCustomers("zzz"))
    assert nothing.ok and nothing.data == () and nothing.message == ""  # the panel says it; the sale's line stays

    edited = reg.handle(SaveCustomer((("phone", "0171 555 1234"), ("consent_sms", True)), anna.customer_id))
    assert edited.ok and edited.message == "Customer saved"
    assert edited.data.phone == "0171 555 1234" and edited.data.consent_sms and edited.data.name == "Anna Schmidt"
    assert reg.handle(FindCustomers("2345678")).data == ()
    assert [c.customer_id for c in reg.handle(FindCustomers("0171")).data] == [anna.customer_id]

    assert reg.handle(SetCustomer(anna.code)).ok
    assert reg.view().customer_code == "CARD1001"
    receipt = paid_cash_sale(reg, PENCIL)
    assert receipt["customer_code"] == "CARD1001"

    log_lines = (rig.data_dir / "customer-edits.jsonl").read_text().splitlines()
    assert [json.loads(line)["seq"] for line in log_lines[1:]] == [1, 2]  # journaled: the header, then the edits

    reg = login_cashier(rig.restart())
    again = reg.handle(FindCustomers("anna")).data
    assert [(c.customer_id, c.phone, c.consent_sms) for c in again] == [(anna.customer_id, "0171 555 1234", True)]
    second = reg.handle(SaveCustomer((("name", "Ben Otto"),)))
    assert second.ok and second.data.customer_id.endswith(":3")  # seqs go on after the restart


def test_refusals_are_in_the_cashiers_words(rig):
    reg = rig.register
    assert reg.handle(FindCustomers("anna")).message == "Log in first."
    reg = login_cashier(reg)
    bad = reg.handle(SaveCustomer((("name", "  "),)))
    assert not bad.ok and bad.message
    assert not reg.handle(SaveCustomer((("name", "Anna"), ("phone", "12")))).ok
    assert not reg.handle(SaveCustomer((("name", "Anna"), ("colour", "red")))).ok
    assert not reg.handle(SaveCustomer((("name", "Anna"),), "DEMO:R1:deadbeef:99")).ok
    anna = reg.handle(SaveCustomer((("name", "Anna"),))).data
    unchanged = reg.handle(SaveCustomer((("name", "Anna"),), anna.customer_id))
    assert not unchanged.ok and unchanged.message
    assert reg.customers.pending() and len(reg.customers.pending()) == 1  # refusals were never recorded
