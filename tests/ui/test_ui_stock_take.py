"""The stock-take on the real register, by touch (ui/screens/stock_take.py): Manager -> Stock take; an item scanned
on a keyboard wedge shows what the till thinks is on the shelf; counts typed on the keypad (kg for weighed goods);
an unknown number, a count without an item and a fraction of a pencil are refused in words; Close with counts not
saved asks first; Save journals the counts and the till's stock follows at once."""

from __future__ import annotations

import pytest

from firmware.fleet_records import STOCK
from tests.ui.conftest import PENCIL, log_in, open_manager, scan_with_wedge, start, tap
from ui.screens.dialogs import Confirm
from ui.screens.stock_take import StockTakeDialog

pytestmark = pytest.mark.slow

APPLES = "4006380136052"


def open_stock_take(app) -> StockTakeDialog:
    open_manager(app)
    tap(app, "stock_take")
    dialog = app.dialogs[-1]
    assert isinstance(dialog, StockTakeDialog)
    return dialog


def type_digits(app, text: str) -> None:
    for ch in text:
        tap(app, f"stk:{ch}")


def test_count_by_scan_and_by_number_then_save_and_the_till_follows(make_register, app_clock):
    reg = make_register(with_sync=False)
    app = start(reg, app_clock)
    log_in(app)
    dialog = open_stock_take(app)

    tap(app, "stk:count")
    assert dialog.error and dialog.note == "Scan the item first, then type how many there are"
    scan_with_wedge(app, PENCIL)
    assert dialog.item is not None and dialog.item.name == "Pencil HB"
    assert dialog.item.text == "Not counted yet" and not dialog.error
    type_digits(app, "1.5")
    tap(app, "stk:count")
    assert dialog.error and dialog.note == "Type a whole number" and dialog.counts == []
    for _ in range(3):
        tap(app, "stk:<")
    type_digits(app, "12")
    tap(app, "stk:count")
    assert [(i.sku, n) for i, n in dialog.counts] == [(PENCIL, "12")] and dialog.item is None
    assert dialog.note == "Pencil HB: 12 counted; scan the next item"

    type_digits(app, "999999")
    tap(app, "stk:item")
    assert dialog.error and dialog.note == "No item has the number 999999" and dialog.item is None
    for _ in range(6):
        tap(app, "stk:<")
    type_digits(app, APPLES)
    tap(app, "stk:item")
    assert dialog.item is not None and dialog.item.sku == APPLES and dialog.item.weighed
    type_digits(app, "2.5")
    tap(app, "stk:count")
    assert [(i.sku, n) for i, n in dialog.counts] == [(PENCIL, "12"), (APPLES, "2.5")]

    tap(app, "stk:close")  # counts not saved: asked first, and No keeps them
    assert isinstance(app.dialogs[-1], Confirm)
    tap(app, "confirm:no")
    assert app.dialogs[-1] is dialog and len(dialog.counts) == 2

    tap(app, "stk:save")
    assert not dialog.error and dialog.note == "Stock count of 2 items saved" and dialog.counts == []
    assert reg.stock.on_hand(PENCIL) == 12 and reg.stock.on_hand(APPLES) == 2500  # grams
    [record] = reg.journal.states(STOCK).values()
    assert [(d["sku"], d["kind"], d["qty"]) for d in record["deltas"]] == [(PENCIL, "count", 12),
                                                                         (APPLES, "count", 2500)]
    scan_with_wedge(app, PENCIL)
    assert dialog.item is not None and dialog.item.text == "12 in stock"
    tap(app, "stk:close")
    assert not any(isinstance(d, StockTakeDialog) for d in app.dialogs)

    tap(app, "mgr_back")
    tap(app, "search")  # item lookup on the sell screen: the stock beside each result
    search = app.dialogs[-1]
    for ch in "PENCIL":
        tap(app, f"kb:{ch}")
    assert [(i.name, i.stock) for i in search.results()] == [("Pencil HB", "12 in stock")]
    assert f"result:{PENCIL}" in app.buttons()
