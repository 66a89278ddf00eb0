"""Parked carts: only open carts park, they round-trip through a dict, and old ones are flagged."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from firmware.domain.catalog import Item
from firmware.domain.errors import DomainError, Refused
from firmware.domain.parked import ParkedCart, park
from firmware.domain.sale import Sale

RATES = {"A": "19.00"}
PENCIL = Item("P1", "Pencil HB", 129, "A")
CHEESE = Item("C1", "Cheese", 1999, "A", weighed=True)


def cart():
    return Sale.open("s1", "c1", rates=RATES).add(PENCIL, 2).add(CHEESE, "0.333").discount_cart(percent=5)


def test_park_and_recall_through_json():
    parked = park(cart(), "p1", "2026-11-25T10:00:00.000Z")
    again = ParkedCart.from_dict(json.loads(json.dumps(parked.to_dict())))
    assert again == parked and again.recall() == cart()
    assert (again.clerk_id, again.line_count, again.total) == ("c1", 2, cart().totals().total)
    assert len(again.recall().add(PENCIL).lines) == 3


def test_stale_flag():
    parked = park(cart(), "p1", "2026-11-25T10:00:00.000Z")
    now = datetime(2026, 11, 25, 22, 30, tzinfo=UTC)
    assert parked.age_hours(now) == 12.5
    assert parked.is_stale(now, 12) and not parked.is_stale(now, 13)


@pytest.mark.parametrize("sale, reason", [
    (Sale.open("s", "c1"), "empty"),
    (cart().begin_tender(), "not yet in payment"),
])
def test_park_refusals(sale, reason):
    with pytest.raises(Refused, match=reason):
        park(sale, "p", "2026-11-25T10:00:00.000Z")


def test_unreadable_parked_cart():
    with pytest.raises(DomainError, match="unreadable"):
        ParkedCart.from_dict({"park_id": "p"})
