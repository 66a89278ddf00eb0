"""A loyalty card scanned on the sell screen (no panel up) on the real register (docs/customers.md#on-the-till):
one holder is attached at once and named; a card several customers hold opens the customer panel listing them, and
a tap picks one; the serial scanner's read of such a card does the same. (A keyboard wedge is told from typing by
its burst of digits, ui/input.py: the cards here are digits, as most printed loyalty cards are.)"""

from __future__ import annotations

import pytest

from firmware.register.commands import SaveCustomer
from hal.events import ScanRead
from tests.ui.conftest import log_in, scan_with_wedge, start, tap
from ui.screens.customers import CustomerDialog

pytestmark = pytest.mark.slow


def save(reg, *fields):
    out = reg.handle(SaveCustomer(fields))
    assert out.ok, out.message
    return out.data


def test_a_card_on_the_sell_screen_attaches_its_customer(make_register, app_clock):
    reg = make_register(with_sync=False)
    app = start(reg, app_clock)
    log_in(app)
    save(reg, ("name", "Ben Otto"), ("code", "2900000000017"))
    scan_with_wedge(app, "2900000000017")
    app.step([])
    assert not app.dialogs and reg.view().customer_code == "2900000000017"
    assert reg.view().message.text == "Customer Ben Otto added to the sale"
    assert app.screens["sell"]._customer_words() == "Ben Otto · 0 points"  # by name, as when the panel picks


def test_a_card_off_the_serial_scanner_shows_its_customer_by_name(make_register, app_clock):
    reg = make_register(with_sync=False)
    app = start(reg, app_clock)
    log_in(app)
    save(reg, ("name", "Ben Otto"), ("code", "2900000000017"))
    reg.events.put(ScanRead("2900000000017"))  # the hal scanner's read goes to the register, not the screen
    app.step([])
    assert reg.view().customer_code == "2900000000017"
    assert app.screens["sell"]._customer_words() == "Ben Otto · 0 points"  # not "Customer 2900000000017"


@pytest.mark.parametrize("how", ["wedge", "serial"])
def test_a_card_held_twice_opens_the_panel_listing_both(make_register, app_clock, how):
    reg = make_register(with_sync=False)
    app = start(reg, app_clock)
    log_in(app)
    ben = save(reg, ("name", "Ben Otto"), ("code", "2900000000017"))
    bea = save(reg, ("name", "Bea Otto"), ("code", "2900000000017"))
    if how == "wedge":
        scan_with_wedge(app, "2900000000017")
    else:
        reg.events.put(ScanRead("2900000000017"))
        reg.pump()
    app.step([])
    panel = app.dialogs[-1]
    assert isinstance(panel, CustomerDialog) and panel.text == "2900000000017"
    assert {c.customer_id for c in panel.results()} == {ben.customer_id, bea.customer_id}
    assert reg.view().customer_code in (None, "")  # nobody attached until the cashier picks
    tap(app, f"customer:{bea.customer_id}")
    assert not app.dialogs and reg.view().customer_code == "2900000000017"
    assert app.screens["sell"]._customer_words() == "Bea Otto · 0 points"
