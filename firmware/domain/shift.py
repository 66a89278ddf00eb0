"""A cashier shift: counted opening float, paid-in, paid-out and cash drops, closed by a Z report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from firmware.domain.errors import DomainError, Refused

__all__ = ["Shift", "CashMovement", "MOVEMENT_KINDS"]

MOVEMENT_KINDS = ("paid_in", "paid_out", "drop")


@dataclass(frozen=True)
class CashMovement:
    """Cash in or out of the drawer that is not a sale: paid-in, paid-out or a drop to the safe."""

    kind: str
    amount: int
    reason: str
    clerk_id: str
    at: str


@dataclass(frozen=True)
class Shift:
    """Immutable; every command returns a new Shift or raises Refused. Times are ISO strings passed in."""

    shift_id: str
    opened_by: str
    opened_at: str
    opening_float: int
    movements: tuple[CashMovement, ...] = ()
    z_number: int | None = None
    counted_cash: int | None = None
    closed_by: str | None = None
    closed_at: str | None = None

    @classmethod
    def open(cls, shift_id: str, clerk_id: str, opening_float: int, opened_at: str) -> Shift:
        """Start a shift with the float the clerk counted into the drawer."""
        _amount(opening_float, allow_zero=True, what="The opening float")
        if not shift_id or not clerk_id:
            raise Refused("A shift needs an id and a clerk")
        return cls(shift_id, clerk_id, opened_at, opening_float)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def total(self, kind: str) -> int:
        return sum(m.amount for m in self.movements if m.kind == kind)

    @property
    def cash_adjustment(self) -> int:
        """Float + paid-in - paid-out - drops: the drawer's cash apart from sales and refunds."""
        return self.opening_float + self.total("paid_in") - self.total("paid_out") - self.total("drop")

    def paid_in(self, amount: int, reason: str, clerk_id: str, at: str) -> Shift:
        return self._move("paid_in", amount, reason, clerk_id, at)

    def paid_out(self, amount: int, reason: str, clerk_id: str, at: str, *, cash_in_drawer: int | None = None) -> Shift:
        """Cash taken out for an expense; refused when it is more than the drawer should hold (if given)."""
        if cash_in_drawer is not None and amount > cash_in_drawer:
            raise Refused(f"Paid-out of {amount} is more than the drawer should hold ({cash_in_drawer})")
        return self._move("paid_out", amount, reason, clerk_id, at)

    def cash_drop(self, amount: int, clerk_id: str, at: str, reason: str = "drop to safe", *,
                  cash_in_drawer: int | None = None) -> Shift:
        if cash_in_drawer is not None and amount > cash_in_drawer:
            raise Refused(f"Drop of {amount} is more than the drawer should hold ({cash_in_drawer})")
        return self._move("drop", amount, reason, clerk_id, at)

    def close(self, z_number: int, counted_cash: int, clerk_id: str, closed_at: str) -> Shift:
        """Close with the cash counted in the drawer; the Z report for it carries `z_number`."""
        self._require_open()
        _amount(counted_cash, allow_zero=True, what="Counted cash")
        if not isinstance(z_number, int) or isinstance(z_number, bool) or z_number < 1:
            raise Refused("A Z report number is a positive whole number")
        return replace(self, z_number=z_number, counted_cash=counted_cash, closed_by=clerk_id, closed_at=closed_at)

    def _move(self, kind: str, amount: int, reason: str, clerk_id: str, at: str) -> Shift:
        self._require_open()
        _amount(amount, allow_zero=False, what="The amount")
        if not reason or not reason.strip():
            raise Refused("Say why the cash goes in or out (a reason is required)")
        return replace(self, movements=self.movements + (CashMovement(kind, amount, reason.strip(), clerk_id, at),))

    def _require_open(self) -> None:
        if not self.is_open:
            raise Refused(f"Shift {self.shift_id} is closed (Z {self.z_number}); open a new shift")

    def to_dict(self) -> dict[str, Any]:
        return {
            "shift_id": self.shift_id, "opened_by": self.opened_by, "opened_at": self.opened_at,
            "opening_float": self.opening_float,
            "movements": [{"kind": m.kind, "amount": m.amount, "reason": m.reason, "clerk_id": m.clerk_id,
                           "at": m.at} for m in self.movements],
            "z_number": self.z_number, "counted_cash": self.counted_cash,
            "closed_by": self.closed_by, "closed_at": self.closed_at,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Shift:
        try:
            moves = tuple(CashMovement(m["kind"], int(m["amount"]), m["reason"], m["clerk_id"], m["at"])
                          for m in d.get("movements", []))
            if any(m.kind not in MOVEMENT_KINDS for m in moves):
                raise ValueError("unknown movement kind")
            return cls(d["shift_id"], d["opened_by"], d["opened_at"], int(d["opening_float"]), moves,
                       d.get("z_number"), d.get("counted_cash"), d.get("closed_by"), d.get("closed_at"))
        except (KeyError, TypeError, ValueError) as err:
            raise DomainError(f"Saved shift is unreadable ({err!r})") from None


def _amount(value: object, *, allow_zero: bool, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or (value == 0 and not allow_zero):
        raise Refused(f"{what} must be a {'' if allow_zero else 'positive '}amount of money"
                      f"{', or zero' if allow_zero else ''}")
