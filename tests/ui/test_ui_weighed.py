"""Weighed goods on the sell screen (pygame dummy driver, real demo register with its simulated pty scale)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.ui.conftest import log_in, settle, start, tap
from ui.text import TEXT

APPLES_KEY = 10  # the demo's apples quick key (2.49 per kg)


@pytest.fixture
def drawn(monkeypatch):
    """Every text the UI renders from now on."""
    seen: list[str] = []
    render = TEXT.render

    def spy(text, size, color):
        seen.append(text)
        return render(text, size, color)

    monkeypatch.setattr(TEXT, "render", spy)
    return seen


@pytest.fixture
def app(make_register, app_clock):
    app = start(make_register(), app_clock)
    log_in(app)
    assert app.wanted() == "sell"
    settle(app, lambda: app.view.scale is not None and app.view.scale.status == "stable")  # the pty scale answered
    return app


def type_on_keypad(app, text, prefix="key"):
    for ch in text:
        tap(app, f"{prefix}:{ch}")


def test_typing_0_730_shows_the_weight_in_kg_then_the_quick_key_sells_it(app, drawn):
    assert "key:." in app.buttons() and "key:<" in app.buttons()  # the keypad has a decimal point
    type_on_keypad(app, "0.730")
    app.step([])
    assert "0.730 kg" in drawn  # the entry reads as a weight, with its unit
    apples = next(b for b in app.current.buttons if b.id == f"quick:{APPLES_KEY}")
    assert apples.label.endswith("€2.49/kg")  # the apples key says its price is per kg
    drawn.clear()
    tap(app, f"quick:{APPLES_KEY}")
    line = app.view.lines[-1]
    assert (line.name, line.qty, line.amount) == ("Apples per kg", Decimal("0.730"), 182)
    app.step([])
    assert any("0.730 kg x €2.49/kg" in text for text in drawn)  # the cart line shows weight and unit price
    assert any("€1.82" in text for text in drawn)
    assert app.current.entry.text == ""


def test_item_then_weight_opens_the_weight_dialog(app, drawn):
    tap(app, f"quick:{APPLES_KEY}")  # nothing typed; the scale reads 0.000
    assert app.dialogs and app.dialogs[-1].name == "weight" and app.view.lines == ()
    type_on_keypad(app, ".5", prefix="dlg")
    app.step([])
    assert "0.5 kg" in drawn
    tap(app, "dlg:ok")
    assert not app.dialogs and app.view.lines[-1].qty == Decimal("0.500")
    assert app.view.lines[-1].amount == 125


def test_the_quick_key_takes_a_stable_weight_from_the_scale(app):
    reg = app.register
    reg.hardware.scale.simulator.place("1.250")
    settle(app, lambda: app.view.scale is not None and app.view.scale.weight == Decimal("1.250"))
    tap(app, f"quick:{APPLES_KEY}")
    assert not app.dialogs and app.view.lines[-1].qty == Decimal("1.250")


def test_730_kg_asks_for_a_manager_before_it_is_sold(app):
    type_on_keypad(app, "730")
    tap(app, f"quick:{APPLES_KEY}")
    assert app.view.lines == () and app.dialogs and app.dialogs[-1].name == "entry"  # the manager's PIN
    type_on_keypad(app, "9999", prefix="dlg")
    tap(app, "dlg:ok")
    assert not app.dialogs and app.view.lines[-1].qty == Decimal("730.000")
