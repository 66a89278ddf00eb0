"""Scan checks: GS1 check digits, PLUs and noise, each rejection with a reason; never an exception."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from firmware.domain.barcode import check_scan, gtin_check_digit


@pytest.mark.parametrize("code, kind", [
    ("4006381333931", "ean13"), ("96385074", "ean8"), ("036000291452", "upca"),
    ("5901234123457", "ean13"), ("0036000291452", "ean13"), ("4011", "plu"), ("94011", "plu"),
])
def test_known_valid_codes(code, kind):
    check = check_scan(code)
    assert check.ok and check.kind == kind and check.code == code and check.reason == ""


@pytest.mark.parametrize("code", ["4006381333932", "96385075", "036000291453"])
def test_wrong_check_digit_is_rejected_with_a_reason(code):
    check = check_scan(code)
    assert not check.ok
    assert check.reason.startswith("Invalid barcode: check digit wrong")


def test_scanner_line_endings_are_stripped():
    assert check_scan("4006381333931\r\n").code == "4006381333931"


@pytest.mark.parametrize("raw, reason", [
    ("", "Empty scan"), ("   ", "Empty scan"), ("1" * 200, "too long"), ("4006381\x00333931", "unreadable"),
    ("40063813339é1", "unreadable"), ("ABC123", "not an EAN-13"), ("1234567890", "10 digits"),
])
def test_noise_is_rejected_with_a_reason(raw, reason):
    check = check_scan(raw)
    assert not check.ok and reason in check.reason


def test_check_digit_known_value():
    assert gtin_check_digit("400638133393") == 1
    assert gtin_check_digit("9638507") == 4


@given(st.text(max_size=80))
def test_check_scan_never_raises(text):
    check = check_scan(text)
    assert check.ok or check.reason


@given(st.from_regex(r"\A[0-9]{12}\Z"), st.integers(0, 9))
def test_any_single_digit_error_in_an_ean13_is_caught(body, wrong):
    code = body + str(gtin_check_digit(body))
    assert check_scan(code).ok
    bad = code[:5] + str((int(code[5]) + 1 + wrong % 9) % 10) + code[6:]
    assert not check_scan(bad).ok
