"""Laybys on the fleet (fleet/layby.py through fleet.accounts.reconcile, docs/layby.md): the open laybys for the
snapshot up to each register's `through`, and the flags: paid past its total, collected or cancelled twice, overdue;
arrival order and re-sends change nothing."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings, strategies as st

from firmware.contract.accounts import AccountsSnapshot, decode_accounts
from firmware.domain import layby as lb
from fleet.accounts import Book, ReceivedReceipt, reconcile, snapshot
from fleet.layby import reconcile_laybys

LINE = lb.LaybyLine("4006380135079", "Coffee beans 500 g", "2", 799, "B", 1598)
OPENED = lb.Layby("LB-S001-R1-1", "C-1001", 1598, 500, date(2026, 12, 24), (LINE,))
ID = OPENED.layby_id


def rc(register: str, seq: int, *entries: dict) -> ReceivedReceipt:
    return ReceivedReceipt("S001", register, seq, tuple(decode_accounts(list(entries))))


def history() -> list[ReceivedReceipt]:
    return [rc("R1", 1, lb.open_entry(OPENED, 500)), rc("R2", 1, lb.payment_entry(ID, 600)),
            rc("R1", 2, lb.payment_entry(ID, 498)), rc("R2", 2, lb.payment_entry(ID, 498))]


def test_the_snapshot_lists_open_laybys_with_what_was_paid_up_to_through():
    result = reconcile(Book(), history()[:2], today=date(2026, 12, 1))
    assert [(x.layby, x.paid, x.total, x.due) for x in result.laybys] == [(ID, 1100, 1598, "2026-12-24")]
    snap = snapshot(result, Book(), version=3, issued_at="2026-12-01T10:00:00Z", currency="EUR")
    again = AccountsSnapshot.model_validate(snap.model_dump(mode="json", exclude_none=True))
    assert again.laybys is not None and again.laybys[0].lines[0].sku == LINE.sku
    assert result.flags == ()
    # a register whose seq 1 is missing: its later movements stay out of the snapshot (the register adds them)
    gap = [rc("R1", 1, lb.open_entry(OPENED, 500)), rc("R2", 2, lb.payment_entry(ID, 600))]
    assert [x.paid for x in reconcile(Book(), gap).laybys] == [500]
    # the opening receipt itself beyond a gap: not listed yet
    assert reconcile(Book(), [rc("R1", 2, lb.open_entry(OPENED, 500))]).laybys == ()


def test_paid_on_two_registers_past_its_total_is_flagged_naming_both():
    result = reconcile(Book(), history(), today=date(2026, 12, 1))
    [flag] = result.flags
    assert (flag.kind, flag.account, flag.balance, flag.limit, flag.registers) == (
        "layby_overpaid", ID, 2096, 1598, ("S001:R1", "S001:R2"))
    assert flag.describe(lambda a: f"€{a / 100:.2f}") == (
        f"layby {ID} paid past its total: €20.96 paid of €15.98 (by S001:R1, S001:R2)")


def test_collected_twice_and_overdue_are_flagged_and_a_closed_layby_leaves_the_snapshot():
    paid = [rc("R1", 1, lb.open_entry(OPENED, 500)), rc("R1", 2, lb.payment_entry(ID, 1098))]
    twice = paid + [rc("R1", 3, lb.collect_entry(ID, 1598)), rc("R2", 1, lb.collect_entry(ID, 1598))]
    result = reconcile(Book(), twice, today=date(2027, 2, 1))
    assert [(f.kind, f.registers) for f in result.flags] == [("layby_closed_twice", ("S001:R1", "S001:R2"))]
    assert result.laybys == ()
    late = reconcile(Book(), paid, today=date(2026, 12, 25))
    assert [(f.kind, f.account) for f in late.flags] == [("layby_overdue", ID)]
    assert reconcile(Book(), paid, today=date(2026, 12, 24)).flags == ()  # due today is not overdue
    cancelled = paid + [rc("R1", 3, lb.cancel_entry(ID, 1438, 160))]
    assert reconcile(Book(), cancelled, today=date(2027, 2, 1)).flags == ()


def test_instalments_whose_opening_has_not_arrived_are_not_judged():
    assert reconcile_laybys([rc("R2", 1, lb.payment_entry(ID, 10**6))], {("S001", "R2"): 1}) == ([], [])


@given(st.permutations(list(range(4))), st.lists(st.integers(0, 3), max_size=4))
@settings(max_examples=60, deadline=None)
def test_arrival_order_and_re_sends_change_neither_the_snapshot_nor_the_flags(order, resent):
    receipts = history()
    shuffled = [receipts[i] for i in order] + [receipts[i] for i in resent]
    want = reconcile(Book(), receipts, today=date(2026, 12, 1))
    got = reconcile(Book(), shuffled, today=date(2026, 12, 1))
    assert (got.laybys, got.flags) == (want.laybys, want.flags)
