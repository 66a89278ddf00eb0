"""Layby attacked (firmware/domain/layby.py, firmware/register/core/handlers/layby.py, fleet/layby.py;
docs/layby.md): paying past the balance, 0 or less, collecting with a balance left, cancelling twice, a layby id
of another store, a snapshot listing a layby paid past its total, refunds of a collected layby's goods and of the
money paid in, the cancel fee's rounding. Each defence holds."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from firmware.domain import layby as lb
from firmware.register.commands import CancelLayby, CollectLayby, NewSale, PayLayby, Refund
from tests.firmware.register.conftest import RegisterRig, login_cashier
from tests.firmware.register.test_register_layby import COFFEE, committed, layby_of, open_layby, snapshot

LINE = {"sku": COFFEE, "name": "Coffee beans 500 g", "qty": 2, "unit_price": 799, "discount": 0, "tax_code": "B",
        "amount": 1598}


@pytest.fixture
def reg(tmp_path):
    rig = RegisterRig(tmp_path / "data", layby={"cancel_fee_percent": 10, "cancel_fee_fixed": 0})
    yield login_cashier(rig.start())
    rig.stop()


@pytest.mark.slow  # a real register and journal
def test_instalments_past_the_balance_or_not_above_zero_and_an_early_collect_are_refused(reg):
    opening = open_layby(reg, deposit=500)
    layby_id = f"LB-DEMO-R1-{opening['seq']}"
    for amount, words in ((1099, "has €10.98 left to pay; take at most that"), (0, "must be more than zero"),
                          (-500, "must be more than zero"), (10**13, "is too large")):
        out = reg.handle(PayLayby(layby_id, amount))
        assert not out.ok and words in out.message, (amount, out.message)
    out = reg.handle(CollectLayby(layby_id))
    assert not out.ok and "still has €10.98 to pay" in out.message
    assert reg.view().phase != "tender" and layby_of(reg, layby_id).paid == 500  # nothing taken, nothing changed


@pytest.mark.slow  # a real register and journal
def test_a_layby_of_another_store_is_unknown_and_a_cancel_twice_is_refused_the_second_time(reg):
    for foreign in ("LB-S999-R1-1", "LB-DEMO-R1-999999999999", "  "):
        out = reg.handle(PayLayby(foreign, 100))
        assert not out.ok and ("No layby" in out.message or "Type or scan" in out.message), out.message
    opening = open_layby(reg, deposit=999, qty=2)
    layby_id = f"LB-DEMO-R1-{opening['seq']}"
    out = reg.handle(CancelLayby(layby_id, "cash", manager_pin="9999"))
    assert out.ok and out.message == f"Cancelling layby {layby_id}: give back €9.00 (€0.99 fee kept)"  # fee down
    cancelled = committed(reg)
    assert {"type": "layby_cancel", "layby": layby_id, "refund": 900, "fee": 99} in cancelled["accounts"]
    out = reg.handle(CancelLayby(layby_id, "cash", manager_pin="9999"))
    assert not out.ok and out.message == f"Layby {layby_id} was cancelled"
    assert not reg.handle(PayLayby(layby_id, 1)).ok and not reg.handle(CollectLayby(layby_id)).ok
    # the money paid in and paid back is not refunded at the till: the layby's policy applies
    for receipt in (opening, cancelled):
        out = reg.handle(Refund(receipt["receipt_id"], {1: 1}, "cash", manager_pin="9999"))
        assert not out.ok and "cancel the layby" in out.message


@pytest.mark.slow  # a real register and journal
def test_a_snapshot_paid_past_its_total_collects_for_the_total_and_its_goods_refund_never_to_layby(reg):
    over = {"layby": "LB-DEMO-R2-17", "customer": "Jane Miller", "total": 1598, "paid": 5000, "due": "2027-01-15",
            "lines": [LINE]}
    snapshot(reg, 1, [{"store": "DEMO", "register": "R2", "seq": 17}], [over])
    assert layby_of(reg, "jane").balance == 0
    out = reg.handle(PayLayby("LB-DEMO-R2-17", 1))
    assert not out.ok and "paid in full" in out.message
    assert reg.handle(CollectLayby("LB-DEMO-R2-17")).ok
    sale = committed(reg)
    assert sale["tenders"] == [{"type": "layby", "amount": 1598, "change": 0, "reference": "LB-DEMO-R2-17"}]
    out = reg.handle(Refund(sale["receipt_id"], {1: 1}, "layby", manager_pin="9999"))
    assert not out.ok and "Unknown tender 'layby'" in out.message
    assert reg.handle(Refund(sale["receipt_id"], {1: 2}, "cash", manager_pin="9999")).ok
    back = committed(reg)
    assert back["tenders"] == [{"type": "cash", "amount": 1598, "change": 0}]
    out = reg.handle(Refund(sale["receipt_id"], {1: 1}, "cash", manager_pin="9999"))
    assert not out.ok  # the goods came back once; not twice
    assert reg.handle(NewSale()).ok


@given(paid=st.integers(0, 10**12), percent=st.integers(0, 100), fixed=st.integers(0, 10**12))
def test_the_cancel_fee_is_rounded_down_and_never_more_than_was_paid(paid, percent, fixed):
    refund, fee = lb.cancel_terms(paid, lb.LaybyPolicy(fee_percent=percent, fee_fixed=fixed))
    assert refund + fee == paid and 0 <= fee <= paid and refund >= 0
    assert fee == min(paid, fixed + (paid * percent) // 100)
