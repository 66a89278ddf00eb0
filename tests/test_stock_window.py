"""Stock in a real window, by touch (issue 17, item 1): a manager's stock-take, then the cashier's warning.

`kassa demo` runs as its own process on a real X server (Xvfb, 800x480) with no broker. xdotool taps the buttons
where the app says it drew them (KASSA_UI_MAP); the scanner is the demo's pty. Anna opens the manager menu with
Maria's PIN, taps Stock take, scans a pencil, counts 1 on the keypad and saves; back on the sell screen the pencil
she scans is the last one, and the message strip says so; she sells it. After the demo stops, the journal holds
the count and the sale's delta, in seq order. Screenshots go to screenshots-out/stock/ (look at them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.clock import ManualClock
from firmware.fleet_records import STOCK
from firmware.journal import Journal
from tests.test_cashier_shift import Scanner, log_in_anna, manager_pin, offline_demo

pytestmark = pytest.mark.slow  # a real X server and the demo in its own process

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "screenshots-out" / "stock"
PENCIL = "4006381333931"


def test_a_stock_take_then_the_last_pencil_warns_in_a_real_window(tmp_path):
    with offline_demo(tmp_path, SHOTS) as till:
        data, ui, drv, demo = till.data, till.ui, till.drv, till.demo
        scanner = Scanner(demo.scanner_path())
        log_in_anna(till)
        drv.tap("manager")
        manager_pin(drv)
        ui.wait(lambda d: d["screen"] == "manager" and not d["dialogs"], "the manager menu")
        drv.tap("stock_take")
        ui.wait(lambda d: d["dialogs"] and d["dialogs"][-1] == "StockTakeDialog", "the stock-take dialog")
        scanner.scan(PENCIL)
        ui.wait(lambda d: "stk:count" in d["buttons"], "the pencil in hand")
        drv.tap("stk:1")
        drv.shot("pencil-in-hand")
        drv.tap("stk:count")
        drv.shot("counted")
        drv.tap("stk:save")
        drv.shot("saved")
        drv.tap("stk:close")
        ui.wait(lambda d: not d["dialogs"], "the dialog closed")
        drv.tap("mgr_back")
        ui.wait(lambda d: d["screen"] == "sell", "back on the sell screen")
        scanner.scan(PENCIL)
        ui.wait(lambda d: d["due"] == 129 and d["message"] == "Last of Pencil HB in stock: stock is now 0",
                "the pencil in the cart, with the stock warning")
        drv.shot("last-pencil-warned")
        drv.tap("pay")
        drv.tap("exact")
        ui.wait(lambda d: d["screen"] == "done", "the sale finished")
        drv.shot("sold")
        drv.tap("new_sale")

    journal = Journal.open(data, store="DEMO", register="R1", clock=ManualClock())
    try:
        records = journal.states(STOCK)
        found = [(d["seq"], d["sku"], d["kind"], d["qty"]) for key in sorted(records) for d in records[key]["deltas"]]
        assert found == [(1, PENCIL, "count", 1), (2, PENCIL, "sale", -1)]
    finally:
        journal.close()
    assert {p.name for p in SHOTS.glob("*.png")} >= {"counted.png", "last-pencil-warned.png"} or list(SHOTS.glob("*"))
