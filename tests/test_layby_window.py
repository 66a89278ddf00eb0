"""A layby from open to collected, offline, in a real window, by touch (issue 17, item 4; docs/layby.md).

`kassa demo` runs as its own process on a real X server (Xvfb, 800x480) with no broker. xdotool taps the buttons
where the app says it drew them (KASSA_UI_MAP). Anna scans two pencils, taps Layby, New layby from cart, puts a new
customer on it, types a deposit of 1.00 and opens the layby; the deposit is paid in cash. The layby is listed with
what is left; she taps Pay (the balance is offered), pays it exactly; the layby now offers Collect; a tap sells the
pencils, paid by the layby. Then the journal holds the three receipts with their layby movements. Screenshots go to
screenshots-out/layby/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.clock import ManualClock
from firmware.journal import Journal
from tests.support.xdriver import Driver
from tests.test_cashier_shift import Scanner, log_in_anna, offline_demo

pytestmark = pytest.mark.slow  # a real X server and the demo in its own process

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "screenshots-out" / "layby"
PENCIL = "4006381333931"  # 1.29
LAYBY = "LB-DEMO-R1-1"


def type_on(drv: Driver, text: str) -> None:
    for ch in text:
        drv.tap("kbd:space" if ch == " " else f"kbd:{ch}")


def top(doc: dict) -> str:
    return doc["dialogs"][-1] if doc["dialogs"] else ""


def test_a_layby_is_opened_paid_off_and_collected_offline_by_touch(tmp_path):
    with offline_demo(tmp_path, SHOTS) as till:
        data, ui, drv, demo = till.data, till.ui, till.drv, till.demo
        scanner = Scanner(demo.scanner_path())
        log_in_anna(till)
        scanner.scan(PENCIL)
        scanner.scan(PENCIL)
        ui.wait(lambda d: d["due"] == 258, "two pencils in the cart")

        drv.tap("layby")
        ui.wait(lambda d: top(d) == "LaybyDialog", "the layby list")
        drv.shot("no-laybys-yet")
        drv.tap("layby:new")
        ui.wait(lambda d: top(d) == "NewLaybyDialog", "the new layby form")
        drv.tap("layby-open:ok")  # no deposit typed yet: said on the form, nothing opened
        drv.tap("layby-open:customer")
        ui.wait(lambda d: top(d) == "CustomerDialog", "the customer panel")
        type_on(drv, "lee")
        drv.tap("customers:new")
        ui.wait(lambda d: top(d) == "CustomerForm", "the new-customer form")
        drv.tap("form:name")
        ui.wait(lambda d: top(d) == "NameEntry", "the name keyboard")
        type_on(drv, " chen")
        drv.tap("kbd:ok")
        drv.tap("form:code")
        ui.wait(lambda d: top(d) == "TextEntryDialog", "the card-number keyboard")
        type_on(drv, "CARD2002")
        drv.tap("kbd:ok")
        drv.tap("form:save")
        doc = ui.wait(lambda d: top(d) == "CustomerDialog" and any(b.startswith("customer:") for b in d["buttons"]),
                      "the new customer listed")
        drv.tap(next(b for b in doc["buttons"] if b.startswith("customer:")))
        ui.wait(lambda d: top(d) == "NewLaybyDialog", "back on the new layby form")
        drv.tap("layby-open:deposit")
        ui.wait(lambda d: top(d) == "TextEntryDialog", "the deposit keypad")
        type_on(drv, "1.00")
        drv.shot("deposit-typed")
        drv.tap("kbd:ok")
        ui.wait(lambda d: top(d) == "NewLaybyDialog", "the form with its deposit")
        drv.shot("new-layby")
        drv.tap("layby-open:ok")
        ui.wait(lambda d: d["screen"] == "tender" and not d["dialogs"] and d["due"] == 100, "the deposit to pay")
        drv.shot("deposit-due")
        drv.tap("exact")
        ui.wait(lambda d: d["screen"] == "done", "the deposit saved")
        drv.tap("new_sale")

        drv.tap("layby")
        ui.wait(lambda d: f"layby-pay:{LAYBY}" in d["buttons"], "the layby listed with Pay")
        drv.shot("listed")
        drv.tap(f"layby-pay:{LAYBY}")
        ui.wait(lambda d: top(d) == "TextEntryDialog", "the instalment keypad, the balance offered")
        drv.shot("instalment")
        drv.tap("kbd:ok")
        ui.wait(lambda d: d["screen"] == "tender" and not d["dialogs"] and d["due"] == 158, "the instalment to pay")
        drv.tap("exact")
        ui.wait(lambda d: d["screen"] == "done", "the instalment saved")
        drv.tap("new_sale")

        drv.tap("layby")
        ui.wait(lambda d: f"layby-collect:{LAYBY}" in d["buttons"], "the paid-off layby offering Collect")
        drv.shot("ready-to-collect")
        drv.tap(f"layby-collect:{LAYBY}")
        ui.wait(lambda d: d["screen"] == "done" and not d["dialogs"], "the goods sold, paid by the layby")
        drv.shot("collected")
        drv.tap("new_sale")

    journal = Journal.open(data, store="DEMO", register="R1", clock=ManualClock())
    try:
        receipts = [journal.get_seq(seq) for seq in (1, 2, 3)]
        assert journal.get_seq(4) is None
    finally:
        journal.close()

    def moved(doc: dict) -> list[dict]:
        return [e for e in doc.get("accounts") or [] if e["type"].startswith("layby")]

    opening, instalment, collected = receipts
    [entry] = moved(opening)
    assert (entry["type"], entry["layby"], entry["customer"], entry["total"], entry["deposit"]) == (
        "layby_open", LAYBY, "CARD2002", 258, 100)
    assert [(ln["sku"], ln["qty"]) for ln in entry["lines"]] == [(PENCIL, 1), (PENCIL, 1)] or \
        [(ln["sku"], ln["qty"]) for ln in entry["lines"]] == [(PENCIL, 2)]
    assert opening["tenders"][0]["type"] == "cash" and opening["totals"]["total"] == 100
    assert moved(instalment) == [{"type": "layby_payment", "layby": LAYBY, "amount": 158, "total": 258,
                                  "balance": 0}]
    assert moved(collected) == [{"type": "layby_collect", "layby": LAYBY, "paid": 258}]
    assert {ln["sku"] for ln in collected["lines"]} == {PENCIL} and collected["totals"]["total"] == 258
    assert collected["tenders"] == [{"type": "layby", "amount": 258, "change": 0, "reference": LAYBY}]
