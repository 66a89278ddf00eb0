"""Layby on a real register and journal (docs/layby.md): open from the cart with a deposit, instalments, collect,
cancel under the refund policy, all offline; each step a receipt the contract accepts; what the register knows
survives a restart; a layby opened on another register is recalled from the fleet's snapshot."""

from __future__ import annotations

from datetime import timedelta

import pytest

from firmware.clock import iso_utc
from firmware.contract import Receipt
from firmware.contract.accounts import AccountsSnapshot, decode_accounts
from firmware.domain.layby import CANCELLED, COLLECTED, OPEN
from firmware.domain.receipt_model import Receipt as PrintedReceipt
from firmware.printout import receipt_blocks
from firmware.register.commands import (
    BackToCart,
    CancelLayby,
    CollectLayby,
    FindLaybys,
    NewSale,
    OpenLayby,
    Park,
    PayLayby,
    Refund,
    SetCustomer,
    SetQty,
    XReport,
)
from firmware.register.core.events import AccountsReceived
from tests.firmware.register.conftest import RegisterRig, login_cashier

COFFEE = "4006380135079"  # 7.99, tax B


@pytest.fixture
def rig(tmp_path):
    r = RegisterRig(tmp_path / "data")
    r.start()
    yield r
    r.stop()


def committed(reg) -> dict:
    """Wait for the commit; the receipt as journaled, checked against the contract; then a new cart."""
    reg.wait_idle()
    view = reg.view()
    assert view.phase == "done", view.message
    doc = view.last_receipt.to_doc()
    Receipt.model_validate(doc)
    decode_accounts(doc.get("accounts"))
    assert reg.handle(NewSale()).ok
    return doc


def printed(doc: dict) -> list[str]:
    """The receipt's printed lines (42 columns), without the header, as text."""
    return [b.text for b in receipt_blocks(PrintedReceipt.from_doc(doc), [], 42) if hasattr(b, "text")]


def layby_of(reg, text: str):
    out = reg.handle(FindLaybys(text))
    assert out.ok and len(out.data) == 1, out.message
    return out.data[0]


def open_layby(reg, deposit: int = 500, qty: int = 2, customer: str = "C-1001", **kw) -> dict:
    assert reg.scan(COFFEE).ok
    if qty != 1:
        assert reg.handle(SetQty(1, qty)).ok
    assert reg.handle(SetCustomer(customer)).ok
    out = reg.handle(OpenLayby(deposit, **kw))
    assert out.ok, out.message
    assert reg.tender("cash").ok
    return committed(reg)


def test_a_whole_layby_open_instalments_collect_each_a_receipt_and_known_after_a_restart(rig):
    reg = login_cashier(rig.register)
    opening = open_layby(reg, deposit=500)
    [entry] = [e for e in opening["accounts"] if e["type"].startswith("layby")]
    layby_id = f"LB-DEMO-R1-{opening['seq']}"  # named after its opening receipt
    assert entry == {"type": "layby_open", "layby": layby_id, "customer": "C-1001", "total": 1598, "deposit": 500,
                     "due": (rig.clock.now().date() + timedelta(days=30)).isoformat(),
                     "lines": [{"sku": COFFEE, "name": "Coffee beans 500 g", "qty": 2, "unit_price": 799,
                                "discount": 0, "tax_code": "B", "amount": 1598}]}
    # the deposit is money held, not a sale of the goods: one untaxed line, no points earned on it
    assert [(ln["sku"], ln["tax_code"], ln["amount"]) for ln in opening["lines"]] == [("LAYBY", "LB", 500)]
    assert opening["totals"]["tax"] == 0
    assert not [e for e in opening["accounts"] if e["type"] == "loyalty_earn"]
    paper = printed(opening)
    assert f"LAYBY {layby_id}" in paper
    for words, amount in (("2 x Coffee beans 500 g", "€15.98"), ("Deposit paid", "€5.00"),
                          ("Balance to pay", "€10.98")):
        assert any(t.strip().startswith(words) and t.endswith(amount) for t in paper), (words, paper)

    out = reg.handle(CollectLayby(layby_id))
    assert not out.ok and out.message == f"Layby {layby_id} still has €10.98 to pay: take the last instalment first"
    out = reg.handle(PayLayby(layby_id, 2000))
    assert not out.ok and "has €10.98 left to pay; take at most that" in out.message
    assert reg.handle(PayLayby(layby_id, 600)).ok
    assert not reg.handle(SetQty(1, 2)).ok  # the instalment line is not edited in the cart, nor parked
    assert reg.handle(BackToCart()).ok
    assert reg.handle(Park()).message == "A layby payment is taken now, not parked: pay it, or void its line."
    assert reg.tender("card").ok
    instalment = committed(reg)
    assert [e for e in instalment["accounts"] if e["type"] == "layby_payment"] == [
        {"type": "layby_payment", "layby": layby_id, "amount": 600, "total": 1598, "balance": 498}]
    assert layby_of(reg, layby_id).paid == 1100
    assert any(t.startswith("Balance to pay") and t.endswith("€4.98") for t in printed(instalment))

    reg = rig.restart()  # what the register knows comes back from its journal
    login_cashier(reg)
    seen = layby_of(reg, "c-1001")
    assert (seen.layby_id, seen.paid, seen.balance, seen.state) == (layby_id, 1100, 498, OPEN)
    assert reg.handle(PayLayby(layby_id)).ok  # None: all that is left
    assert reg.tender("cash").ok
    committed(reg)

    out = reg.handle(CollectLayby(layby_id))
    assert out.ok, out.message
    sale = committed(reg)
    # the goods leave now: the sale of the reserved lines, taxed as goods, paid by what the layby held
    assert [(ln["sku"], ln["qty"], ln["amount"]) for ln in sale["lines"]] == [(COFFEE, 2, 1598)]
    assert sale["totals"] == {"subtotal": 1598, "tax": 105, "total": 1598, "rounding": 0}
    assert sale["tenders"] == [{"type": "layby", "amount": 1598, "change": 0, "reference": layby_id}]
    assert {"type": "layby_collect", "layby": layby_id, "paid": 1598} in sale["accounts"]
    assert layby_of(reg, layby_id).state == COLLECTED
    assert reg.handle(CollectLayby(layby_id)).message == f"Layby {layby_id} was collected already"
    assert not reg.handle(PayLayby(layby_id, 1)).ok
    # the deposit is money held: not refunded at the till (cancel the layby); the collected goods are, like a sale
    out = reg.handle(Refund(opening["receipt_id"], {1: 1}, "cash", manager_pin="9999"))
    assert not out.ok and "cancel the layby from the Layby screen" in out.message
    out = reg.handle(Refund(sale["receipt_id"], {1: 1}, "cash", manager_pin="9999"))
    assert out.ok, out.message
    back = committed(reg)
    assert back["kind"] == "refund" and back["tenders"] == [{"type": "cash", "amount": 799, "change": 0}]
    report = reg.handle(XReport())
    assert report.ok, report.message
    # the X report: the deposits held under LB at 0, the goods under B, the collected sale paid by `layby`
    assert {t["type"]: t["amount"] for t in report.data["tenders"]}["layby"] == 1598
    assert {t["tax_code"]: t["net"] for t in report.data["taxes"]}["LB"] == 1598


def test_cancel_pays_back_what_was_paid_less_the_fee_by_the_policy_with_a_manager(tmp_path):
    rig = RegisterRig(tmp_path / "data", layby={"cancel_fee_percent": 10, "cancel_fee_fixed": 100,
                                                "refund_tenders": ["cash", "on_account"]})
    reg = login_cashier(rig.start())
    try:
        opening = open_layby(reg, deposit=1000, qty=3)
        layby_id = f"LB-DEMO-R1-{opening['seq']}"
        assert reg.handle(PayLayby(layby_id, 500)).ok
        assert reg.tender("cash").ok
        committed(reg)
        out = reg.handle(CancelLayby(layby_id, "card"))
        assert not out.ok and out.message == "Layby money is paid back by cash or on account (shop policy)."
        out = reg.handle(CancelLayby(layby_id, "cash"))
        assert not out.ok and out.message == "Cancelling a layby needs a manager's PIN."
        out = reg.handle(CancelLayby(layby_id, "cash", manager_pin="9999"))
        assert out.ok and out.message == f"Cancelling layby {layby_id}: give back €12.50 (€2.50 fee kept)"
        refund = committed(reg)
        assert refund["kind"] == "refund" and refund["approved_by"] == "m1"
        assert refund["tenders"] == [{"type": "cash", "amount": 1250, "change": 0}]
        assert {"type": "layby_cancel", "layby": layby_id, "refund": 1250, "fee": 250} in refund["accounts"]
        assert layby_of(reg, layby_id).state == CANCELLED
        assert not reg.handle(CollectLayby(layby_id)).ok
        assert reg.handle(CancelLayby(layby_id, "cash", manager_pin="9999")).message == \
            f"Layby {layby_id} was cancelled"
        # store credit: a second layby cancelled onto the customer's account (the policy allows on_account)
        second = open_layby(reg, deposit=1000, qty=3)
        other = f"LB-DEMO-R1-{second['seq']}"
        assert reg.handle(CancelLayby(other, "on_account", manager_pin="9999")).ok
        credit = committed(reg)
        assert credit["tenders"] == [{"type": "on_account", "amount": 800, "change": 0, "reference": "C-1001"}]
        assert {"type": "on_account_credit", "customer": "C-1001", "amount": 800} in credit["accounts"]
    finally:
        rig.stop()


def test_a_layby_is_refused_in_the_cashiers_words_without_losing_the_cart(rig):
    reg = login_cashier(rig.register)
    assert reg.scan(COFFEE).ok
    assert reg.handle(OpenLayby(500)).message == "A layby needs a customer: enter or scan the customer first."
    assert reg.handle(SetCustomer("C-1001")).ok
    assert reg.handle(OpenLayby(50)).message == "A layby needs a deposit of at least €0.80 (10% of €7.99)"
    assert "type the due date as YYYY-MM-DD" in reg.handle(OpenLayby(500, due="next week")).message
    assert "at most 90 days" in reg.handle(OpenLayby(500, due=iso_utc(rig.clock.now() + timedelta(days=120))[:10]
                                                     )).message
    view = reg.view()
    assert view.phase == "sell" and [ln.sku for ln in view.lines] == [COFFEE]  # the cart is still there
    assert reg.handle(PayLayby("LB-DEMO-R9-4", 100)).message.startswith("Finish or park the open cart first")
    assert reg.handle(NewSale()).ok
    assert reg.handle(PayLayby("LB-DEMO-R9-4", 100)).message.startswith("No layby LB-DEMO-R9-4 on this register")


def snapshot(reg, version: int, through: list[dict], laybys: list[dict]) -> None:
    doc = {"version": version, "issued_at": iso_utc(reg.clock.now()), "currency": "EUR", "through": through,
           "laybys": laybys}
    AccountsSnapshot.model_validate(doc)
    reg.events.put(AccountsReceived(doc))
    reg.pump()


def test_a_layby_of_another_register_is_recalled_from_the_snapshot_and_nothing_counts_twice(rig):
    reg = login_cashier(rig.register)
    other = {"layby": "LB-DEMO-R2-17", "customer": "Jane Miller", "total": 5000, "paid": 1000, "due": "2027-01-15",
             "lines": [{"sku": COFFEE, "name": "Coffee beans 500 g", "qty": 6, "unit_price": 799, "discount": 0,
                        "tax_code": "B", "amount": 4794}]}
    assert reg.handle(FindLaybys("jane")).data == ()
    snapshot(reg, 1, [{"store": "DEMO", "register": "R2", "seq": 17}], [other])
    assert layby_of(reg, "jane").paid == 1000
    assert reg.handle(PayLayby("LB-DEMO-R2-17", 1500)).ok
    assert reg.tender("cash").ok
    paid_here = committed(reg)
    assert layby_of(reg, "jane").paid == 2500  # snapshot + this register's instalment since
    # the fleet's next snapshot includes the instalment (through this register's seq): counted once, not twice
    snapshot(reg, 2, [{"store": "DEMO", "register": "R1", "seq": paid_here["seq"]},
                      {"store": "DEMO", "register": "R2", "seq": 17}], [{**other, "paid": 2500}])
    assert layby_of(reg, "jane").paid == 2500
    reg = rig.restart()  # the snapshot is kept; the receipt it includes is not read again
    login_cashier(reg)
    assert layby_of(reg, "jane").paid == 2500


@pytest.mark.slow
def test_a_sigkill_during_an_instalment_loses_nothing_saved_and_doubles_nothing_then_the_layby_is_collected(
        tmp_path):
    """The register taking instalments is SIGKILLed again and again, right as an instalment is being saved; after
    each restart the layby's paid-in sum is exactly deposit + the instalments in the journal, every instalment the
    register said was saved is there once, and the layby is then paid off and collected."""
    import os
    import random
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from tests.firmware.register.layby_child import CUSTOMER, DEPOSIT, QTY, STEP

    root = Path(__file__).resolve().parents[3]
    data = tmp_path / "data"
    rng = random.Random(17)
    reported: list[int] = []
    kills_while_paying = 0
    layby_id = ""
    for _ in range(6):
        child = subprocess.Popen([sys.executable, "-m", "tests.firmware.register.layby_child", str(data)], cwd=root,
                                 stdout=subprocess.PIPE, text=True,
                                 env={**os.environ, "GPIOZERO_PIN_FACTORY": "mock"})
        word, layby_id = child.stdout.readline().split()
        assert word == "ready"
        target = rng.randint(3, 30)  # let some instalments through, then kill as one is being saved
        paying = 0
        while paying < target:
            line = child.stdout.readline().strip()
            if line == "paying":
                paying += 1
            elif line:
                reported.append(int(line))
        time.sleep(rng.uniform(0, 0.004))
        os.kill(child.pid, signal.SIGKILL)
        out, _ = child.communicate(timeout=10)
        kills_while_paying += 1
        reported += [int(x) for x in out.split() if x.isdigit()]
    assert len(reported) >= 12 and kills_while_paying == 6
    rig = RegisterRig(data)
    reg = rig.start()
    try:
        receipts = list(reg.journal.receipts(from_seq=1))
        assert [r.seq for r in receipts] == list(range(1, len(receipts) + 1))  # no hole, no torn receipt left
        payments = [r.seq for r in receipts for e in r.extra.get("accounts") or [] if e["type"] == "layby_payment"]
        assert set(reported) <= set(payments)  # every instalment the register said was saved is there
        assert len(payments) == len(set(payments))
        assert len(payments) - len(reported) <= 6  # at most the one in flight at each kill more
        login_cashier(reg)
        layby = layby_of(reg, CUSTOMER)
        assert layby.layby_id == layby_id
        assert layby.paid == DEPOSIT + STEP * len(payments)  # each saved instalment counted exactly once
        assert layby.total == QTY * 799
        assert reg.handle(PayLayby(layby_id)).ok  # the rest, then the goods leave
        assert reg.tender("card").ok
        committed(reg)
        assert reg.handle(CollectLayby(layby_id)).ok
        sale = committed(reg)
        assert sale["tenders"] == [{"type": "layby", "amount": QTY * 799, "change": 0, "reference": layby_id}]
        assert layby_of(reg, layby_id).state == COLLECTED
    finally:
        rig.stop()
