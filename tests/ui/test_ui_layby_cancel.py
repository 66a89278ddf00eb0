"""Cancelling a layby by touch on the real register (ui/screens/layby.py): the cashier taps Cancel on the layby's
row, answers Yes, a manager types the PIN; the layby list closes and the done screen says what to give back (the
list must not stay on top of it)."""

from __future__ import annotations

import pytest

from firmware.register.commands import OpenLayby, SetCustomer
from tests.ui.conftest import log_in, settle, start, tap
from ui.screens.dialogs import Confirm
from ui.screens.layby import LaybyDialog

pytestmark = pytest.mark.slow

COFFEE = "4006380135079"


def test_a_cancel_approved_by_a_managers_pin_closes_the_layby_list_and_shows_the_refund(make_register, app_clock):
    reg = make_register(with_sync=False)
    app = start(reg, app_clock)
    log_in(app)
    assert reg.scan(COFFEE).ok and reg.handle(SetCustomer("C-1001")).ok
    assert reg.handle(OpenLayby(500)).ok and reg.tender("cash").ok
    reg.wait_idle()
    assert reg.new_sale().ok
    app.step([])
    tap(app, "layby")
    listed = app.dialogs[-1]
    assert isinstance(listed, LaybyDialog)
    app.step([])
    cancel = next(b for b in app.buttons() if b.startswith("layby-cancel:"))
    tap(app, cancel)
    assert isinstance(app.dialogs[-1], Confirm)
    tap(app, "confirm:yes")
    for digit in "9999":  # the manager's PIN, asked because cancelling needs one
        tap(app, f"dlg:{digit}")
    tap(app, "dlg:ok")
    settle(app, lambda: app.view.phase == "done")
    app.step([])
    assert not any(isinstance(d, LaybyDialog) for d in app.dialogs)  # the list is gone: the done screen shows
    assert app.wanted() == "done" and app.view.message.text.startswith("Refund saved: give back €")


def test_laybys_and_the_payment_screen_name_the_customer_by_name(make_register, app_clock):
    from firmware.register.commands import SaveCustomer
    from ui.screens.customers import customer_words

    reg = make_register(with_sync=False)
    app = start(reg, app_clock)
    log_in(app)
    assert reg.handle(SaveCustomer((("name", "Jo Walker"), ("code", "LC900123")))).ok
    assert customer_words(app, "LC900123") == "Jo Walker"
    assert customer_words(app, "C-404") == "Customer C-404"  # not in the book: the code as it is
    assert reg.scan(COFFEE).ok and reg.handle(SetCustomer("LC900123")).ok
    assert reg.handle(OpenLayby(500)).ok  # the deposit's payment screen
    app.step([])
    assert app.wanted() == "tender"
    assert reg.tender("cash").ok
    reg.wait_idle()
    assert reg.new_sale().ok
    app.step([])
    tap(app, "layby")
    app.step([])
    listed = app.dialogs[-1]
    assert isinstance(listed, LaybyDialog)
    rows = [b for b in app.buttons() if b.startswith("layby-pay:")]
    assert rows  # the layby is listed; its row reads "LB-DEMO-R1-1 · Jo Walker" (drawn with customer_words)
