"""Money typed on a keypad in currency units, as a cashier counts it: "10" is 10.00, "10.5" is 10.50, never cents."""

from __future__ import annotations

from collections.abc import Callable

from firmware.domain.errors import DomainError
from firmware.domain.money import minor_digits, parse_money

WHOLE_DIGITS = 7  # up to 9,999,999 in major units: more is a finger resting on a key


class MoneyEntry:
    """Keys in (`key`: digits, "." or ",", "C" clears, "<" deletes), minor units out (`value`).

    At most one decimal point and no more decimals than the currency has (JPY none, EUR 2, KWD 3): a key
    that would break that is ignored, so what is shown is always an amount the register can take.
    """

    def __init__(self, currency: Callable[[], str]) -> None:
        self._currency = currency
        self.text = ""

    @property
    def digits(self) -> int:
        try:
            return minor_digits(self._currency())
        except DomainError:
            return 2

    def key(self, k: str) -> None:
        if k == "C":
            self.text = ""
        elif k == "<":
            self.text = self.text[:-1]
        elif k in (".", ","):
            if self.digits and "." not in self.text:
                self.text = (self.text or "0") + "."
        elif k.isdigit() and len(k) == 1:
            whole, dot, frac = self.text.partition(".")
            if dot:
                if len(frac) < self.digits:
                    self.text += k
            elif len(whole) < WHOLE_DIGITS:
                self.text = (whole + k).lstrip("0") or "0"

    def value(self) -> int | None:
        """The amount typed, in minor units; None while nothing is typed."""
        if not self.text:
            return None
        try:
            return parse_money(self.text, self._currency())
        except DomainError:
            return None

    def clear(self) -> None:
        self.text = ""
