"""Loyalty cards scanned on the sell screen, in a real window (issue 16, item 1; docs/customers.md#on-the-till).

`kassa demo` runs as its own process on a real X server (Xvfb, 800x480) with no broker; its customer book already
holds Ben Otto (card 4719358264) and two customers sharing card 5820746193 (a card handed out twice), as
the fleet's list or earlier edits would leave it. Anna logs in; Ben's card on a keyboard-wedge scanner (a burst of
digits and Enter, typed by xdotool) puts him on the sale, said on the message line. The card held twice, read by
the serial scanner (the demo's pty), opens the customer panel listing both; a tap picks Bea; the sale is paid and
the receipt names her card. Screenshots go to screenshots-out/customer-card/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.clock import ManualClock
from firmware.customers import CustomerBook
from firmware.journal import Journal
from tests.test_cashier_shift import Scanner, log_in_anna, offline_demo

pytestmark = pytest.mark.slow  # a real X server and the demo in its own process

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "screenshots-out" / "customer-card"
PENCIL = "4006381333931"


def test_cards_scanned_on_the_sell_screen_attach_or_list_their_customers(tmp_path):
    book = CustomerBook(tmp_path / "data", "DEMO", "R1")  # the demo's store and register
    book.create({"name": "Ben Otto", "code": "4719358264"}, "2026-12-01T08:00:00Z")
    bea = book.create({"name": "Bea Lang", "code": "5820746193"}, "2026-12-01T08:01:00Z").customer_id
    carl = book.create({"name": "Carl Lang", "code": "5820746193"}, "2026-12-01T08:02:00Z").customer_id
    with offline_demo(tmp_path, SHOTS) as till:
        data, ui, drv, demo = till.data, till.ui, till.drv, till.demo
        scanner = Scanner(demo.scanner_path())
        log_in_anna(till)
        scanner.scan(PENCIL)
        ui.wait(lambda d: d["due"] == 129, "the pencil in the cart")

        # a keyboard wedge: the digits and Enter in one burst (xdotool drops a key typed twice in a row this fast:
        # this card number has no repeated neighbours)
        drv._run("xdotool", "type", "--delay", "5", "4719358264")
        drv._run("xdotool", "key", "Return")
        ui.wait(lambda d: d["message"] == "Customer Ben Otto added to the sale" and not d["dialogs"],
                "Ben on the sale")
        drv.shot("card-attached")

        scanner.scan("5820746193")
        doc = ui.wait(lambda d: d["dialogs"] and d["dialogs"][-1] == "CustomerDialog"
                      and {f"customer:{bea}", f"customer:{carl}"} <= set(d["buttons"]), "the panel listing both")
        assert doc["due"] == 129  # the card sold nothing
        drv.shot("card-held-twice")
        drv.tap(f"customer:{bea}")
        ui.wait(lambda d: d["screen"] == "sell" and not d["dialogs"], "back on the sell screen")
        drv.shot("picked")
        drv.tap("pay")
        drv.tap("exact")
        ui.wait(lambda d: d["screen"] == "done", "the sale finished")
        drv.tap("new_sale")

    journal = Journal.open(data, store="DEMO", register="R1", clock=ManualClock())
    try:
        sold = journal.get_seq(1)
    finally:
        journal.close()
    assert sold["customer_code"] == "5820746193" and [ln["sku"] for ln in sold["lines"]] == [PENCIL]
