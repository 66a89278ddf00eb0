"""A new customer made on the till while offline and put on a sale, in a real window, by touch (issue 16, item 1).

`kassa demo` runs as its own process on a real X server (Xvfb, 800x480) with no broker. xdotool taps the buttons
where the app says it drew them (KASSA_UI_MAP). Anna scans a pencil, taps Customer, types "anna" (nobody yet), taps
New customer, types the name, phone and card number on their keyboards, ticks e-mail consent, saves; the customer is
listed, a tap puts her on the sale, the sell screen shows her name; the sale is paid. Then the receipt names her card
and the edit log holds the create, fsync'ed. Screenshots go to screenshots-out/customers/.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from firmware.clock import ManualClock
from firmware.journal import Journal
from tests.support.xdriver import Driver
from tests.test_cashier_shift import Scanner, log_in_anna, offline_demo

pytestmark = pytest.mark.slow  # a real X server and the demo in its own process

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "screenshots-out" / "customers"
PENCIL = "4006381333931"


def type_on(drv: Driver, text: str) -> None:
    for ch in text:
        drv.tap("kbd:space" if ch == " " else f"kbd:{ch}")


def test_a_new_customer_is_made_offline_and_put_on_the_sale_by_touch(tmp_path):
    with offline_demo(tmp_path, SHOTS) as till:
        data, ui, drv, demo = till.data, till.ui, till.drv, till.demo
        scanner = Scanner(demo.scanner_path())
        log_in_anna(till)
        scanner.scan(PENCIL)
        ui.wait(lambda d: d["due"] == 129, "the pencil in the cart")

        drv.tap("customer")
        ui.wait(lambda d: d["dialogs"] and d["dialogs"][-1] == "CustomerDialog", "the customer panel")
        type_on(drv, "anna")
        drv.shot("nobody-yet")
        drv.tap("customers:new")
        ui.wait(lambda d: d["dialogs"][-1] == "CustomerForm", "the new-customer form")
        drv.tap("form:name")
        ui.wait(lambda d: d["dialogs"][-1] == "NameEntry", "the name keyboard")
        type_on(drv, " schmidt")
        drv.shot("name-typed")
        drv.tap("kbd:ok")
        drv.tap("form:phone")
        ui.wait(lambda d: d["dialogs"][-1] == "TextEntryDialog", "the phone keyboard")
        type_on(drv, "0151 2345678")
        drv.tap("kbd:ok")
        drv.tap("form:code")
        ui.wait(lambda d: d["dialogs"][-1] == "TextEntryDialog", "the card-number keyboard")
        type_on(drv, "CARD1001")
        drv.tap("kbd:ok")
        drv.tap("form:consent_email")
        drv.shot("form-filled")
        drv.tap("form:save")
        doc = ui.wait(lambda d: d["dialogs"][-1] == "CustomerDialog"
                      and any(b.startswith("customer:") for b in d["buttons"]), "the new customer listed")
        drv.shot("listed")
        pick = next(b for b in doc["buttons"] if b.startswith("customer:"))
        drv.tap(pick)
        ui.wait(lambda d: d["screen"] == "sell" and not d["dialogs"], "back on the sell screen")
        drv.shot("on-the-sale")
        drv.tap("pay")
        drv.tap("exact")
        ui.wait(lambda d: d["screen"] == "done", "the sale finished")
        drv.tap("new_sale")

    lines = (data / "customer-edits.jsonl").read_text().splitlines()
    edits = [json.loads(line) for line in lines[1:]]
    assert len(edits) == 1 and edits[0]["create"]
    changes = edits[0]["changes"]
    assert (changes["name"], changes["phone"], changes["code"], changes["consent_email"], changes["consent_sms"]) == (
        "Anna Schmidt", "0151 2345678", "CARD1001", True, False)
    journal = Journal.open(data, store="DEMO", register="R1", clock=ManualClock())
    try:
        sold = journal.get_seq(1)
    finally:
        journal.close()
    assert sold["customer_code"] == "CARD1001"
