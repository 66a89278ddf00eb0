"""Item prompts and age checks through the real register on a real journal (docs/item-prompts.md)."""

from __future__ import annotations

import dataclasses

import pytest

from firmware.register.core.commands import AddSku, AgeAnswer, Recall, Scan
from firmware.register.view import AgeCheckWanted
from tests.firmware.register.conftest import PENCIL, RegisterRig, login_cashier, paid_cash_sale

pytestmark = pytest.mark.slow  # a register on a real journal per test

WINE = "4006380136618"  # demo: min_age 18, prompt "check ID: 18+"
VASE = "4006380136687"  # demo: prompt "Fragile: wrap it in paper"


def test_a_prompt_is_shown_as_a_warning_when_the_item_goes_in(rig):
    reg = login_cashier(rig.register)
    out = reg.handle(Scan(VASE))
    assert out.ok
    msg = reg.view().message
    assert (msg.level, msg.text) == ("warn", "Fragile: wrap it in paper (Glass vase)")
    assert [line.name for line in reg.view().lines] == ["Glass vase"]


def test_an_age_item_asks_first_and_refusing_leaves_the_cart_unchanged(rig):
    reg = login_cashier(rig.register)
    assert reg.handle(Scan(PENCIL)).ok
    asked = reg.handle(Scan(WINE))
    assert not asked.ok and isinstance(asked.data, AgeCheckWanted)
    assert (asked.data.name, asked.data.min_age, asked.data.dob_wanted) == ("Red wine 0.75 l", 18, False)
    assert "18 or older" in asked.message
    assert [line.name for line in reg.view().lines] == ["Pencil HB"]  # asking adds nothing
    refused = reg.handle(dataclasses.replace(asked.data.command, age=AgeAnswer(False)))
    assert not refused.ok and "not sold" in refused.message and "cart is unchanged" in refused.message
    assert [line.name for line in reg.view().lines] == ["Pencil HB"]


def test_a_confirmed_age_check_is_on_the_line_and_the_receipt(rig):
    reg = login_cashier(rig.register)
    asked = reg.handle(AddSku(WINE))
    assert isinstance(asked.data, AgeCheckWanted)
    assert reg.handle(dataclasses.replace(asked.data.command, age=AgeAnswer(True))).ok
    assert reg.view().message.text == "check ID: 18+ (Red wine 0.75 l)"  # the prompt too
    assert reg.handle(Scan(WINE)).ok  # the cart's customer was checked once: not asked again
    refused = reg.handle(Scan(WINE, age=AgeAnswer(False)))  # but a refusal stands
    assert not refused.ok and "not sold" in refused.message
    doc = paid_cash_sale(reg)
    (line,) = doc["lines"]
    assert line["qty"] == 2 and line["age_check"] == {"by": "c1", "min_age": 18}
    assert reg.view().last_receipt.lines[0].age_check == {"by": "c1", "min_age": 18}


def test_receipts_without_an_age_check_carry_no_new_field(rig):
    reg = login_cashier(rig.register)
    doc = paid_cash_sale(reg, PENCIL)
    assert "age_check" not in doc["lines"][0]


def test_the_age_check_survives_park_and_recall(rig):
    reg = login_cashier(rig.register)
    asked = reg.handle(Scan(WINE))
    assert reg.handle(dataclasses.replace(asked.data.command, age=AgeAnswer(True))).ok
    assert reg.park().ok
    reg.wait_idle()
    assert reg.view().lines == ()
    assert reg.handle(Recall("P1")).ok
    assert reg.handle(Scan(WINE)).ok  # the recalled line still holds the check
    doc = paid_cash_sale(reg)
    assert doc["lines"][0]["age_check"] == {"by": "c1", "min_age": 18}


@pytest.fixture
def dob_rig(tmp_path):
    r = RegisterRig(tmp_path / "data", shop={"age_check_dob": True, "timezone": "UTC"})
    r.start()
    yield r
    r.stop()


def test_where_the_policy_says_so_the_date_of_birth_is_asked_checked_and_kept(dob_rig):
    reg = login_cashier(dob_rig.register)
    asked = reg.handle(Scan(WINE))
    assert asked.data.dob_wanted is True
    again = dataclasses.replace(asked.data.command, age=AgeAnswer(True, "31.02.2001"))
    bad = reg.handle(again)
    assert not bad.ok and isinstance(bad.data, AgeCheckWanted) and "date of birth" in bad.message
    young = reg.handle(dataclasses.replace(asked.data.command, age=AgeAnswer(True, "01.01.2020")))
    assert not young.ok and "under 18" in young.message and reg.view().lines == ()
    assert reg.handle(dataclasses.replace(asked.data.command, age=AgeAnswer(True, "24.12.1990"))).ok
    doc = paid_cash_sale(reg)
    assert doc["lines"][0]["age_check"] == {"by": "c1", "dob": "1990-12-24", "min_age": 18}
