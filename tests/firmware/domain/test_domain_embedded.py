"""Price- and weight-embedded EAN-13 (GS1 20-29) and the weight rules: examples from the GS1 rules and properties."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from firmware.domain.barcode import check_scan
from firmware.domain.embedded import DEFAULT_LAYOUTS, EmbeddedScheme, parse_layout, verifier_digit
from firmware.domain.errors import DomainError, Refused
from firmware.domain.weight import WeightBounds, outside_bounds, parse_weight, weight_text

SCHEME = EmbeddedScheme.from_patterns(DEFAULT_LAYOUTS)


def test_verifier_digit_matches_the_gs1_worked_examples():
    assert verifier_digit("2875") == 9  # 4 digits: 2- 2- 3 5-, 3 x sum, units digit
    assert verifier_digit("14685") == 6  # 5 digits: 5+ 2- 5- 5+ 2-, 10 - units, found in the 5- row


def test_a_weight_code_gives_item_digits_and_kilograms():
    code = SCHEME.encode("21IIIIIWWWWWC", "00042", Decimal("0.730"))
    assert code == "2100042007300" or code.startswith("210004200730")
    assert check_scan(code).ok
    found = SCHEME.decode(code)
    assert found is not None and found.kind == "weight"
    assert (found.item, found.weight, found.price) == ("00042", Decimal("0.730"), None)


def test_a_price_code_gives_minor_units_and_a_verifier_is_checked():
    code = SCHEME.encode("28IIIIVPPPPPC", "1234", 1449)
    found = SCHEME.decode(code)
    assert found is not None and (found.kind, found.item, found.price) == ("price", "1234", 1449)
    bad_verifier = code[:6] + str((int(code[6]) + 1) % 10) + code[7:12]
    from firmware.domain.barcode import gtin_check_digit

    bad_verifier += str(gtin_check_digit(bad_verifier))
    with pytest.raises(Refused, match="price check digit"):
        SCHEME.decode(bad_verifier)


def test_codes_outside_every_layout_are_not_embedded():
    assert SCHEME.decode("4006381333931") is None  # a normal EAN-13
    assert SCHEME.decode("2912345000007") is None  # prefix 29 has no layout here
    assert SCHEME.decode("0123") is None


def test_price_decimals_scale_to_the_currency():
    scheme = EmbeddedScheme.from_patterns(["23IIIIIPPPPPC"], price_decimals=1)
    code = scheme.encode("23IIIIIPPPPPC", 7, 1230)  # 123.0 -> 12300 minor? no: 1230 minor = 12.30 = 123 tenths
    assert scheme.decode(code).price == 1230  # type: ignore[union-attr]
    assert code[7:12] == "00123"


@pytest.mark.parametrize("pattern, problem", [
    ("21IIIIIWWWWW", "13 characters"),
    ("11IIIIIWWWWWC", "20 to 29"),
    ("21IIIIIWWWWCW", "check digit"),
    ("21IIPIIWWWWWC", "either"),
    ("21IIIIIIIIIIC", "either"),
    ("21IIWIIWWWWWC", "together"),
    ("21IIIVWWWWWWC", "4 or 5"),
    ("21iiiiiwwwwwC", "character"),
])
def test_bad_layouts_are_refused_with_the_reason(pattern, problem):
    with pytest.raises(DomainError, match=problem):
        parse_layout(pattern)


def test_layouts_sharing_a_prefix_are_refused():
    with pytest.raises(DomainError, match="share the prefix"):
        EmbeddedScheme.from_patterns(["21IIIIIWWWWWC", "210IIIIPPPPPC"])


layouts = st.sampled_from(["21IIIIIWWWWWC", "23IIIIIPPPPPC", "28IIIIVPPPPPC", "250IIIIVWWWWC", "29IIIIIIPPPPC"])


@given(layouts, st.integers(min_value=0, max_value=10**6 - 1), st.integers(min_value=0, max_value=99999))
def test_encode_then_decode_gives_back_item_and_value(pattern, item, value):
    layout = parse_layout(pattern)
    scheme = EmbeddedScheme.from_patterns([pattern])
    item = item % 10 ** layout.item_digits
    value = value % 10 ** layout.value_digits
    amount = value if layout.kind == "price" else Decimal(value).scaleb(-3)
    code = scheme.encode(layout, item, amount)
    assert len(code) == 13 and check_scan(code).ok
    found = scheme.decode(code)
    assert found is not None
    assert int(found.item) == item
    assert (found.price if layout.kind == "price" else found.weight) == amount


@given(layouts, st.integers(min_value=0, max_value=10**6 - 1), st.integers(min_value=0, max_value=9999),
       st.integers(min_value=0, max_value=11), st.integers(min_value=1, max_value=9))
def test_a_changed_digit_is_never_read_as_a_different_price_or_weight(pattern, item, value, position, delta):
    """Any single misread digit (check digit kept consistent or not) is refused or unchanged in meaning."""
    layout = parse_layout(pattern)
    scheme = EmbeddedScheme.from_patterns([pattern])
    item = item % 10 ** layout.item_digits
    amount = value if layout.kind == "price" else Decimal(value).scaleb(-3)
    code = scheme.encode(layout, item, amount)
    if position < len(layout.prefix):
        return
    changed = code[:position] + str((int(code[position]) + delta) % 10) + code[position + 1:]
    try:
        found = scheme.decode(changed)
    except Refused:
        return
    assert found is None  # the EAN-13 check digit catches every single-digit error


@given(st.decimals(min_value=Decimal("0.001"), max_value=Decimal("9999"), places=3))
def test_weights_round_trip_through_their_text(weight):
    assert parse_weight(weight_text(weight).removesuffix(" kg")) == weight
    assert weight_text(weight).endswith(" kg") and len(weight_text(weight).split()[0].split(".")[1]) == 3


@pytest.mark.parametrize("text, kg", [("0.730", "0.730"), ("0,73", "0.730"), (".5", "0.500"), ("2", "2.000"),
                                      ("1.2 kg", "1.200")])
def test_typed_weights(text, kg):
    assert parse_weight(text) == Decimal(kg)


@pytest.mark.parametrize("text", ["0", "0.000", "", ".", "1.2345", "abc", "1.2.3", "-1"])
def test_typed_weights_refused(text):
    with pytest.raises(Refused):
        parse_weight(text)


def test_bounds_need_a_manager_outside_only():
    bounds = WeightBounds(Decimal("0.005"), Decimal("30.000"))
    assert outside_bounds(Decimal("0.730"), bounds) is None
    assert outside_bounds(Decimal("30.000"), bounds) is None
    assert "manager" in outside_bounds(Decimal("730.000"), bounds)  # type: ignore[operator]
    assert "730.000 kg" in outside_bounds(Decimal("730"), bounds)  # type: ignore[operator]
    assert "manager" in outside_bounds(Decimal("0.001"), bounds)  # type: ignore[operator]
