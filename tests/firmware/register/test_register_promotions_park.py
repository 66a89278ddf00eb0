"""Promotions and parked carts, and the note on promotions the clock holds back (docs/promotions.md#integration).

A parked cart keeps the codes the cashier entered: recalled (also after a restart) they apply again and the price is
the same; a coupon the till used meanwhile gives nothing and the cashier is told. The read model names the
promotions an untrusted clock holds back.
"""

from __future__ import annotations

from typing import Any

import pytest

from firmware.domain.parked import ParkedCart
from firmware.register.core.commands import EnterCode, Recall, RemoveCode, Scan
from firmware.sync.events import CatalogReceived
from tests.firmware.register.conftest import PENCIL, RegisterRig, login_cashier, paid_cash_sale
from tests.firmware.register.test_register_promotions import MILK, promoted_catalog


def coupon_catalog() -> dict[str, Any]:
    """The promoted demo catalog plus a single-use coupon (0.30 off the cart, stacking with the rest)."""
    payload = promoted_catalog()
    payload["version"] = 51
    payload["promotions"] = [p for p in payload["promotions"] if p["promotion_id"] != "HAPPY-HOUR"] + [
        {"promotion_id": "COUPON-30", "name": "Coupon 0.30", "kind": "discount", "amount": 30, "stackable": True,
         "codes": ["C-0001", "C-0002"], "single_use": True}]
    return payload


def with_catalog(reg, payload: dict[str, Any]):
    reg.events.put(CatalogReceived(payload))
    reg.pump()
    return login_cashier(reg)


def park(reg) -> str:
    out = reg.park()
    assert out.ok, out.message
    reg.wait_idle()
    return out.data


def test_a_parked_cart_keeps_its_codes_recalled_and_after_a_restart_at_the_same_price(rig):
    reg = with_catalog(rig.register, coupon_catalog())
    for code in (PENCIL, PENCIL, PENCIL, MILK):
        assert reg.handle(Scan(code)).ok
    assert reg.handle(EnterCode("c-0001")).ok and reg.handle(EnterCode("WELCOME-1")).ok
    priced = reg.view().totals.total
    assert priced == 3 * 129 - 129 + 119 - 30 - 50  # 3 for 2, the coupon and the promo code
    assert park(reg) == "P1"
    (listed,) = reg.parked()
    assert listed.total == priced  # the recall list says what the customer will pay
    doc = reg.journal.get_state("parked", "P1")
    assert doc["promotions"]["codes"] == ["C-0001", "WELCOME-1"] and doc["promotions"]["clock_trusted"] is True
    back = reg.handle(Recall("P1"))
    assert back.ok and back.message == "Cart P1 is back"
    assert reg.view().totals.total == priced
    assert park(reg) == "P2"  # numbers go on until the Z

    reg = rig.restart()  # parked on disk: the codes come back from the journal's state record
    login_cashier(reg)
    assert reg.parked()[0].total == priced
    assert reg.handle(Recall("P2")).ok
    assert reg.view().totals.total == priced
    assert reg.handle(RemoveCode("C-0001")).ok  # the code is really on the cart again
    assert reg.view().totals.total == priced + 30
    assert reg.handle(EnterCode("C-0001")).ok
    assert reg.tender("cash", None).ok
    reg.wait_idle()
    receipt = reg.view().last_receipt.to_doc()
    assert receipt["totals"]["total"] == priced and receipt["coupons"] == ["C-0001"]
    assert {p["promotion_id"]: p.get("code") for p in receipt["promotions"]} == {
        "COUPON-30": "C-0001", "PENS-3FOR2": None, "WELCOME": "WELCOME-1"}


def test_a_coupon_used_on_another_cart_while_parked_gives_nothing_and_the_cashier_is_told(rig):
    reg = with_catalog(rig.register, coupon_catalog())
    assert reg.handle(Scan(PENCIL)).ok
    assert reg.handle(EnterCode("C-0002")).ok
    assert reg.view().totals.total == 129 - 30
    park(reg)
    assert reg.handle(Scan(MILK)).ok
    assert reg.handle(EnterCode("C-0002")).ok  # the parked cart has not used it yet
    reg.handle(Scan(MILK))
    assert reg.tender("cash", None).ok
    reg.wait_idle()
    assert reg.view().last_receipt.to_doc()["coupons"] == ["C-0002"]
    reg.new_sale()
    back = reg.handle(Recall("P1"))
    assert back.ok and back.message == "Cart P1 is back; code C-0002: This coupon has already been used"
    assert reg.view().totals.total == 129


def test_a_cart_parked_before_codes_were_kept_still_recalls():
    """A parked record of an older release (no `promotions`) reads as before."""
    doc = {"park_id": "P1", "parked_at": "2026-11-25T10:00:00Z",
           "sale": {"sale_id": "s1", "clerk_id": "c1", "lines": []}}
    cart = ParkedCart.from_dict(doc)
    assert cart.sale.promos is None and cart.to_dict() == ParkedCart.from_dict(cart.to_dict()).to_dict()


@pytest.mark.slow
def test_the_read_model_names_the_promotions_an_untrusted_clock_holds_back(tmp_path):
    rig = RegisterRig(tmp_path / "data")
    rig.start(ntp_synced=lambda: False)
    try:
        reg = with_catalog(rig.register, promoted_catalog())
        assert reg.view().held_back == ()
        assert reg.handle(Scan(PENCIL)).ok
        assert reg.view().held_back == ()  # no promotion with a window meets a pencil
        assert reg.handle(Scan(MILK)).ok
        view = reg.view()
        assert view.held_back == ("Happy hour -20%",) and view.totals.total == 129 + 119
        assert view.held_back_note == "Happy hour -20% not applied: the till's clock is not set"
        receipt = paid_cash_sale(reg, given=500)
        assert receipt["clock_trusted"] is False and "promotions" not in receipt
        assert reg.view().held_back == ()  # the cart is gone with its note
    finally:
        rig.stop()

    rig = RegisterRig(tmp_path / "trusted")
    rig.start()
    try:
        reg = with_catalog(rig.register, promoted_catalog())
        assert reg.handle(Scan(MILK)).ok
        assert reg.view().held_back == ()  # a trusted clock holds nothing back
    finally:
        rig.stop()


def test_a_parked_carts_promotions_round_trip_without_their_book():
    from datetime import datetime, timedelta, timezone

    from firmware.domain import sale_promotions
    from firmware.domain.promotions import PromotionBook
    from firmware.domain.sale_promotions import SalePromotions

    shop_time = datetime(2026, 11, 25, 17, 30, tzinfo=timezone(timedelta(hours=1)))
    promos = SalePromotions(PromotionBook(()), shop_time, True, ("C-0001", "WELCOME-1"), frozenset({"X-1"}))
    doc = sale_promotions.to_doc(promos)
    assert doc == {"codes": ["C-0001", "WELCOME-1"], "clock_trusted": True, "moment": "2026-11-25T17:30:00+01:00"}
    back = sale_promotions.from_doc(doc)
    assert (back.moment, back.clock_trusted, back.codes, back.used_codes) == (shop_time, True, promos.codes,
                                                                                frozenset())
    assert back.moment.utcoffset() == timedelta(hours=1)  # the wall time the windows read is kept
    assert sale_promotions.to_doc(None) is None and sale_promotions.from_doc(None) is None
    assert sale_promotions.to_doc(SalePromotions(PromotionBook(()))) is None  # nothing to keep
