"""PIN lockouts on screen: the login screen and the manager-PIN dialog count down each second and warn of tries left."""

from __future__ import annotations

import pytest

from firmware.clock import ManualClock
from firmware.register.commands import CheckManager
from tests.ui.conftest import log_in, settle, start, tap
from tests.ui.fake_register import FakeRegister
from ui.app import App


def fake_app(reg: FakeRegister) -> App:
    app = App(reg, size=(800, 480), headless=True, clock=ManualClock(), sound=False)
    app.step([])
    return app


def redrawn(app: App, rect) -> bool:
    """One frame; True when `rect` was among the parts of the screen drawn again."""
    return any(r.contains(rect) for r in app.step([]))


def test_the_login_lockout_counts_down_on_screen_each_second():
    reg = FakeRegister()
    app = fake_app(reg)
    screen = app.current
    assert screen.message() == "" and not redrawn(app, screen.r_msg)
    reg.lock("login", seconds=30)
    assert redrawn(app, screen.r_msg)
    assert screen.message() == "Too many wrong PINs. Try again in 30 s."
    reg.clock.advance(0.5)
    assert not redrawn(app, screen.r_msg) and screen.message().endswith("in 30 s.")  # same second: nothing drawn
    reg.clock.advance(0.5)
    assert redrawn(app, screen.r_msg) and screen.message() == "Too many wrong PINs. Try again in 29 s."
    reg.clock.advance(29)
    assert redrawn(app, screen.r_msg) and screen.message() == ""
    reg.lock("login", seconds=125)
    app.step([])
    assert screen.message() == "Too many wrong PINs. Try again in 2 min 5 s."


def test_the_login_screen_warns_of_the_tries_left():
    reg = FakeRegister()
    app = fake_app(reg)
    reg.lock("login", tries_left=2)
    assert redrawn(app, app.current.r_msg) and app.current.message() == "2 tries left before a lockout."
    reg.lock("login", tries_left=1)
    assert redrawn(app, app.current.r_msg) and app.current.message() == "1 try left before a lockout."


def test_the_manager_pin_dialog_counts_down_and_takes_no_pin_while_locked():
    reg = FakeRegister()
    app = fake_app(reg)
    reg.lock("approval", seconds=3)
    app.open_manager_gate()
    app.step([])
    dialog = app.dialogs[-1]
    assert dialog.name == "entry" and dialog.status() == "Too many wrong PINs. Try again in 3 s."
    tap(app, "dlg:9")
    tap(app, "dlg:ok")
    assert app.dialogs == [dialog] and not any(isinstance(call, CheckManager) for call in reg.calls)
    reg.clock.advance(1)
    assert redrawn(app, dialog.r_status) and dialog.status() == "Too many wrong PINs. Try again in 2 s."
    reg.clock.advance(2)
    reg.lock("approval", tries_left=1)
    assert redrawn(app, dialog.r_status) and dialog.status() == "1 try left before a lockout."
    reg.fail[CheckManager] = "That is not a manager's PIN. 1 try left."
    tap(app, "dlg:ok")  # open again: the PIN goes to the register, which says what it thinks of it
    assert CheckManager("9") in reg.calls
    assert not app.dialogs and app.toasts.current.text == "That is not a manager's PIN. 1 try left."


@pytest.mark.slow
def test_wrong_manager_pins_on_the_real_register_warn_lock_and_count_down(make_register):
    """Wrong PINs keep the dialog up: it says the tries left, then counts the lockout down each second (no toast
    that stands still), takes no PIN while locked, and takes the manager's once the lockout is over."""
    clock = ManualClock()
    app = start(make_register(with_sync=False, clock=clock), clock)
    log_in(app)  # Anna, a cashier
    tap(app, "manager")
    dialog = app.dialogs[-1]
    said = []
    for _ in range(3):
        for digit in "1234":
            tap(app, f"dlg:{digit}")
        tap(app, "dlg:ok")
        assert app.dialogs == [dialog] and dialog.entry.text == ""  # still up, ready for the next try
        assert app.toasts.current is None  # the dialog says it; a toast could not count down
        said.append((dialog.error, dialog.status()))
    assert said == [("Not a manager's PIN. Try again.", "2 tries left before a lockout."),
                    ("Not a manager's PIN. Try again.", "1 try left before a lockout."),
                    ("", "Too many wrong PINs. Try again in 30 s.")]
    clock.advance(1)
    assert redrawn(app, dialog.r_status) and dialog.status() == "Too many wrong PINs. Try again in 29 s."
    for digit in "9999":
        tap(app, f"dlg:{digit}")
    tap(app, "dlg:ok")  # locked: not even tried, the dialog stays with its countdown
    assert app.dialogs == [dialog] and app.wanted() == "sell"
    assert dialog.status() == "Too many wrong PINs. Try again in 29 s."
    clock.advance(29)
    assert redrawn(app, dialog.r_status) and dialog.status() == "1 try left before a lockout."
    tap(app, "dlg:ok")  # the 9999 typed while locked is still there
    assert not app.dialogs and app.wanted() == "manager"


def test_a_wrong_pin_for_an_approval_keeps_the_dialog_up_and_the_right_one_runs_the_command(make_register):
    """The same dialog asks for approvals (a no-sale from the manager screen is one, a discount over the limit,
    a recall of another clerk's cart): a wrong PIN leaves it up, counting, and the right one runs the command."""
    from firmware.register.commands import NoSale

    clock = ManualClock()
    app = start(make_register(with_sync=False, clock=clock), clock)
    log_in(app)
    app.run_approved(NoSale(None))
    dialog = app.dialogs[-1]
    assert dialog.name == "entry"
    for digit in "4321":
        tap(app, f"dlg:{digit}")
    tap(app, "dlg:ok")
    assert app.dialogs == [dialog] and dialog.status() == "2 tries left before a lockout."
    for digit in "9999":
        tap(app, f"dlg:{digit}")
    tap(app, "dlg:ok")
    assert not app.dialogs and dialog.status() == ""
    settle(app, lambda: any(r.get("kind") == "no_sale" for r in app.register.recent_receipts(5)))


def test_a_login_lockout_counts_down_on_the_login_screen(make_register):
    clock = ManualClock()
    app = start(make_register(with_sync=False, clock=clock), clock)
    log_in(app, pin="0000")
    assert app.current.message() == "Wrong PIN. 2 tries left."
    tap(app, "pin:1")  # typing again clears the error; the warning stays
    assert app.current.message() == "2 tries left before a lockout."
    tap(app, "pin:C")
    log_in(app, pin="0000")
    log_in(app, pin="0000")
    assert app.current.message() == "Too many wrong PINs. Try again in 30 s."
    clock.advance(12)
    assert redrawn(app, app.current.r_msg) and app.current.message() == "Too many wrong PINs. Try again in 18 s."
    tap(app, "clerk:c2")  # another clerk is not locked out
    assert app.current.message() == ""
    tap(app, "clerk:c1")
    clock.advance(18)
    assert redrawn(app, app.current.r_msg) and app.current.message() == "1 try left before a lockout."
    log_in(app)
    assert app.wanted() == "sell"
