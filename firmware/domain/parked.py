"""Parked carts: an open cart set aside (serialisable to and from a dict) and recalled later."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from firmware.domain import sale_promotions
from firmware.domain.errors import DomainError, Refused
from firmware.domain.sale import Sale

__all__ = ["ParkedCart", "park"]


@dataclass(frozen=True)
class ParkedCart:
    """A cart waiting to be recalled; `parked_at` is an ISO 8601 UTC string passed in by the caller."""

    park_id: str
    parked_at: str
    sale: Sale

    @property
    def clerk_id(self) -> str:
        return self.sale.clerk_id

    @property
    def line_count(self) -> int:
        return len(self.sale.active_lines)

    @property
    def total(self) -> int:
        return self.sale.totals().total

    def age_hours(self, now: datetime) -> float:
        """Hours since parking at `now` (the caller's clock; the domain never reads one). Display only."""
        parked = datetime.fromisoformat(self.parked_at.replace("Z", "+00:00"))
        if parked.tzinfo is None:
            parked = parked.replace(tzinfo=UTC)
        return (now - parked).total_seconds() / 3600

    def is_stale(self, now: datetime, max_age_hours: float) -> bool:
        return self.age_hours(now) > max_age_hours

    def recall(self) -> Sale:
        """The cart as it was parked, ready to sell on."""
        return self.sale

    def to_dict(self) -> dict[str, Any]:
        """The cart as a state record; `promotions` (the codes entered and the clock it was priced at) only when
        it has some, so a cart without promotions keeps its old form."""
        promos = sale_promotions.to_doc(self.sale.promos)
        return {"park_id": self.park_id, "parked_at": self.parked_at, "sale": self.sale.to_dict()} | (
            {"promotions": promos} if promos is not None else {})

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ParkedCart:
        """Inverse of `to_dict`; the promotions come back without their book (the register attaches the catalog's)."""
        try:
            sale = Sale.from_dict(d["sale"])  # its own DomainError says what is wrong
        except (KeyError, TypeError) as err:
            raise DomainError(f"Parked cart is unreadable ({err!r})") from None
        try:
            promos = sale_promotions.from_doc(d.get("promotions"))
            return cls(d["park_id"], d["parked_at"], sale if promos is None else replace(sale, promos=promos))
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise DomainError(f"Parked cart is unreadable ({err!r})") from None


def park(sale: Sale, park_id: str, parked_at: str) -> ParkedCart:
    """Set an open, non-empty cart aside; a cart in payment or a refund cannot be parked."""
    if sale.kind != "sale":
        raise Refused("A refund cannot be parked")
    if sale.phase != "open":
        raise Refused("Only a cart that is not yet in payment can be parked")
    if sale.is_empty:
        raise Refused("The cart is empty: nothing to park")
    return ParkedCart(park_id, parked_at, sale)
