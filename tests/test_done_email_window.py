"""E-mail the receipt just sold from the done screen, in a real window, by touch (issue 17, "Digital receipts").

`kassa demo` runs as its own process on a real X server (Xvfb, 800x480) with no broker (offline). Anna (a cashier:
no manager PIN) sells a pencil, taps E-mail receipt on the done screen, types an address the rule refuses (said at
once; OK keeps the dialog up), completes it and sends. The journal then holds exactly one mail request, for that
receipt and that address. Screenshots in screenshots-out/done-email/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.clock import ManualClock
from firmware.journal import Journal
from tests.test_cashier_shift import Scanner, log_in_anna, offline_demo

pytestmark = pytest.mark.slow  # a real X server and the demo in its own process

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "screenshots-out" / "done-email"
PENCIL = "4006381333931"


def test_the_cashier_e_mails_the_receipt_from_the_done_screen_by_touch(tmp_path):
    with offline_demo(tmp_path, SHOTS) as till:
        data, ui, drv, demo = till.data, till.ui, till.drv, till.demo
        scanner = Scanner(demo.scanner_path())
        log_in_anna(till)
        ui.wait(lambda d: d["screen"] == "sell" and d["lines"] == 0, "an empty cart")
        scanner.scan(PENCIL)
        ui.wait(lambda d: d["due"] == 129, "the pencil in the cart")
        drv.tap("pay")
        drv.tap("exact")
        ui.wait(lambda d: d["screen"] == "done" and "email_receipt" in d["buttons"], "the done screen")
        drv.shot("done")

        drv.tap("email_receipt")
        ui.wait(lambda d: d["dialogs"] and d["dialogs"][-1] == "TextEntryDialog", "the address keyboard")
        drv.tap_keys("kbd", "anna@example")
        drv.shot("email-bad-address")
        drv.tap("kbd:ok")
        assert ui.read()["dialogs"][-1] == "TextEntryDialog"  # the rule refused it: still asking
        drv.tap("kbd:.com")
        drv.shot("email-good-address")
        drv.tap("kbd:ok")
        doc = ui.wait(lambda d: not d["dialogs"] and "fleet has the receipt" in (d["toast"] or ""),
                      "the e-mail queued")
        drv.shot("email-queued")
        assert doc["screen"] == "done"
        assert "will be e-mailed to anna@example.com once the register is back online" in doc["toast"]
        drv.tap("new_sale")
        ui.wait(lambda d: d["screen"] == "sell" and d["lines"] == 0, "a new sale")

    journal = Journal.open(data, store="DEMO", register="R1", clock=ManualClock())
    try:
        requests = list(journal.states("mail_request").values())
        sold = journal.get_seq(1)
    finally:
        journal.close()
    assert [(r["receipt_id"], r["address"], r.get("clerk_id")) for r in requests] == [
        (sold["receipt_id"], "anna@example.com", "c1")]
    assert sold["totals"]["total"] == 129
