"""Weighed goods through the real register: weight then item, item then weight, the scale, bounds, shop-scale labels.

The rig is the demo register on a real journal with the simulated Toledo 8217 scale on a pty (the real
SerialScale polls it), so "the quick key asks the scale" goes over the wire as on a shop counter.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from firmware.domain.embedded import DEFAULT_LAYOUTS, EmbeddedScheme
from firmware.register.core.commands import AddQuickKey, AddSku, Scan, SetQty
from firmware.register.view import WeightWanted
from tests.firmware.register.conftest import PENCIL, login_cashier, wait_for

APPLES = "4006380136052"  # 2.49 per kg, tax B
APPLES_KEY = 10  # the demo's quick key for apples
APPLES_SCALE_NO = "00042"  # the template 2100042000001 is among the apples' barcodes
SCHEME = EmbeddedScheme.from_patterns(DEFAULT_LAYOUTS)


def _line(reg, index=-1):
    return reg.view().lines[index]


def _scale_shows(rig, kg, stable=True):
    reg = rig.register
    rig.register.hardware.scale.simulator.place(kg, stable=stable)
    want = Decimal(kg) if stable else None  # Toledo 8217 sends only a status byte while the scale moves
    assert wait_for(lambda: (reg.pump(), reg.view().scale is not None and reg.view().scale.weight == want
                             and (reg.view().scale.status == "stable") == stable)[1]), reg.view().scale


@pytest.fixture
def cashier(rig):
    login_cashier(rig.register)
    wait_for(lambda: (rig.register.pump(), rig.register.view().scale is not None
                      and rig.register.view().scale.status == "stable")[1])
    return rig.register


def test_weight_then_quick_key_sells_that_weight(cashier):
    out = cashier.handle(AddQuickKey(APPLES_KEY, weight="0.730"))
    assert out.ok and out.message == "Apples per kg 0.730 kg added"
    line = _line(cashier)
    assert (line.qty, line.qty_text, line.amount) == (Decimal("0.730"), "0.730 kg", 182)  # 2.49 x 0.730 = 1.8177


def test_weight_then_scan_is_what_the_screen_said_to_do(cashier):
    assert cashier.handle(Scan(APPLES, weight="0,5")).ok
    assert _line(cashier).qty == Decimal("0.500") and _line(cashier).amount == 125  # 1.245 rounds half up


def test_a_weight_typed_before_a_unit_item_is_refused_not_ignored(cashier):
    out = cashier.handle(Scan(PENCIL, weight="0.730"))
    assert not out.ok and "not sold by weight" in out.message
    assert cashier.view().lines == ()


def test_item_then_weight_asks_and_takes_the_answer(cashier):
    cmd = AddQuickKey(APPLES_KEY)
    asked = cashier.handle(cmd)  # nothing typed, the scale reads 0.000
    assert not asked.ok and isinstance(asked.data, WeightWanted)
    assert asked.data.name == "Apples per kg" and asked.data.price == 249 and "sold by weight" in asked.message
    again = dataclasses.replace(asked.data.command, **{asked.data.field: "1.2"})
    assert cashier.handle(again).ok and _line(cashier).qty == Decimal("1.200")


def test_item_by_number_asks_for_its_weight_in_qty(cashier):
    asked = cashier.handle(AddSku(APPLES))
    assert isinstance(asked.data, WeightWanted) and asked.data.field == "qty"
    assert cashier.handle(dataclasses.replace(asked.data.command, qty="0.250")).ok
    assert _line(cashier).qty == Decimal("0.250")


def test_quick_key_takes_a_stable_weight_from_the_scale(rig, cashier):
    _scale_shows(rig, "1.250")
    assert cashier.handle(AddQuickKey(APPLES_KEY)).ok
    assert _line(cashier).qty == Decimal("1.250") and _line(cashier).amount == 311  # 3.1125


def test_an_unstable_or_overloaded_scale_is_never_taken(rig, cashier):
    _scale_shows(rig, "0.900", stable=False)
    moving = cashier.handle(AddQuickKey(APPLES_KEY))
    assert not moving.ok and isinstance(moving.data, WeightWanted) and "moving" in moving.message
    rig.register.hardware.scale.simulator.place("16")  # over the simulated 15 kg capacity
    assert wait_for(lambda: (cashier.pump(), cashier.view().scale.status == "overload")[1])
    over = cashier.handle(AddQuickKey(APPLES_KEY))
    assert not over.ok and "overloaded" in over.message
    assert cashier.view().lines == ()


def test_730_kg_needs_a_manager_and_the_approval_stays_on_the_line(cashier):
    refused = cashier.handle(AddQuickKey(APPLES_KEY, weight="730"))
    assert not refused.ok and "730.000 kg is more than 30.000 kg" in refused.message and "manager" in refused.message
    assert cashier.view().lines == ()
    wrong = cashier.handle(AddQuickKey(APPLES_KEY, weight="730", manager_pin="1111"))
    assert not wrong.ok and "not a manager" in wrong.message
    assert cashier.handle(AddQuickKey(APPLES_KEY, weight="730", manager_pin="9999")).ok
    assert cashier._state.sale.lines[-1].approved_by == "m1"  # the receipt line names the approving manager
    assert _line(cashier).qty == Decimal("730.000")


def test_a_tiny_weight_and_a_changed_weight_are_bounded_too(cashier):
    assert not cashier.handle(AddQuickKey(APPLES_KEY, weight="0.001")).ok
    assert cashier.handle(AddQuickKey(APPLES_KEY, weight="0.400")).ok
    changed = cashier.handle(SetQty(1, "45"))
    assert not changed.ok and "manager" in changed.message and _line(cashier).qty == Decimal("0.400")
    assert cashier.handle(SetQty(1, "0.450")).ok and _line(cashier).qty_text == "0.450 kg"


def test_zero_is_refused_plainly(cashier):
    out = cashier.handle(AddQuickKey(APPLES_KEY, weight="0.000"))
    assert not out.ok and "sells nothing" in out.message


def test_a_weight_embedded_label_adds_the_item_at_that_weight(cashier):
    code = SCHEME.encode("21IIIIIWWWWWC", APPLES_SCALE_NO, Decimal("0.730"))
    out = cashier.handle(Scan(code))
    assert out.ok, out.message
    assert (_line(cashier).name, _line(cashier).qty, _line(cashier).amount) == ("Apples per kg", Decimal("0.730"), 182)


def test_a_price_embedded_label_adds_one_piece_at_its_price(cashier):
    code = SCHEME.encode("23IIIIIPPPPPC", APPLES_SCALE_NO, 1449)
    assert cashier.handle(Scan(code)).ok
    line = _line(cashier)
    # named as a label, not "per kg": its price is for what the scale weighed, not for one kilogram
    assert (line.name, line.qty, line.unit_price, line.amount) == ("Apples (label)", 1, 1449, 1449)
    assert cashier.view().lines[-1].source == "label"
    verified = SCHEME.encode("28IIIIVPPPPPC", "42", 350)  # 4 item digits and a price verifier digit
    assert cashier.handle(Scan(verified)).ok and _line(cashier).amount == 350


def test_embedded_labels_with_a_bad_verifier_or_unknown_item_are_refused(cashier):
    unknown = cashier.handle(Scan(SCHEME.encode("23IIIIIPPPPPC", "99999", 100)))
    assert not unknown.ok and "scale number 99999" in unknown.message
    code = SCHEME.encode("28IIIIVPPPPPC", "42", 350)
    from firmware.domain.barcode import gtin_check_digit

    body = code[:6] + str((int(code[6]) + 3) % 10) + code[7:12]
    bad = cashier.handle(Scan(body + str(gtin_check_digit(body))))
    assert not bad.ok and "price check digit" in bad.message


def test_an_embedded_weight_over_the_bound_needs_a_manager(cashier):
    code = SCHEME.encode("21IIIIIWWWWWC", APPLES_SCALE_NO, Decimal("31.000"))
    out = cashier.handle(Scan(code))
    assert not out.ok and "manager" in out.message
    assert cashier.handle(Scan(code, manager_pin="9999")).ok


def test_a_weighed_sale_commits_with_the_weight_on_the_receipt(cashier):
    assert cashier.handle(AddQuickKey(APPLES_KEY, weight="0.730")).ok
    assert cashier.tender("cash", 500).ok
    cashier.wait_idle()
    receipt = cashier.view().last_receipt.to_doc()
    assert receipt["lines"][0]["qty"] == "0.730" and receipt["lines"][0]["amount"] == 182
