"""Back-office commands on a real journal: park/recall across restarts, refunds and their limits, no-sale, X/Z
reports."""

from __future__ import annotations

from firmware.register.core.commands import (
    CashMovement,
    ExportPending,
    ExportRange,
    NoSale,
    OpenShift,
    Recall,
    Refund,
    Reprint,
    XReport,
    ZReport,
)
from tests.firmware.register.conftest import PENCIL, login_cashier, paid_cash_sale

PEN = "4006380133464"


def test_parked_cart_survives_a_restart_and_is_recalled_whole(rig):
    reg = login_cashier(rig.register)
    reg.scan(PENCIL)
    reg.scan(PEN)
    parked = reg.park()
    assert parked.ok and reg.view().lines == ()
    reg = login_cashier(rig.restart())
    [info] = reg.parked()
    assert info.park_id == parked.data and info.lines == 2 and info.total == 129 + 149
    assert reg.handle(Recall(info.park_id)).ok
    assert [line.sku for line in reg.view().lines] == [PENCIL, PEN]
    assert reg.parked() == []


def test_parked_cart_is_flagged_stale_after_the_configured_age(rig):
    reg = login_cashier(rig.register)
    reg.scan(PENCIL)
    reg.park()
    rig.clock.advance(13 * 3600)
    assert reg.parked()[0].stale


def test_refund_needs_a_manager_and_never_exceeds_what_was_sold_even_across_restarts(rig):
    reg = login_cashier(rig.register)
    sale = paid_cash_sale(reg, PENCIL, PENCIL, PENCIL, given=1000)
    reg.new_sale()
    assert not reg.handle(Refund(sale["receipt_id"], {1: 1}, "cash", manager_pin="1111")).ok  # a cashier's PIN
    assert reg.handle(Refund(sale["receipt_id"], {1: 2}, "cash", manager_pin="9999")).ok
    reg.wait_idle()
    refund = reg.view().last_receipt.to_doc()
    assert refund["kind"] == "refund" and refund["refund_of"] == sale["receipt_id"]
    assert refund["totals"]["total"] == 258 and refund["tenders"][0]["amount"] == 258
    reg = login_cashier(rig.restart())
    too_many = reg.handle(Refund(sale["receipt_id"], {1: 2}, "cash", manager_pin="9999"))
    assert not too_many.ok and "only 1 left" in too_many.message
    assert reg.handle(Refund(sale["receipt_id"], {1: 1}, "cash", manager_pin="9999")).ok
    reg.wait_idle()
    refunded = sum(r["totals"]["total"] for r in reg.journal.iter_receipts() if r["kind"] == "refund")
    assert refunded == sale["totals"]["total"]


def test_blind_return_needs_a_reason(reg):
    login_cashier(reg)
    no_reason = reg.handle(Refund("R9:deadbeef:4", None, "cash", manager_pin="9999", blind_items=[(PENCIL, 1)]))
    assert not no_reason.ok and "reason" in no_reason.message
    ok = reg.handle(Refund("R9:deadbeef:4", None, "cash", manager_pin="9999", reason="bought at the other till",
                    blind_items=[(PENCIL, 1)]))
    assert ok.ok
    reg.wait_idle()
    receipt = reg.view().last_receipt.to_doc()
    assert receipt["kind"] == "refund" and receipt["refund_of"] == "R9:deadbeef:4" and receipt["reason"]


def test_blind_return_with_a_foreign_reference_keeps_it_in_the_reason_not_in_refund_of(reg):
    login_cashier(reg)
    assert reg.handle(Refund("paper slip 77/b", None, "cash", manager_pin="9999", reason="other shop",
                      blind_items=[(PENCIL, 1)])).ok
    reg.wait_idle()
    receipt = reg.view().last_receipt.to_doc()
    assert receipt["refund_of"] is None and "paper slip 77/b" in receipt["reason"]


def test_no_sale_needs_a_manager_and_is_journaled_before_the_drawer_opens(reg):
    login_cashier(reg)
    assert not reg.handle(NoSale()).ok
    assert reg.handle(NoSale(manager_pin="9999")).ok
    reg.wait_idle()
    [receipt] = list(reg.journal.iter_receipts())
    assert receipt["kind"] == "no_sale" and receipt["approved_by"] == "m1" and receipt["clerk_id"] == "c1"


def test_z_report_totals_match_the_receipts_and_the_next_z_starts_after_it(rig):
    reg = login_cashier(rig.register)
    assert reg.handle(OpenShift(10000)).ok
    paid_cash_sale(reg, PENCIL, given=200)
    reg.new_sale()
    reg.scan(PEN)
    reg.tender("card")
    reg.wait_idle()
    reg.new_sale()
    assert reg.handle(CashMovement("paid_out", 500, "window cleaner")).ok
    x = reg.handle(XReport())
    assert x.ok and x.data["kind"] == "x" and x.data["net_total"] == 129 + 149
    z = reg.handle(ZReport(counted_cash=10000 + 129 - 500 - 10, manager_pin="9999"))
    assert z.ok, z.message
    report = z.data
    assert report["z_number"] == 1 and (report["first_seq"], report["last_seq"]) == (1, 2)
    assert report["expected_cash"] == 10000 + 129 - 500 and report["difference"] == -10
    reg.wait_idle()  # the journal writer has saved it (then it was printed)
    assert reg.journal.get_state("reports", report["report_id"])["z_number"] == 1
    assert reg.journal.get_state("counters", "z") == {"z_number": 1, "last_seq": 2}
    reg = login_cashier(rig.restart())
    paid_cash_sale(reg, PENCIL)
    z2 = reg.handle(ZReport(counted_cash=129, manager_pin="9999")).data
    assert z2["z_number"] == 2 and (z2["first_seq"], z2["last_seq"]) == (3, 3)


def test_reprint_is_a_copy_never_a_second_sale(reg):
    login_cashier(reg)
    sale = paid_cash_sale(reg, PENCIL)
    assert reg.handle(Reprint(sale["receipt_id"])).ok
    assert len(list(reg.journal.iter_receipts())) == 1


def test_export_pending_writes_csv_and_json_of_unconfirmed_receipts(reg, stick):
    import csv
    import json

    login_cashier(reg)
    paid_cash_sale(reg, PENCIL, PEN)
    out = reg.handle(ExportPending(stick))
    assert out.ok and out.message == f"Exporting unsent receipts to {stick}…"
    done = reg.wait_export()
    assert done.ok and done.result.receipts == 1
    assert (reg.view().message.level, reg.view().message.text) == ("notice", f"1 receipt exported to {stick}")
    rows = list(csv.DictReader(done.result.lines_csv.open()))
    assert [r["sku"] for r in rows] == [PENCIL, PEN]
    assert json.loads(done.result.receipts_json.read_text())[0]["seq"] == 1


def test_export_by_date_range_takes_only_receipts_made_in_it(rig, stick):
    import json
    from datetime import timedelta

    reg = login_cashier(rig.register)
    day1 = rig.clock.now()
    paid_cash_sale(reg, PENCIL)
    reg.new_sale()
    rig.clock.advance(86400)
    paid_cash_sale(reg, PEN)
    reg.new_sale()
    assert reg.handle(ExportRange(stick / "acct", day1, day1 + timedelta(days=1))).ok
    reg.wait_export()
    assert reg.last_export.ok and reg.last_export.result.receipts == 1
    [only] = json.loads(reg.last_export.result.receipts_json.read_text())
    assert only["lines"][0]["sku"] == PENCIL


def test_a_refund_whose_index_entry_was_lost_is_found_again_at_start_up(rig):
    reg = login_cashier(rig.register)
    sale = paid_cash_sale(reg, PENCIL, PENCIL, given=500)
    reg.new_sale()
    assert reg.handle(Refund(sale["receipt_id"], {1: 2}, "cash", manager_pin="9999")).ok
    reg.wait_idle()
    # a power cut right after the refund's commit, before its index entry was written
    reg.journal.delete_state("refunds", sale["receipt_id"])
    reg = login_cashier(rig.restart())
    refused = reg.handle(Refund(sale["receipt_id"], {1: 1}, "cash", manager_pin="9999"))
    assert not refused.ok and "only 0 left" in refused.message
