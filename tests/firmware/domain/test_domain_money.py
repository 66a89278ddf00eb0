"""Money in minor units: digits per currency, formatting, parsing and cash rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from firmware.domain.errors import DomainError
from firmware.domain.money import format_money, minor_digits, parse_money, round_cash, scale, to_decimal


@pytest.mark.parametrize("currency, digits", [("EUR", 2), ("USD", 2), ("GBP", 2), ("CHF", 2), ("JPY", 0), ("KWD", 3)])
def test_minor_digits_by_currency(currency, digits):
    assert minor_digits(currency) == digits


def test_unknown_currency_is_refused_with_the_fix():
    with pytest.raises(DomainError, match="ISO 4217"):
        minor_digits("XYZ")


@pytest.mark.parametrize("amount, currency, text", [
    (1290, "EUR", "12.90"), (5, "EUR", "0.05"), (-5, "EUR", "-0.05"), (0, "EUR", "0.00"),
    (1290, "JPY", "1290"), (1234, "KWD", "1.234"),
])
def test_format_money(amount, currency, text):
    assert format_money(amount, currency) == text


@pytest.mark.parametrize(
    "text, amount", [("12.90", 1290), ("12,9", 1290), ("12", 1200), (" 0.05 ", 5), ("-1.50", -150)]
)
def test_parse_money(text, amount):
    assert parse_money(text, "EUR") == amount


@pytest.mark.parametrize("text", ["12.901", "abc", "", "1.2.3", "12 90"])
def test_parse_money_refuses_garbage_and_extra_decimals(text):
    with pytest.raises(DomainError):
        parse_money(text, "EUR")


def test_parse_money_refuses_decimals_for_a_currency_without_them():
    with pytest.raises(DomainError, match="JPY has 0"):
        parse_money("12.5", "JPY")


def test_money_functions_refuse_floats():
    with pytest.raises(DomainError):
        format_money(12.9, "EUR")  # type: ignore[arg-type]
    with pytest.raises(DomainError):
        parse_money(12.9, "EUR")  # type: ignore[arg-type]
    with pytest.raises(DomainError):
        to_decimal(0.1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "amount, step, rounded",
    [
        (1232, 5, 1230),
        (1233, 5, 1235),
        (1235, 5, 1235),
        (1237, 5, 1235),
        (1238, 5, 1240),
        (1225, 10, 1230),
        (1224, 10, 1220),
        (1233, 0, 1233),
        (1233, 1, 1233),
        (-1233, 5, -1235),
    ],
)
def test_round_cash_half_up_to_the_step(amount, step, rounded):
    assert round_cash(amount, step) == rounded


def test_scale_rounds_half_up():
    assert scale(129, Decimal("0.5")) == 65
    assert scale(1000, 19, 119) == 160


@given(st.integers(-(10**12), 10**12), st.sampled_from(["EUR", "JPY", "KWD"]))
def test_format_then_parse_round_trips(amount, currency):
    assert parse_money(format_money(amount, currency), currency) == amount


@given(st.integers(-(10**9), 10**9), st.sampled_from([2, 5, 10, 50, 100]))
def test_round_cash_is_the_nearest_multiple(amount, step):
    rounded = round_cash(amount, step)
    assert rounded % step == 0
    assert abs(rounded - amount) * 2 <= step


@pytest.mark.parametrize("amount, currency, display, text", [
    (317, "EUR", "symbol", "€3.17"),
    (-5, "EUR", "symbol", "-€0.05"),
    (116, "EUR", "code", "EUR 1.16"),
    (1290, "GBP", "symbol", "£12.90"),
    (1290, "JPY", "symbol", "¥1,290"),
    (123456, "EUR", "symbol", "€1,234.56"),  # thousands grouped where a person reads it
    (-123456789, "EUR", "code", "-EUR 1,234,567.89"),
    (99999, "EUR", "symbol", "€999.99"),
    (123456, "EUR", None, "1234.56"),  # never in a bare column (a spreadsheet would read the comma as text)
    (1290, "CHF", "symbol", "CHF 12.90"),  # no symbol of its own: the code
    (1234, "KWD", "code", "KWD 1.234"),
    (1290, "EUR", None, "12.90"),  # bare, for a column headed with the currency
])
def test_format_money_with_the_shops_display(amount, currency, display, text):
    from firmware.domain.money import money_formatter

    assert format_money(amount, currency, display) == text
    if display is not None:
        assert money_formatter(currency, display)(amount) == text


def test_an_unknown_display_is_refused():
    from firmware.domain.money import money_formatter

    with pytest.raises(DomainError):
        format_money(1, "EUR", "emoji")
    with pytest.raises(DomainError):
        money_formatter("EUR", "emoji")
