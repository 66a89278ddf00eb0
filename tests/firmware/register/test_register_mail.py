"""E-mail receipts and the receipt page on a real register and journal (docs/digital-receipts.md): `MailReceipt`
checks the address and the receipt and journals the request with its head in one record; `[shop] receipt_page`
puts the QR code of the receipt's page on paper."""

from __future__ import annotations

import pytest

from firmware.contract import decode
from firmware.contract.chain import canonical_json
from firmware.contract.mail import MailRequest
from firmware.register.commands import MailReceipt, NoSale, Reprint
from tests.firmware.register.conftest import PENCIL, RegisterRig, login_cashier, paid_cash_sale, wait_for
from tests.support.escpos_decode import decode as read_paper


def test_a_mail_request_is_journaled_with_its_head_and_survives_a_restart(rig):
    reg = login_cashier(rig.register)
    first = paid_cash_sale(reg, PENCIL)
    reg.new_sale()
    second = paid_cash_sale(reg, PENCIL)
    out = reg.handle(MailReceipt(first["receipt_id"], "anna@example.com"))
    assert out.ok and out.message == (f"Receipt #{first['seq']} will be e-mailed to anna@example.com once the "
                                      "register is back online.")
    seq = first["receipt_id"].rsplit(":", 1)[1]
    assert reg.handle(MailReceipt(seq, " ben.k+shop@mail.example.org ")).ok  # the printed number; spaces trimmed
    assert reg.handle(MailReceipt(second["receipt_id"], "anna@example.com")).ok  # heads read their own writes
    reg.wait_idle()
    requests = reg.journal.states("mail_request")
    epoch = reg.journal.epoch
    assert sorted(requests) == [f"DEMO:R1:{epoch}:{n}" for n in (1, 2, 3)]
    assert reg.journal.get_state("mail_head", "head") == {"next_seq": 4}
    doc = requests[f"DEMO:R1:{epoch}:2"]
    assert doc == {"request_id": f"DEMO:R1:{epoch}:2", "store": "DEMO", "register": "R1",
                   "receipt_id": first["receipt_id"], "address": "ben.k+shop@mail.example.org",
                   "requested_at": "2026-11-25T12:00:00.000Z", "clerk_id": "c1"}
    decode(MailRequest, canonical_json(doc))  # what the fleet will read
    reg = login_cashier(rig.restart())
    assert len(reg.journal.states("mail_request")) == 3
    assert reg.handle(MailReceipt(second["receipt_id"], "carla@example.com")).ok
    reg.wait_idle()
    assert reg.journal.get_state("mail_head", "head") == {"next_seq": 5}


@pytest.mark.parametrize(("address", "words"), [
    ("anna@@example.com", "An e-mail address has exactly one @ (name@example.com)"),
    ("anna@example", "The part after the @ is not a valid domain (name@example.com)"),
    ("anna@example.com\r\nBcc: all@example.com",
     "That e-mail address holds a line break or control character; type it again"),
    ("", "Type the customer's e-mail address"),
    ("a" * 300 + "@example.com", "That e-mail address is 312 characters long; an address has at most 254"),
])
def test_a_bad_address_is_refused_in_words_and_nothing_is_journaled(reg, address, words):
    receipt = paid_cash_sale(login_cashier(reg), PENCIL)
    out = reg.handle(MailReceipt(receipt["receipt_id"], address))
    assert (out.ok, out.message) == (False, words)
    assert reg.view().message.text == words
    reg.wait_idle()
    assert reg.journal.states("mail_request") == {} and reg.journal.get_state("mail_head", "head") is None


def test_a_receipt_that_does_not_exist_or_has_nothing_to_mail_is_refused(reg):
    out = reg.handle(MailReceipt("1", "anna@example.com"))
    assert (out.ok, out.message) == (False, "Log in first.")
    login_cashier(reg)
    for code in ("DEMO:R1:0badc0de:99", "99", "nonsense"):
        out = reg.handle(MailReceipt(code, "anna@example.com"))
        assert not out.ok and out.message == (f"No receipt {code} on this register: check the number printed "
                                              "under the barcode.")
    out = reg.handle(MailReceipt("  ", "anna@example.com"))
    assert (out.ok, out.message) == (False, "Scan or type the receipt's number first.")
    login_cashier(reg)
    reg.handle(NoSale(manager_pin="9999", reason="change"))
    reg.wait_idle()
    no_sale = reg.journal.recent_receipts(1)[0]
    assert no_sale.kind == "no_sale"
    out = reg.handle(MailReceipt(no_sale.receipt_id, "anna@example.com"))
    assert (out.ok, out.message) == (False, f"{no_sale.receipt_id} is a no-sale: there is no receipt to e-mail.")
    sale = paid_cash_sale(reg, PENCIL)
    assert reg.handle(MailReceipt(sale["receipt_id"], "anna@example.com")).ok
    out = reg.handle(MailReceipt(sale["receipt_id"], "anna@example.com"))  # tapped twice
    assert (out.ok, out.message) == (False, f"Receipt #{sale['seq']} is already on its way to "
                                            "anna@example.com.")
    reg.wait_idle()
    assert len(reg.journal.states("mail_request")) == 1


def test_with_a_receipt_page_every_printed_receipt_carries_the_qr_code_of_its_page(tmp_path):
    rig = RegisterRig(tmp_path / "data", shop={"receipt_page": "https://receipts.example/"})
    reg = login_cashier(rig.start())
    try:
        connector = reg.hardware.printer.connector
        receipt = paid_cash_sale(reg, PENCIL)
        url = (f"https://receipts.example/r/{receipt['receipt_id'].replace(':', '%3A')}"
               f"?h={receipt['hash'][:16]}")
        wait_for(lambda: b"\x1d(k" in connector.output, 10)
        paper = read_paper(connector.output)
        assert ("qr", url) in [(i.kind, i.data) for i in paper.items if getattr(i, "kind", None) == "qr"]
        assert "Your receipt online:" in paper.texts
        connector.clear()
        assert reg.handle(Reprint(receipt["receipt_id"])).ok  # the copy too
        wait_for(lambda: url.encode() in connector.output, 10)
        assert "*** COPY ***" in read_paper(connector.output).texts
    finally:
        rig.stop()


def test_without_a_receipt_page_there_is_no_qr_code(reg):
    receipt = paid_cash_sale(login_cashier(reg), PENCIL)
    connector = reg.hardware.printer.connector
    wait_for(lambda: receipt["receipt_id"].encode() in connector.output, 10)
    paper = read_paper(connector.output)
    assert [i.data for i in paper.items if getattr(i, "kind", None) in ("qr", "barcode")] == [receipt["receipt_id"]]
    assert "Your receipt online:" not in paper.texts
