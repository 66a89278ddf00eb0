"""Price- and weight-embedded EAN-13 from shop scales (GS1 prefixes 20-29): layouts, decoding, encoding.

A label scale prints an EAN-13 in the restricted-circulation range 20-29
that carries the item and its price or weight. Which digits mean what is
local (the shop, the country's GS1 office), so it is configured as a
13-character *layout*, e.g.

    "21IIIIIWWWWWC"   prefix 21, 5 item digits, weight in 5 digits, check digit
    "23IIIIIPPPPPC"   prefix 23, 5 item digits, price in 5 digits
    "28IIIIVPPPPPC"   prefix 28, 4 item digits, price verifier digit, price in 5 digits

Letters: a literal digit prefix first (starting with 2), `I` item digits,
`P` price digits or `W` weight digits (one of the two), `V` the GS1 price
(or measure) verifier digit over a 4- or 5-digit value field (GS1 General
Specifications 7.9.2/7.9.3), and `C`, the EAN-13 check digit, last. How
many decimals the value digits carry is the scheme's: `price_decimals`
(at most the currency's minor digits) and `weight_decimals` (kilograms).
Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from firmware.domain.barcode import gtin_check_digit
from firmware.domain.errors import DomainError, Refused
from firmware.domain.lines import WEIGHT_PLACES

__all__ = ["Layout", "Embedded", "EmbeddedScheme", "parse_layout", "verifier_digit", "DEFAULT_LAYOUTS"]

DEFAULT_LAYOUTS = ("21IIIIIWWWWWC", "22IIIIIWWWWWC", "23IIIIIPPPPPC", "24IIIIIPPPPPC", "28IIIIVPPPPPC")
LAYOUT_HELP = ("13 characters: prefix digits starting with 2, then I (item), P (price) or W (weight) digits, "
               "optionally V (the price verifier digit over a 4- or 5-digit value), and C (the check digit) last, "
               "e.g. 21IIIIIWWWWWC")

# GS1 General Specifications 7.9.2-7.9.4: the weighting factors of the price verifier digit, as digit -> result.
_TWO_MINUS = (0, 2, 4, 6, 8, 9, 1, 3, 5, 7)      # units digit of 2*d, less its tens digit
_THREE = (0, 3, 6, 9, 2, 5, 8, 1, 4, 7)          # units digit of 3*d
_FIVE_PLUS = (0, 5, 1, 6, 2, 7, 3, 8, 4, 9)      # units digit of 5*d, plus its tens digit
_FIVE_MINUS = (0, 5, 9, 4, 8, 3, 7, 2, 6, 1)     # units digit of 5*d, less its tens digit


def verifier_digit(value: str) -> int:
    """The GS1 price/measure verifier digit of a 4- or 5-digit value field."""
    if not value.isascii() or not value.isdigit() or len(value) not in (4, 5):
        raise DomainError(f"A price verifier digit needs 4 or 5 digits, not {value!r}")
    d = [int(ch) for ch in value]
    if len(d) == 4:  # factors 2-, 2-, 3, 5-; the units digit of 3 x the sum
        return (3 * (_TWO_MINUS[d[0]] + _TWO_MINUS[d[1]] + _THREE[d[2]] + _FIVE_MINUS[d[3]])) % 10
    # factors 5+, 2-, 5-, 5+, 2-; 10 less the sum's units digit, looked up backwards in the 5- row
    total = _FIVE_PLUS[d[0]] + _TWO_MINUS[d[1]] + _FIVE_MINUS[d[2]] + _FIVE_PLUS[d[3]] + _TWO_MINUS[d[4]]
    return _FIVE_MINUS.index((10 - total % 10) % 10)


@dataclass(frozen=True)
class Layout:
    """One parsed layout: the prefix, the kind ("price" | "weight") and where each field sits."""

    pattern: str
    prefix: str
    kind: str
    item: tuple[int, int]  # [start, end) in the 13 digits
    value: tuple[int, int]
    verifier: int | None = None  # position of the price verifier digit, if the layout has one

    @property
    def item_digits(self) -> int:
        return self.item[1] - self.item[0]

    @property
    def value_digits(self) -> int:
        return self.value[1] - self.value[0]


def _field(pattern: str, letter: str) -> tuple[int, int] | None:
    if letter not in pattern:
        return None
    start, count = pattern.index(letter), pattern.count(letter)
    if pattern[start:start + count] != letter * count:
        raise DomainError(f"layout {pattern!r}: the {letter} digits must stand together; use {LAYOUT_HELP}")
    return start, start + count


def parse_layout(pattern: object) -> Layout:
    """Check and parse one layout; DomainError says what is wrong and what a good one looks like."""
    if not isinstance(pattern, str) or len(pattern) != 13:
        raise DomainError(f"layout {pattern!r} is not 13 characters; use {LAYOUT_HELP}")
    if any(ch not in "0123456789IPWVC" for ch in pattern):
        raise DomainError(f"layout {pattern!r} has a character other than digits, I, P, W, V and C; use {LAYOUT_HELP}")
    prefix = pattern[: len(pattern) - len(pattern.lstrip("0123456789"))]
    if len(prefix) < 2 or not prefix.startswith("2"):
        raise DomainError(f"layout {pattern!r} must start with a prefix of at least 2 digits from 20 to 29 "
                          "(GS1 keeps those for codes made in the shop)")
    rest = pattern[len(prefix):]
    if any(ch.isdigit() for ch in rest):
        raise DomainError(f"layout {pattern!r}: digits may only stand in the prefix; use {LAYOUT_HELP}")
    if pattern.count("C") != 1 or not pattern.endswith("C"):
        raise DomainError(f"layout {pattern!r}: the check digit C comes once, last; use {LAYOUT_HELP}")
    if ("P" in rest) == ("W" in rest):
        raise DomainError(f"layout {pattern!r} needs either price digits P or weight digits W (one of them)")
    item = _field(pattern, "I")
    if item is None:
        raise DomainError(f"layout {pattern!r} has no item digits I")
    kind = "price" if "P" in rest else "weight"
    value = _field(pattern, "P" if kind == "price" else "W")
    assert value is not None
    verifier = None
    if "V" in rest:
        if rest.count("V") != 1:
            raise DomainError(f"layout {pattern!r}: the price verifier digit V comes once")
        if value[1] - value[0] not in (4, 5):
            raise DomainError(f"layout {pattern!r}: a verifier digit V works over 4 or 5 value digits only")
        verifier = pattern.index("V")
    return Layout(pattern, prefix, kind, item, value, verifier)


@dataclass(frozen=True)
class Embedded:
    """What a code carried: the item digits and the price (minor units) or weight (kg, 3 decimals)."""

    code: str
    layout: Layout
    item: str
    price: int | None = None
    weight: Decimal | None = None

    @property
    def kind(self) -> str:
        return self.layout.kind


@dataclass(frozen=True)
class EmbeddedScheme:
    """The shop's layouts and decimals. `decode` finds the layout by prefix; none matching means a normal code."""

    layouts: tuple[Layout, ...] = ()
    price_decimals: int = 2
    weight_decimals: int = 3

    @classmethod
    def from_patterns(cls, patterns: Iterable[str], price_decimals: int = 2,
                      weight_decimals: int = 3) -> EmbeddedScheme:
        """Parse and cross-check layouts: no prefix may be another's start (a code must match one layout only)."""
        layouts = tuple(parse_layout(p) for p in patterns)
        for i, a in enumerate(layouts):
            for b in layouts[i + 1:]:
                if a.prefix.startswith(b.prefix) or b.prefix.startswith(a.prefix):
                    shared = min(a.prefix, b.prefix, key=len)
                    raise DomainError(f"layouts {a.pattern!r} and {b.pattern!r} share the prefix {shared}: "
                                      "a code must match one layout only")
        if not 0 <= price_decimals <= 3 or not 0 <= weight_decimals <= WEIGHT_PLACES:
            raise DomainError(f"price decimals 0-3 and weight decimals 0-{WEIGHT_PLACES}")
        return cls(layouts, price_decimals, weight_decimals)

    def layout_for(self, code: str) -> Layout | None:
        for layout in self.layouts:
            if code.startswith(layout.prefix):
                return layout
        return None

    def decode(self, code: str, minor_digits: int = 2) -> Embedded | None:
        """The item digits and price/weight of a 13-digit code under its layout; None if no layout's prefix
        matches. A code that matches a prefix but fails a check is refused (Refused says which)."""
        text = code.strip()
        if len(text) != 13 or not text.isascii() or not text.isdigit():
            return None
        layout = self.layout_for(text)
        if layout is None:
            return None
        if gtin_check_digit(text[:12]) != int(text[12]):
            raise Refused(f"Invalid barcode: check digit wrong (EAN-13 {text}); scan again")
        raw = text[layout.value[0]:layout.value[1]]
        if layout.verifier is not None and verifier_digit(raw) != int(text[layout.verifier]):
            raise Refused(f"The price check digit of {text} is wrong: the label is misprinted or misread; scan again "
                          "or key the item")
        item = text[layout.item[0]:layout.item[1]]
        if layout.kind == "price":
            if self.price_decimals > minor_digits:
                raise Refused(f"Price labels carry {self.price_decimals} decimals but the currency has {minor_digits}; "
                              "ask the technician to fix embedded.price_decimals")
            return Embedded(text, layout, item, price=int(raw) * 10 ** (minor_digits - self.price_decimals))
        weight = (Decimal(int(raw)).scaleb(-self.weight_decimals)).quantize(Decimal(1).scaleb(-WEIGHT_PLACES))
        return Embedded(text, layout, item, weight=weight)

    def encode(self, layout: Layout | str, item: str | int, value: int | Decimal, minor_digits: int = 2) -> str:
        """The 13 digits a label scale prints for `item` and a price (minor units) or a weight (kg)."""
        lay = layout if isinstance(layout, Layout) else parse_layout(layout)
        item_text = str(item).zfill(lay.item_digits)
        if not item_text.isdigit() or len(item_text) != lay.item_digits:
            raise DomainError(f"item {item!r} does not fit {lay.item_digits} digits")
        if lay.kind == "price":
            units, rest = divmod(int(value), 10 ** (minor_digits - self.price_decimals))
            if rest or isinstance(value, Decimal):
                raise DomainError(f"price {value!r} is not a whole number of label units")
        else:
            scaled = Decimal(value).scaleb(self.weight_decimals)
            if scaled != scaled.to_integral_value():
                raise DomainError(f"weight {value} has more than {self.weight_decimals} decimals")
            units = int(scaled)
        value_text = str(units).zfill(lay.value_digits)
        if units < 0 or len(value_text) != lay.value_digits:
            raise DomainError(f"{lay.kind} {value} does not fit {lay.value_digits} digits")
        digits = list(lay.pattern[:12])
        digits[lay.item[0]:lay.item[1]] = item_text
        digits[lay.value[0]:lay.value[1]] = value_text
        if lay.verifier is not None:
            digits[lay.verifier] = str(verifier_digit(value_text))
        body = "".join(digits)
        return body + str(gtin_check_digit(body))
