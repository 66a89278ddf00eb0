"""The register end to end on a real journal and simulated hardware: login, scan, tender, commit, then drawer and
print."""

from __future__ import annotations

from firmware.chain import verify_chain
from firmware.register.core.commands import AddSku, DiscountLine, SetQty, VoidLine
from tests.firmware.register.conftest import PENCIL, login_cashier, paid_cash_sale, wait_for


def test_wrong_pin_is_refused_and_repeated_failures_lock_the_clerk(reg):
    assert not reg.login("c1", "0000").ok
    assert "Wrong PIN" in reg.view().message.text
    for _ in range(4):
        reg.login("c1", "0000")
    locked = reg.login("c1", "1111")
    assert not locked.ok and "Too many wrong PINs" in locked.message
    assert reg.view().phase == "login"


def test_lockout_ends_after_a_minute(rig):
    reg = rig.register
    for _ in range(5):
        reg.login("c1", "0000")
    rig.clock.advance(61)
    assert reg.login("c1", "1111").ok


def test_cash_sale_commits_then_opens_drawer_and_prints(rig):
    reg = login_cashier(rig.register)
    receipt = paid_cash_sale(reg, PENCIL, PENCIL, given=500)
    assert receipt["lines"][0]["qty"] == 2 and receipt["lines"][0]["amount"] == 258
    assert receipt["tenders"] == [{"type": "cash", "amount": 500, "change": 242}]
    assert receipt["offline"] is True  # no broker: made offline, and says so
    assert reg.journal.get(receipt["receipt_id"]) == receipt
    rendered = rig.data_dir / "printer"
    assert wait_for(lambda: any(receipt["receipt_id"] in f.read_text() for f in rendered.glob("*.txt")))
    assert wait_for(lambda: (reg.pump(), reg.view().health["drawer"].state == "open")[1])


def test_unknown_and_invalid_barcodes_say_so_plainly(reg):
    login_cashier(reg)
    unknown = reg.scan("4006381333948")
    assert not unknown.ok and "Unknown barcode" in unknown.message
    invalid = reg.scan("4006381333932")
    assert not invalid.ok and "check digit" in invalid.message.lower()
    assert reg.view().lines == ()


def test_scanning_before_login_is_refused(reg):
    out = reg.scan(PENCIL)
    assert not out.ok and "Log in" in out.message


def test_seq_is_gapless_and_the_chain_verifies_over_many_sales(reg):
    login_cashier(reg)
    for _ in range(5):
        paid_cash_sale(reg, PENCIL)
        assert reg.new_sale().ok
    receipts = list(reg.journal.iter_receipts())
    assert [r["seq"] for r in receipts] == [1, 2, 3, 4, 5]
    verify_chain(receipts)


def test_split_tender_card_then_cash_with_change(reg):
    login_cashier(reg)
    reg.scan(PENCIL)
    reg.scan(PENCIL)
    assert reg.tender("card", 100).ok
    assert reg.view().totals.due == 158
    receipt = None
    assert reg.tender("cash", 200).ok
    reg.wait_idle()
    receipt = reg.view().last_receipt.to_doc()
    assert [t["type"] for t in receipt["tenders"]] == ["card", "cash"]
    assert receipt["tenders"][1]["change"] == 42


def test_card_cannot_exceed_what_is_due(reg):
    login_cashier(reg)
    reg.scan(PENCIL)
    out = reg.tender("card", 1000)
    assert not out.ok
    assert reg.view().phase == "tender"
    assert list(reg.journal.iter_receipts()) == []


def test_void_line_and_quantity_change_update_totals(reg):
    login_cashier(reg)
    reg.scan(PENCIL)
    reg.handle(AddSku("4006380133464"))  # ballpoint pen 1.49
    assert reg.handle(SetQty(2, 3)).ok
    assert reg.view().totals.total == 129 + 3 * 149
    assert reg.handle(VoidLine(1)).ok
    assert reg.view().totals.total == 3 * 149


def test_large_discount_needs_a_manager_pin(reg):
    login_cashier(reg)
    reg.scan(PENCIL)
    refused = reg.handle(DiscountLine(1, percent=50))
    assert not refused.ok
    assert reg.handle(DiscountLine(1, percent=50, manager_pin="9999")).ok
    assert reg.view().totals.total == 64  # 129 - 65: half of 129 is 64.5, the discount rounds half up


def test_committed_sale_survives_a_restart_and_a_retry_makes_no_second_receipt(rig):
    reg = login_cashier(rig.register)
    receipt = paid_cash_sale(reg, PENCIL)
    reg = rig.restart()
    assert reg.journal.get(receipt["receipt_id"])["hash"] == receipt["hash"]
    again = reg.journal.commit_receipt(receipt)
    assert again["receipt_id"] == receipt["receipt_id"]
    assert len(list(reg.journal.iter_receipts())) == 1
