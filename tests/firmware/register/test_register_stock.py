"""Stock on a real register (docs/stock.md): each committed receipt's deltas journaled and counted at once, the
sale check in the cashier's words (warn, or a manager below zero), a manager's stock-take, and nothing lost when
the power goes between a receipt and its stock record."""

from __future__ import annotations

import pytest

from firmware.domain.stock import PolicyBook, StockPolicy, StockSnapshot
from firmware.fleet_records import STOCK, STOCK_HEAD
from firmware.register.commands import CountStock, Logout, Refund, Scan, VoidLine
from tests.firmware.register.conftest import PENCIL, login_cashier, paid_cash_sale

pytestmark = pytest.mark.slow

WARN = PolicyBook()
MANAGER = PolicyBook(StockPolicy(past_zero="manager"))


def snapshot(version: int, level: int, upto: int = 0, sku: str = PENCIL) -> StockSnapshot:
    return StockSnapshot(version, {sku: level}, {"R1": upto}, "2026-03-02T09:00:00Z")


def deltas(reg) -> list[tuple[int, str, str, int]]:
    """Every journaled stock delta, in seq order: (seq, sku, kind, qty)."""
    records = reg.journal.states(STOCK)
    return [(d["seq"], d["sku"], d["kind"], d["qty"]) for key in sorted(records) for d in records[key]["deltas"]]


def message(reg) -> str:
    shown = reg.view().message
    return "" if shown is None else shown.text


def test_untracked_items_sell_without_a_word_and_still_journal_their_deltas(rig):
    reg = login_cashier(rig.register)
    assert reg.stock.on_hand(PENCIL) is None
    receipt = paid_cash_sale(reg, PENCIL, PENCIL)
    assert deltas(reg) == [(1, PENCIL, "sale", -2)]
    assert reg.journal.states(STOCK)["000000000001"]["deltas"][0]["ref"] == receipt["receipt_id"]
    assert reg.journal.get_state(STOCK_HEAD, "head") == {"next_seq": 2, "receipt_seq": receipt["seq"]}
    assert reg.stock.on_hand(PENCIL) is None  # sold, but nobody counted it yet: no level to show


def test_the_cart_warns_at_the_last_item_and_below_zero_and_the_level_follows_every_sale(rig):
    reg = login_cashier(rig.register)
    assert reg.stock.apply_snapshot(snapshot(1, 2), WARN)
    assert reg.scan(PENCIL).ok and message(reg) == "Pencil HB added"
    assert reg.scan(PENCIL).ok and message(reg) == "Last of Pencil HB in stock: stock is now 0"
    assert reg.view().message.level == "warn"
    assert reg.tender("cash").ok
    reg.wait_idle()
    assert reg.stock.on_hand(PENCIL) == 0  # counted once the journal writer is idle (just after "Paid")

    assert reg.scan(PENCIL).ok  # never refused: the shelf may hold what the snapshot does not know
    assert message(reg) == "Pencil HB is out of stock: check the shelf"
    reg.handle(VoidLine(1))
    assert reg.scan(PENCIL).ok
    assert message(reg) == "Pencil HB is out of stock: check the shelf"  # the voided line takes nothing
    assert reg.tender("cash").ok
    reg.wait_idle()
    assert reg.stock.on_hand(PENCIL) == -1
    assert deltas(reg) == [(1, PENCIL, "sale", -2), (2, PENCIL, "sale", -1)]


def test_below_zero_needs_a_managers_pin_where_the_shop_says_so(rig):
    reg = login_cashier(rig.register)
    reg.stock.apply_snapshot(snapshot(1, 0), MANAGER)
    refused = reg.scan(PENCIL)
    assert not refused.ok
    assert refused.message == "Pencil HB is out of stock: a manager must approve"
    assert reg.view().lines == ()
    assert not reg.handle(Scan(PENCIL, manager_pin="1111")).ok  # a cashier's PIN approves nothing
    assert reg.handle(Scan(PENCIL, manager_pin="9999")).ok
    assert message(reg) == "Pencil HB is out of stock: approved by Maria"
    receipt_line = reg._state.sale.lines[-1]
    assert receipt_line.approved_by == "m1"
    assert reg.tender("cash").ok
    reg.wait_idle()
    assert reg.stock.on_hand(PENCIL) == -1


def test_a_refund_puts_stock_back_and_a_manager_counts_the_shelf(rig):
    reg = login_cashier(rig.register)
    reg.stock.apply_snapshot(snapshot(1, 10), WARN)
    sold = paid_cash_sale(reg, PENCIL, PENCIL, PENCIL)
    assert reg.stock.on_hand(PENCIL) == 7
    assert reg.handle(Refund(sold["receipt_id"], lines={1: 1}, manager_pin="9999")).ok, message(reg)
    reg.wait_idle()
    assert reg.stock.on_hand(PENCIL) == 8
    assert [d[2:] for d in deltas(reg)] == [("sale", -3), ("refund", 1)]

    counted = reg.handle(CountStock(((PENCIL, 5),)))
    assert not counted.ok and counted.message == "A stock count needs a manager's PIN."
    assert not reg.handle(CountStock(((PENCIL, 5),), manager_pin="1111")).ok
    reg.handle(Logout())
    assert reg.login("m1", "9999").ok
    assert not reg.handle(CountStock(((PENCIL, -1),))).ok
    assert not reg.handle(CountStock((("NO-SUCH", 1),))).ok
    flood = reg.handle(CountStock(((PENCIL, 1),) * 201))  # one record, one message: bounded
    assert not flood.ok and flood.message == "Save at most 200 counts at a time."
    counted = reg.handle(CountStock(((PENCIL, 5),)))
    assert counted.ok and counted.message == "Stock count of Pencil HB saved"
    assert reg.stock.on_hand(PENCIL) == 5
    assert [(i.sku, i.stock) for i in reg.search("Pencil HB")] == [(PENCIL, "5 in stock")]  # on item lookup
    info = reg.stock_of(PENCIL)
    assert (info.name, info.on_hand, info.text) == ("Pencil HB", 5, "5 in stock")
    assert reg.stock_of("4006380136052").text == "Not counted yet" and reg.stock_of("nothing") is None
    count = reg.journal.states(STOCK)["000000000003"]["deltas"][0]
    assert (count["kind"], count["qty"], count["basis"]) == ("count", 5, {"R1": 0})
    paid_cash_sale(reg, PENCIL)
    assert reg.stock.on_hand(PENCIL) == 4  # the count replaced the level; the sale after it is taken off


def test_a_power_cut_between_a_receipt_and_its_stock_record_loses_no_delta(rig):
    reg = login_cashier(rig.register)
    reg.stock.apply_snapshot(snapshot(1, 10), WARN)
    paid_cash_sale(reg, PENCIL)
    reg._committer._stock = None  # the power goes after the receipt's fsync, before its stock record's
    lost = paid_cash_sale(reg, PENCIL, PENCIL)
    assert deltas(reg) == [(1, PENCIL, "sale", -1)]

    reg = login_cashier(rig.restart())
    assert deltas(reg) == [(1, PENCIL, "sale", -1), (2, PENCIL, "sale", -2)]  # derived again at start-up
    assert reg.journal.states(STOCK)["000000000002"]["deltas"][0]["ref"] == lost["receipt_id"]
    assert reg.stock.on_hand(PENCIL) == 7
    paid_cash_sale(reg, PENCIL)
    assert deltas(reg)[-1] == (3, PENCIL, "sale", -1)  # and the seqs go on from there


def test_the_index_is_refilled_from_the_journal_when_its_files_are_lost(rig):
    reg = login_cashier(rig.register)
    reg.stock.apply_snapshot(snapshot(1, 10), WARN)
    paid_cash_sale(reg, PENCIL, PENCIL)
    reg.shutdown()
    (rig.data_dir / "stock" / "deltas.bin").write_bytes(b"")  # the index is not fsynced: a power cut can empty it
    (rig.data_dir / "stock" / "state.bin").unlink()
    reg = rig.start()
    assert reg.stock.on_hand(PENCIL) == 8
    assert deltas(reg) == [(1, PENCIL, "sale", -2)]


def test_sigkill_at_random_moments_leaves_every_receipt_with_its_deltas_once_in_seq_order(tmp_path):
    from tests.firmware.register.conftest import RegisterRig
    from tests.support.kill_loop import kill_at_random

    data = tmp_path / "data"
    reported = [int(line) for line in kill_at_random("tests.firmware.register.stock_child", str(data), runs=6,
                                                     seed=17)]
    assert len(reported) >= 6, "the child sold almost nothing before being killed"

    rig = RegisterRig(data)
    reg = rig.start()
    try:
        receipts = list(reg.journal.iter_receipts())
        assert set(reported) <= {r["seq"] for r in receipts}
        found = deltas(reg)
        assert [d[0] for d in found] == list(range(1, len(receipts) + 1))  # one delta a receipt, no gap, no repeat
        refs = [doc["deltas"][0]["ref"] for _key, doc in sorted(reg.journal.states(STOCK).items())]
        assert refs == [r["receipt_id"] for r in receipts]  # in receipt order, each receipt once
        assert [d[3] for d in found] == [-r["lines"][0]["qty"] for r in receipts]
        assert reg.journal.get_state(STOCK_HEAD, "head")["next_seq"] == len(receipts) + 1
    finally:
        rig.stop()
