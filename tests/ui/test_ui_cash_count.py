"""The Z report's counted cash is typed as a cashier counts it: "100" is 100.00 in the shop's currency, shown with
the currency, on keys a finger can hit (>= 48 px)."""

from __future__ import annotations

import pytest

from firmware.clock import ManualClock
from firmware.register.commands import ZReport
from tests.ui.conftest import PENCIL, log_in, open_manager, scan_with_wedge, settle, start, tap
from tests.ui.fake_register import FakeRegister
from ui import theme
from ui.app import App
from ui.screens.dialogs import MoneyDialog


def z_dialog(app: App) -> MoneyDialog:
    open_manager(app)
    tap(app, "z_report")
    dialog = app.dialogs[-1]
    assert isinstance(dialog, MoneyDialog)
    return dialog


@pytest.mark.parametrize("size", [(800, 480), (1024, 600), (1280, 800)])
def test_typing_100_counts_100_euros_and_the_z_report_takes_them(make_register, size):
    clock = ManualClock()
    app = start(make_register(with_sync=False, clock=clock), clock, size=size)
    log_in(app)
    scan_with_wedge(app, PENCIL)
    tap(app, "pay")
    tap(app, "exact")
    settle(app, lambda: app.view.phase == "done")
    tap(app, "new_sale")
    dialog = z_dialog(app)
    keys = {k: r for k, r in app.buttons().items() if k.startswith("dlg:")}
    assert {"dlg:.", "dlg:C", "dlg:<", "dlg:0", "dlg:ok", "dlg:cancel"} <= set(keys)
    assert all(min(r.w, r.h) >= theme.MIN_BUTTON for r in keys.values()), keys
    assert dialog.shown() == ""
    for key in "100":
        tap(app, f"dlg:{key}")
    assert dialog.shown() == "€100.00"  # never €1.00
    tap(app, "dlg:C")
    for key in "12.5":
        tap(app, f"dlg:{key}")
    assert dialog.shown() == "€12.50"
    tap(app, "dlg:<")
    tap(app, "dlg:<")
    tap(app, "dlg:<")
    tap(app, "dlg:0")
    tap(app, "dlg:0")
    assert dialog.shown() == "€100.00"
    tap(app, "dlg:ok")
    settle(app, lambda: app.screen("manager").mode == "report")
    report = app.screen("manager").report
    assert report["counted_cash"] == 10000
    assert report["difference"] == 10000 - report["expected_cash"]


def test_the_amount_is_shown_in_the_shops_currency_and_a_yen_has_no_point():
    fake = FakeRegister()
    app = App(fake, size=(800, 480), headless=True, clock=ManualClock(), sound=False)
    app.step([])
    got = []
    fake.set(currency="JPY", currency_display="code")
    dialog = MoneyDialog(app, "Cash counted in the drawer", got.append, hint="counted cash")
    app.push(dialog)
    app.step([])
    for key in "1.5":
        tap(app, f"dlg:{key}")
    assert dialog.shown() == "JPY 15"  # no decimals in yen: the point is ignored
    tap(app, "dlg:0")
    tap(app, "dlg:ok")
    assert got == [150] and not app.dialogs
    assert not any(isinstance(c, ZReport) for c in fake.calls)


def test_ok_with_nothing_typed_says_so_and_stays():
    fake = FakeRegister()
    app = App(fake, size=(800, 480), headless=True, clock=ManualClock(), sound=False)
    app.step([])
    got = []
    dialog = MoneyDialog(app, "Cash counted in the drawer", got.append, hint="counted cash")
    app.push(dialog)
    app.step([])
    tap(app, "dlg:ok")
    assert app.dialogs == [dialog] and dialog.error and got == []
