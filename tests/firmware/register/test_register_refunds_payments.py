"""Refunds over several receipts with the right money, receipts found by any id form and by any scanner, tender
lines removed until the sale is finished, and cash below the due only after "Part payment of €X?"."""

from __future__ import annotations

from firmware.register.commands import (
    BackToCart,
    BeginTender,
    DiscountCart,
    NewSale,
    Refund,
    RemoveTender,
    Scan,
    Tender,
)
from firmware.register.view import ConfirmFirst
from tests.firmware.register.conftest import PENCIL, login_cashier, paid_cash_sale

ERASER = "4006380133532"  # 0.89
COFFEE = "4006380135079"  # 7.99
MILK = "4006380134799"  # 1.19


def refund(reg, receipt_id, lines, kind="cash"):
    out = reg.handle(Refund(receipt_id, lines, kind, manager_pin="9999"))
    assert out.ok, out.message
    reg.wait_idle()
    done = reg.view().last_receipt.to_doc()
    assert done["kind"] == "refund"
    reg.new_sale()
    return done


def test_the_977_case_partial_refunds_over_several_receipts_give_back_the_right_amounts(reg):
    login_cashier(reg)
    sale = paid_cash_sale(reg, COFFEE, ERASER, ERASER, ERASER, given=2000)  # 7.99 + 3 x 0.89 = 10.66
    reg.new_sale()
    rid = sale["receipt_id"]
    assert [(ln["name"], ln["qty"]) for ln in sale["lines"]] == [("Coffee beans 500 g", 1), ("Eraser", 3)]

    first = refund(reg, rid, {2: 1})  # one eraser back
    assert first["totals"]["total"] == 89 and first["tenders"][0]["amount"] == 89

    shown = reg.refund_preview(rid)
    assert [(ln.sold, ln.refunded, ln.left) for ln in shown.lines] == [(1, 0, 1), (3, 1, 2)]
    asked = reg.refund_preview(rid, {1: 1, 2: 2})  # the coffee and both erasers left: 7.99 + 1.78
    assert asked.problem is None and asked.give_back == 977 and asked.give_back_cash == 977
    assert [ln.give_back for ln in asked.lines] == [799, 178]
    assert "€9.77" in reg.handle(Refund(rid, {1: 1, 2: 2}, "cash", manager_pin="9999")).message
    reg.wait_idle()
    second = reg.view().last_receipt.to_doc()
    assert second["totals"]["total"] == 977 and second["tenders"][0]["amount"] == 977
    assert reg.view().message.text == "Refund saved: give back €9.77 (cash)"
    reg.new_sale()

    after = reg.refund_preview(rid)
    assert [(ln.sold, ln.refunded, ln.left) for ln in after.lines] == [(1, 1, 0), (3, 3, 0)] and after.fully_refunded
    assert 89 + 977 == sale["totals"]["total"]
    over = reg.refund_preview(rid, {2: 1})
    assert over.problem and "only 0 left" in over.problem and over.give_back == 0
    assert not reg.handle(Refund(rid, {2: 1}, "cash", manager_pin="9999")).ok


def test_partial_refunds_of_a_discounted_sale_add_up_to_what_was_paid_and_the_preview_is_exact(reg):
    login_cashier(reg)
    for code in (ERASER, ERASER, ERASER, MILK):
        assert reg.scan(code).ok
    assert reg.handle(DiscountCart(percent="10")).ok
    sale = paid_cash_sale(reg, given=5000)
    reg.new_sale()
    rid = sale["receipt_id"]
    paid = sale["totals"]["total"]
    given_back = 0
    for lines in ({1: 1}, {1: 1, 2: 1}, {1: 1}):
        preview = reg.refund_preview(rid, lines)
        done = refund(reg, rid, lines)
        assert done["totals"]["total"] == preview.give_back
        given_back += done["tenders"][0]["amount"]
    assert given_back == paid


def test_a_receipt_is_found_by_either_id_form_and_by_its_number(reg):
    login_cashier(reg)
    sale = paid_cash_sale(reg, PENCIL)
    reg.new_sale()
    rid = sale["receipt_id"]
    store, register, epoch, seq = rid.split(":")
    for code in (rid, f"{register}:{epoch}:{seq}", seq, f" {rid} ", f"{epoch}:{seq}"):
        found = reg.refund_preview(code)
        assert found is not None and found.receipt_id == rid, code
    assert reg.refund_preview("S999:R1:nope:1") is None and reg.refund_preview("99") is None
    refund(reg, f"{register}:{epoch}:{seq}", {1: 1})  # the 1.0 form refunds the same receipt
    assert reg.refund_preview(rid).lines[0].left == 0


def test_a_receipt_barcode_from_the_serial_scanner_reaches_the_screen_and_is_never_sold(reg):
    login_cashier(reg)
    sale = paid_cash_sale(reg, PENCIL)
    reg.new_sale()
    reg.hardware.scanner.feed(sale["receipt_id"])
    reg.hardware.scanner.feed(sale["receipt_id"])
    from tests.firmware.register.conftest import wait_for

    assert wait_for(lambda: reg.pump() or (reg.view().receipt_scan or (0,))[0] == 2)
    assert reg.view().receipt_scan == (2, sale["receipt_id"])
    assert not reg.view().lines  # not added, not refused as "not an EAN-13"
    typed = reg.handle(Scan(sale["receipt_id"]))  # a wedge or typed scan on the sell screen says what to do
    assert not typed.ok and "receipt" in typed.message and "Refund" in typed.message


def test_every_tender_can_be_removed_until_the_sale_is_finished_then_back_to_the_cart_works(reg):
    login_cashier(reg)
    for code in (COFFEE, PENCIL):  # 9.28
        assert reg.scan(code).ok
    assert reg.handle(BeginTender()).ok
    assert reg.handle(Tender("card", 300)).ok
    assert reg.handle(Tender("cash", 10, part_payment=True)).ok  # the mistyped 0.10
    assert [t["type"] for t in reg.view().tenders] == ["card", "cash"]
    back = reg.handle(BackToCart())
    assert not back.ok and "remove them first" in back.message
    removed = reg.handle(RemoveTender(1))
    assert removed.ok and removed.message == "Cash €0.10 removed: give €0.10 back to the customer. €6.28 to pay."
    removed = reg.handle(RemoveTender(0))
    assert removed.ok and "cancel it on the card terminal" in removed.message and "€9.28 to pay" in removed.message
    assert reg.view().tenders == () and reg.view().totals.due == 928
    assert not reg.handle(RemoveTender(0)).ok
    assert reg.handle(BackToCart()).ok and reg.view().phase == "sell"
    assert reg.scan(PENCIL).ok  # the cart can change again
    assert reg.handle(Tender("cash", 2000)).ok
    reg.wait_idle()
    assert reg.view().phase == "done" and reg.view().message.text == "Paid, change €9.43"
    assert not reg.handle(RemoveTender(0)).ok  # finished: nothing to take back


def test_a_new_cart_starts_without_the_last_sales_paid_message(reg):
    login_cashier(reg)
    assert reg.scan(PENCIL).ok and reg.handle(Tender("cash", 200)).ok
    reg.wait_idle()
    assert reg.view().message.text == "Paid, change €0.71"
    assert reg.handle(NewSale()).ok
    assert reg.view().phase == "sell" and reg.view().lines == () and reg.view().message is None


def test_cash_below_the_due_asks_part_payment_first(reg):
    login_cashier(reg)
    assert reg.scan(COFFEE).ok  # 7.99
    asked = reg.handle(Tender("cash", 500))
    assert not asked.ok and asked.message == "Part payment of €5.00? €2.99 will still be due."
    assert isinstance(asked.data, ConfirmFirst) and asked.data.question == "Part payment of €5.00?"
    assert asked.data.command == Tender("cash", 500, part_payment=True)
    assert reg.view().tenders == ()  # nothing taken yet
    taken = reg.handle(asked.data.command)
    assert taken.ok and taken.message == "Cash €5.00 taken; €2.99 still to pay"
    assert reg.view().totals.due == 299
    assert reg.handle(Tender("cash", 299)).ok  # exactly the rest: no question
    reg.wait_idle()
    assert reg.view().phase == "done"


def test_a_card_over_the_due_is_refused_in_money(reg):
    login_cashier(reg)
    assert reg.scan(MILK).ok
    out = reg.handle(Tender("card", 5000))
    assert not out.ok and out.message == "Card cannot exceed the amount due (€1.19)"
