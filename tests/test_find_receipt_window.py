"""Find a past sale by its amount and e-mail its receipt, in a real window, by touch (issue 17, "Digital receipts").

`kassa demo` runs as its own process on a real X server (Xvfb, 800x480) with no broker (the till is offline, as a
shop's often is). The test touches it only as a shop would: xdotool clicks on the buttons where the app says it drew
them (KASSA_UI_MAP, ui/cli.py) and barcodes written to the simulated scanner's pty. Anna sells three times; the
manager opens Receipts -> Find a receipt, types the second sale's amount on the money keypad, taps the one receipt
found, sees it as it printed, taps E-mail, types an address the rule refuses (said at once, and OK keeps the dialog
up), completes it, sends. Then the journal holds exactly one mail request, for that receipt and that address.
Every step leaves a screenshot in screenshots-out/find-receipt/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.clock import ManualClock
from firmware.journal import Journal
from tests.support.xdriver import Driver, UiMap
from tests.test_cashier_shift import Scanner, log_in_anna, manager_pin, offline_demo

pytestmark = pytest.mark.slow  # a real X server and the demo in its own process: ~30 s

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "screenshots-out" / "find-receipt"
PENCIL, MILK, BREAD = "4006381333931", "4006380134799", "4006380134935"


def sell(drv: Driver, ui: UiMap, scanner: Scanner, codes: tuple[str, ...], due: int) -> None:
    """Scan the codes, Pay, Exact (cash), New sale."""
    ui.wait(lambda d: d["screen"] == "sell" and d["lines"] == 0, "an empty cart")
    for code in codes:
        scanner.scan(code)
    ui.wait(lambda d: d["due"] == due, f"{codes} in the cart")
    drv.tap("pay")
    drv.tap("exact")
    ui.wait(lambda d: d["screen"] == "done", "the sale finished")
    drv.tap("new_sale")


def listed(doc: dict) -> set[str]:
    return {b for b in doc.get("buttons", {}) if b.startswith("found:") and b[6:].isdigit()}


def test_find_a_sale_by_its_amount_and_e_mail_the_receipt_by_touch(tmp_path):
    with offline_demo(tmp_path, SHOTS) as till:
        data, ui, drv, demo = till.data, till.ui, till.drv, till.demo
        scanner = Scanner(demo.scanner_path())
        log_in_anna(till)

        sell(drv, ui, scanner, (PENCIL,), 129)
        sell(drv, ui, scanner, (MILK, BREAD), 119 + 289)  # €4.08: the one to find
        sell(drv, ui, scanner, (PENCIL,), 129)

        # ---- the manager's Receipts page -> Find a receipt: today's, newest first ---------------------------
        ui.wait(lambda d: d["screen"] == "sell" and d["lines"] == 0, "an empty cart")
        drv.tap("manager")
        manager_pin(drv)
        ui.wait(lambda d: d["screen"] == "manager" and not d["dialogs"], "the manager screen")
        drv.tap("reprint")
        ui.wait(lambda d: "find_receipt" in d["buttons"], "the Receipts page")
        drv.shot("receipts-page")
        drv.tap("find_receipt")
        ui.wait(lambda d: listed(d) == {"found:1", "found:2", "found:3"}, "today's three receipts")
        drv.shot("find-today")

        # ---- by amount, on the money keypad ---------------------------------------------------------------
        drv.tap("find:amount")
        ui.wait(lambda d: d["dialogs"][-1] == "MoneyDialog", "the amount keypad")
        drv.tap_keys("dlg", "4.08")
        drv.shot("amount-typed")
        drv.tap("dlg:ok")
        ui.wait(lambda d: d["dialogs"][-1] == "FindReceiptDialog" and listed(d) == {"found:2"}, "the €4.08 sale")
        drv.shot("found-by-amount")

        # ---- the receipt as it printed ---------------------------------------------------------------------
        drv.tap("found:2")
        ui.wait(lambda d: d["dialogs"][-1] == "ReceiptDialog", "the receipt")
        drv.shot("receipt")

        # ---- E-mail: a bad address said at once and refused, then the right one sent ---------------------------
        drv.tap("receipt:email")
        ui.wait(lambda d: d["dialogs"][-1] == "TextEntryDialog", "the address keyboard")
        drv.tap_keys("kbd", "anna@example")
        drv.shot("email-bad-address")
        drv.tap("kbd:ok")
        assert ui.read()["dialogs"][-1] == "TextEntryDialog"  # the rule refused it: still asking
        drv.tap("kbd:.com")
        drv.shot("email-good-address")
        drv.tap("kbd:ok")
        doc = ui.wait(lambda d: d["dialogs"][-1] == "ReceiptDialog" and "fleet has the receipt" in (d["toast"] or ""),
                      "the e-mail queued")
        drv.shot("email-queued")
        assert "will be e-mailed to anna@example.com once the register is back online" in doc["toast"]

        drv.tap("receipt:back")
        drv.tap("find:close")
        drv.tap("mgr_back")
        ui.wait(lambda d: d["screen"] == "sell" and not d["dialogs"], "back on the sell screen")

    journal = Journal.open(data, store="DEMO", register="R1", clock=ManualClock())
    try:
        requests = list(journal.states("mail_request").values())
        sold = journal.get_seq(2)
    finally:
        journal.close()
    assert [(r["receipt_id"], r["address"]) for r in requests] == [(sold["receipt_id"], "anna@example.com")]
    assert sold["totals"]["total"] == 408
