"""Item prompts and age checks (docs/item-prompts.md).

An item's `prompt` ("Fragile", "check ID: 18+") is said to the cashier as a
warning when the item goes into the cart. An item with `min_age` goes into
the cart only once the cashier answered the age check: the command is
refused with `AgeCheckWanted` as its data, and the front end sends it again
with `age=AgeAnswer(True)` (the customer is old enough; with the date of
birth where [shop] age_check_dob asks for it) or `AgeAnswer(False)` (not
sold: the cart stays as it was). The answer is kept on the line
(`Line.age_check`) and so on the receipt. One check per cart is enough: an
item needing the same age or less, once a line of the cart was checked,
takes that check without asking again.
"""

from __future__ import annotations

import re
from datetime import date

from firmware.domain.catalog import Item
from firmware.domain.lines import AgeCheck
from firmware.register.core import commands as c
from firmware.register.core.step import Step
from firmware.register.view import AgeCheckWanted, Outcome

__all__ = ["age_gate", "parse_dob", "prompt_text"]

_DOTTED = re.compile(r"^([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})$")  # 24.12.2001, as typed on the keypad
_ISO = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")


def parse_dob(text: str) -> date | None:
    """A date of birth typed as DD.MM.YYYY (or YYYY-MM-DD); None when it is no real date."""
    text = text.strip()
    try:
        if m := _DOTTED.match(text):
            return date(int(m[3]), int(m[2]), int(m[1]))
        if m := _ISO.match(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None
    return None


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def prompt_text(item: Item) -> str:
    """ "check ID: 18+ (Vodka 0.5 l)": the prompt first, so a narrow strip cuts the name, not the prompt."""
    return f"{item.prompt} ({item.name})" if item.prompt else ""


def age_gate(step: Step, item: Item, command: c.Command, answer: c.AgeAnswer | None) -> AgeCheck | Outcome | None:
    """None: no age check needed; an AgeCheck to record on the line; or an Outcome (ask, or refused)."""
    if item.min_age <= 0:
        return None
    clerk = step.require_clerk()
    if answer is not None and not answer.confirmed:  # a refusal stands, whatever the cart holds
        return Outcome.refused(f"{item.name} not sold: the age check was refused. The cart is unchanged.")
    sale = step.state.sale
    if sale is not None and sale.phase == "open":
        for line in sale.lines:
            if not line.voided and line.age_check is not None and line.age_check.min_age >= item.min_age:
                return line.age_check
    dob_wanted = step.ctx.config.shop.age_check_dob
    if answer is None:
        ask = f"{item.name}: check ID, the customer must be {item.min_age} or older."
        return Outcome(False, ask, AgeCheckWanted(command, item.name, item.min_age, dob_wanted))
    if not dob_wanted:
        return AgeCheck(item.min_age, clerk.clerk_id)
    born = parse_dob(answer.dob or "")
    today = step.ctx.now.astimezone(step.ctx.config.shop.zone).date()
    if born is None or born > today or born.year < today.year - 130:
        typed = answer.dob or "nothing"
        return Outcome(False, f"Type the date of birth as day.month.year (e.g. 24.12.2001), not {typed}.",
                       AgeCheckWanted(command, item.name, item.min_age, dob_wanted))
    age = _age(born, today)
    if age < item.min_age:
        return Outcome.refused(f"{item.name} not sold: the customer is {age}, under {item.min_age}. "
                               "The cart is unchanged.")
    return AgeCheck(item.min_age, clerk.clerk_id, born.isoformat())
