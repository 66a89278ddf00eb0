"""Everything the register itself produces for the fleet (every receipt kind, X/Z reports) fits the published JSON
Schemas."""

from __future__ import annotations

import jsonschema

from firmware.contract.schemas import load_schema
from firmware.register.core.commands import DiscountCart, NoSale, OpenShift, Refund, SetCustomer, XReport, ZReport
from tests.firmware.register.conftest import PENCIL, login_cashier, paid_cash_sale


def test_every_receipt_kind_and_both_reports_validate_against_the_schemas(reg):
    login_cashier(reg)
    reg.handle(OpenShift(5000))
    sale = paid_cash_sale(reg, PENCIL, PENCIL, given=1000)
    reg.new_sale()
    reg.scan("4006380133464")
    reg.handle(DiscountCart(percent=10))
    reg.handle(SetCustomer("C-1001"))
    reg.tender("card", 50)
    reg.tender("on_account")
    reg.wait_idle()
    reg.new_sale()
    assert reg.handle(Refund(sale["receipt_id"], {1: 1}, "cash", manager_pin="9999")).ok
    reg.wait_idle()
    reg.new_sale()
    assert reg.handle(Refund(None, None, "card", manager_pin="9999", reason="no receipt", blind_items=[(PENCIL, 2)])).ok
    reg.wait_idle()
    reg.new_sale()
    assert reg.handle(NoSale(manager_pin="9999")).ok
    reg.wait_idle()
    receipts = list(reg.journal.iter_receipts())
    assert [r["kind"] for r in receipts] == ["sale", "sale", "refund", "refund", "no_sale"]
    schema = load_schema("receipt")
    for receipt in receipts:
        jsonschema.validate(receipt, schema)
    report_schema = load_schema("report")
    jsonschema.validate(reg.handle(XReport()).data, report_schema)
    jsonschema.validate(reg.handle(ZReport(counted_cash=5000, manager_pin="9999")).data, report_schema)
