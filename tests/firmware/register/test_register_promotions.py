"""Promotions through the real register: catalog from the fleet, the till's clock, codes, commit, print, refund."""

from __future__ import annotations

from firmware.bootstrap import demo_catalog_payload
from firmware.register.commands import Refund, Scan
from firmware.register.core.commands import EnterCode, RemoveCode
from firmware.sync.events import CatalogReceived
from tests.firmware.register.conftest import PENCIL, login_cashier, paid_cash_sale, wait_for

MILK = "4006380134799"  # 1.19


def promoted_catalog():
    payload = demo_catalog_payload()
    payload["version"] = 50
    milk = next(item for item in payload["items"] if MILK in item.get("barcodes", []))
    pencil = next(item for item in payload["items"] if PENCIL in item.get("barcodes", []))
    payload["sku_groups"] = {milk["sku"]: ["drinks"]}
    payload["promotions"] = [
        {"promotion_id": "PENS-3FOR2", "name": "Pencils 3 for 2", "kind": "multi_buy", "skus": [pencil["sku"]],
         "buy": 3, "pay": 2},
        {"promotion_id": "HAPPY-HOUR", "name": "Happy hour -20%", "kind": "discount", "groups": ["drinks"],
         "percent": "20", "stackable": True, "window": {"first_day": "2026-11-25", "last_day": "2026-11-25"}},
        {"promotion_id": "WELCOME", "name": "Welcome 0.50", "kind": "spend_save", "spend": 200, "amount": 50,
         "codes": ["WELCOME-1"]},
    ]
    return payload


def test_three_for_two_with_happy_hour_committed_printed_and_one_unit_refunded(rig):
    reg = login_cashier(rig.register)
    reg.events.put(CatalogReceived(promoted_catalog()))
    reg.pump()
    assert len(reg.catalog.promotions) == 3
    receipt = paid_cash_sale(reg, PENCIL, PENCIL, PENCIL, MILK, given=1000)
    pencils, milk = receipt["lines"]
    assert (pencils["qty"], pencils["discount"], pencils["amount"], pencils["promotion"]) == (3, 129, 258, 129)
    assert pencils["units"] == [{"qty": 3, "paid": 258}]
    assert (milk["discount"], milk["amount"]) == (24, 95)
    assert receipt["totals"]["total"] == 353
    assert [(p["promotion_id"], p["saving"], p["lines"]) for p in receipt["promotions"]] == [
        ("HAPPY-HOUR", 24, [[2, 24]]), ("PENS-3FOR2", 129, [[1, 129]])]
    assert reg.journal.get(receipt["receipt_id"]) == receipt
    rendered = rig.data_dir / "printer"
    assert wait_for(lambda: any("Pencils 3 for 2" in f.read_text() and receipt["receipt_id"] in f.read_text()
                                for f in rendered.glob("*.txt")))
    reg.new_sale()
    out = reg.handle(Refund(receipt["receipt_id"], {1: 1}, "cash", manager_pin="9999"))
    assert out.ok, out.message
    reg.wait_idle()
    back = reg.view().last_receipt.to_doc()
    assert back["kind"] == "refund" and back["totals"]["total"] == 86  # what that pencil paid in the deal
    rig.restart()  # the stored catalog keeps its promotions
    assert len(rig.register.catalog.promotions) == 3


def test_a_code_entered_early_applies_once_the_cart_reaches_it(rig):
    reg = login_cashier(rig.register)
    reg.events.put(CatalogReceived(promoted_catalog()))
    reg.pump()
    assert reg.handle(Scan(MILK)).ok
    said = reg.handle(EnterCode("welcome-1"))
    assert said.ok and "not apply" in said.message  # 1.19 on the shelf is under the 2.00 spend
    assert reg.handle(Scan(MILK)).ok
    assert reg.view().totals.total == 2 * 95 - 50
    assert not reg.handle(EnterCode("nothing-9")).ok
    assert reg.handle(RemoveCode("WELCOME-1")).ok
    assert reg.view().totals.total == 2 * 95


def test_a_windowed_promotion_waits_for_the_clock(tmp_path):
    from tests.firmware.register.conftest import RegisterRig

    rig = RegisterRig(tmp_path / "data")
    rig.start(ntp_synced=lambda: False)
    try:
        reg = login_cashier(rig.register)
        reg.events.put(CatalogReceived(promoted_catalog()))
        reg.pump()
        assert reg.handle(Scan(MILK)).ok
        assert reg.view().totals.total == 119
    finally:
        rig.stop()
