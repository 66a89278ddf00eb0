"""A loyalty card scanned on the sale (docs/customers.md#on-the-till): on a real register (real journal and customer
book), by the keyboard wedge (`Scan`) and by the serial scanner (hal `ScanRead` through the register's queue).

An item's code always wins; a code one customer holds attaches them, named in the message; a code several hold
(a card handed out twice) sets the view's `card_scan` so the panel lists them; an unknown code is refused as
before."""

from __future__ import annotations

import pytest

from firmware.domain.barcode import check_scan
from firmware.register.commands import Logout, SaveCustomer, Scan
from hal.events import ScanRead
from tests.firmware.register.conftest import PENCIL, login_cashier, paid_cash_sale

pytestmark = pytest.mark.slow

NOT_A_CODE = check_scan("CARD9999").reason  # the catalog's own sentence for a code that is no barcode


def save(reg, **fields):
    out = reg.handle(SaveCustomer(tuple(fields.items())))
    assert out.ok, out.message
    return out.data


def test_a_card_attaches_its_customer_and_goes_on_the_receipt(reg):
    reg = login_cashier(reg)
    anna = save(reg, name="Anna Schmidt", code="card1001")
    out = reg.handle(Scan(" card1001 "))  # a typed or scanned code: case and spaces do not matter
    assert out.ok and out.message == "Customer Anna Schmidt added to the sale" and out.data == anna
    view = reg.view()
    assert view.customer_code == "CARD1001" and view.card_scan is None
    assert view.message.text == "Customer Anna Schmidt added to the sale"
    assert not [ln for ln in view.lines if not ln.voided]  # nothing was sold for the card
    receipt = paid_cash_sale(reg, PENCIL)
    assert receipt["customer_code"] == "CARD1001"


def test_an_items_code_wins_over_a_card_with_the_same_number(reg):
    reg = login_cashier(reg)
    save(reg, name="Pencil Collector", code=PENCIL)
    out = reg.handle(Scan(PENCIL))
    assert out.ok and out.message == "Pencil HB added"
    view = reg.view()
    assert view.customer_code in (None, "") and [ln.name for ln in view.lines] == ["Pencil HB"]


def test_an_unknown_code_is_refused_as_before(reg):
    reg = login_cashier(reg)
    save(reg, name="Anna Schmidt", code="card1001")
    for code, said in (("CARD9999", NOT_A_CODE), ("4006381333948", "Unknown barcode 4006381333948")):
        out = reg.handle(Scan(code))
        assert not out.ok and out.message == said, out.message
    assert reg.view().customer_code in (None, "")


def test_a_card_held_twice_asks_the_cashier_to_pick(reg):
    reg = login_cashier(reg)
    first = save(reg, name="Anna Schmidt", code="card1001")
    second = save(reg, name="Anne Schmitt", code="CARD1001")
    out = reg.handle(Scan("CARD1001"))
    assert out.ok and out.message == "2 customers have card CARD1001: pick one"
    assert {c.customer_id for c in out.data} == {first.customer_id, second.customer_id}
    view = reg.view()
    assert view.card_scan == (1, "CARD1001") and view.customer_code in (None, "")  # nobody attached yet
    assert reg.handle(Scan("CARD1001")).ok
    assert reg.view().card_scan == (2, "CARD1001")  # a second scan is news to the screen again


def test_the_serial_scanner_attaches_the_customer_too(rig):
    reg = login_cashier(rig.register)
    save(reg, name="Anna Schmidt", code="card1001")
    reg.events.put(ScanRead("CARD1001"))
    reg.pump()
    view = reg.view()
    assert view.customer_code == "CARD1001"
    assert view.message.text == "Customer Anna Schmidt added to the sale" and view.message.level != "error"


def test_a_card_before_login_is_not_looked_up(reg):
    save(login_cashier(reg), name="Anna Schmidt", code="card1001")
    assert reg.handle(Logout()).ok
    reg.events.put(ScanRead("CARD1001"))
    reg.pump()
    assert reg.view().customer_code in (None, "")
