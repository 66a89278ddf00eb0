"""Clerks: salted scrypt PIN hashes, login, manager-only approval, payload validation."""

from __future__ import annotations

import pytest

from firmware.domain.clerks import Clerk, Roster, hash_pin, verify_pin
from firmware.domain.errors import DomainError, PayloadInvalid

FAST = {"n": 2**10}  # tests only: the default cost is n=2**14


@pytest.fixture(scope="module")
def roster():
    return Roster([
        Clerk("c1", "Ann", "cashier", hash_pin("1111", **FAST)),
        Clerk("m1", "Max", "manager", hash_pin("9999", **FAST)),
        Clerk("m2", "Mia", "manager", hash_pin("8888", **FAST)),
    ], version=2)


def test_hash_is_salted_and_self_describing():
    one, two = hash_pin("1234"), hash_pin("1234")
    assert one != two
    assert one.startswith("scrypt$16384$8$1$")
    assert verify_pin("1234", one) and not verify_pin("4321", one)


@pytest.mark.parametrize("bad", ["", "12", "abcd", "1234567890123", "١٢٣٤"])
def test_pin_format_is_checked(bad):
    with pytest.raises(DomainError, match="4 to 12 digits"):
        hash_pin(bad)


@pytest.mark.parametrize(
    "pin_hash", ["", "plain1234", "scrypt$3$8$1$AA==$AA==", "scrypt$16384$8$1$!!$AA==", "bcrypt$x"]
)
def test_malformed_hash_never_verifies(pin_hash):
    assert verify_pin("1234", pin_hash) is False


def test_authenticate(roster):
    assert roster.authenticate("c1", "1111").name == "Ann"
    assert roster.authenticate("c1", "2222") is None
    assert roster.authenticate("nobody", "1111") is None


def test_only_managers_approve(roster):
    assert roster.approve("1111") is None  # a cashier's PIN
    assert roster.approve("9999").clerk_id == "m1"
    assert roster.approve("8888").clerk_id == "m2"
    assert roster.approve("8888", clerk_id="m1") is None


def test_payload_round_trip(roster):
    again = Roster.from_payload(roster.to_payload())
    assert again.to_payload() == roster.to_payload() and again.version == 2


@pytest.mark.parametrize(
    "clerk, message",
    [
        ({"clerk_id": "x", "name": "X", "role": "boss", "pin_hash": hash_pin("1234", **FAST)}, "role"),
        ({"clerk_id": "x", "name": "X", "role": "cashier", "pin_hash": "1234"}, "pin_hash"),
        ({"name": "X", "role": "cashier", "pin_hash": hash_pin("1234", **FAST)}, "clerk_id"),
    ],
)
def test_bad_clerks_payload_is_refused(clerk, message):
    with pytest.raises(PayloadInvalid, match=message):
        Roster.from_payload({"version": 1, "clerks": [clerk]})


def test_duplicate_clerk_is_refused():
    h = hash_pin("1234", **FAST)
    with pytest.raises(PayloadInvalid, match="twice"):
        Roster.from_payload(
            {"version": 1, "clerks": [{"clerk_id": "a", "name": "A", "role": "cashier", "pin_hash": h}] * 2}
        )
