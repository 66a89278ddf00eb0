"""Item prompts and the age check on the sell screen, driving a real window on the real demo register
(docs/item-prompts.md): the prompt in the message strip, the age dialog's two answers, the date-of-birth keypad."""

from __future__ import annotations

import pytest

from firmware.register.commands import Scan
from firmware.register.view import AgeCheckWanted
from tests.ui.conftest import log_in, scan_with_wedge, settle, start, tap
from ui.screens.age import AgeCheckDialog, AgeDobDialog, dob_shown

pytestmark = pytest.mark.slow  # a real register and window per test

WINE = "4006380136618"  # demo: min_age 18, prompt "check ID: 18+"
VASE = "4006380136687"  # demo: prompt "Fragile: wrap it in paper"


@pytest.fixture
def app(make_register, app_clock):
    app = start(make_register(with_sync=False), app_clock)
    log_in(app)
    settle(app, lambda: app.wanted() == "sell")
    return app


def test_a_scanned_items_prompt_shows_in_the_message_strip_as_a_warning(app):
    scan_with_wedge(app, VASE)
    settle(app, lambda: app.view.lines)
    assert (app.view.message.level, app.view.message.text) == ("warn", "Fragile: wrap it in paper (Glass vase)")
    assert not app.dialogs


def test_the_age_check_asks_and_yes_puts_the_bottle_in_the_cart(app):
    scan_with_wedge(app, WINE)
    assert isinstance(app.dialogs[-1], AgeCheckDialog) and app.view.lines == ()
    tap(app, "age:yes")
    settle(app, lambda: app.view.lines)
    assert [line.name for line in app.view.lines] == ["Red wine 0.75 l"] and not app.dialogs
    assert app.register.view().message.text == "check ID: 18+ (Red wine 0.75 l)"


def test_refusing_the_age_check_adds_nothing_and_says_so(app):
    scan_with_wedge(app, WINE)
    tap(app, "age:refuse")
    app.step([])
    assert app.view.lines == () and not any(isinstance(d, AgeCheckDialog) for d in app.dialogs)
    assert "not sold" in app.register.view().message.text


def test_the_date_of_birth_is_typed_on_the_keypad_with_the_dots_coming_by_themselves(app):
    sent = []
    wanted = AgeCheckWanted(Scan(WINE), "Red wine 0.75 l", 18, dob_wanted=True)
    app.push(AgeDobDialog(app, wanted, sent.append))
    app.step([])
    tap(app, "age:yes")  # nothing typed yet: asked for it, nothing sent
    assert sent == [] and app.dialogs[-1].error
    for key in "24121990":
        tap(app, f"dlg:{key}")
    assert dob_shown(app.dialogs[-1].entry.text) == "24.12.1990"
    tap(app, "age:yes")
    assert sent[0].age.confirmed and sent[0].age.dob == "24.12.1990" and sent[0].code == WINE


@pytest.fixture
def dob_app(tmp_path, app_clock):
    from firmware.bootstrap import bootstrap, demo_config, seed_demo

    pins = seed_demo(tmp_path / "data")
    reg = bootstrap(demo_config(tmp_path / "data", broker_url="mqtt://127.0.0.1:9",
                                hardware={"scanner": "simulated:memory"}, shop={"age_check_dob": True}),
                    demo_pins=pins, with_sync=False)
    try:
        app = start(reg, app_clock)
        log_in(app)
        settle(app, lambda: app.wanted() == "sell")
        yield app
    finally:
        reg.shutdown()


def test_with_the_date_of_birth_policy_a_wrong_date_is_asked_again_and_a_good_one_sells(dob_app):
    app = dob_app
    scan_with_wedge(app, WINE)
    assert isinstance(app.dialogs[-1], AgeDobDialog)
    for key in "31022001":  # no 31 February
        tap(app, f"dlg:{key}")
    tap(app, "age:yes")
    again = app.dialogs[-1]
    assert isinstance(again, AgeDobDialog) and "date of birth" in again.error and app.view.lines == ()
    for key in "24121990":
        tap(app, f"dlg:{key}")
    tap(app, "age:yes")
    settle(app, lambda: app.view.lines)
    assert not app.dialogs and [line.name for line in app.view.lines] == ["Red wine 0.75 l"]
    sale = app.register.view()
    assert sale.message.level == "warn"
