"""A tiny stand-in implementing `RegisterApi`, for pure widget and layout tests (flows use the real register).

`tests/ui/test_fake_register.py` checks it against `RegisterApi` (and the real
`Register` against it too), so the fake cannot drift from what the UI may call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from firmware.clock import ManualClock
from firmware.domain.receipt_model import Receipt
from firmware.register.commands import Command, Login
from firmware.register.view import (
    AccountBalanceView,
    AccountKind,
    ClerkInfo,
    ItemInfo,
    LineView as Line,
    LockoutView,
    Message as Msg,
    Outcome,
    ParkedInfo,
    Phase,
    QuickKeyInfo,
    RefundView,
    RegisterView,
    StockInfo,
    SyncView as Sync,
    TotalsView as Totals,
    VariantGridView,
)

__all__ = ["FakeRegister", "Line", "Msg", "Sync", "Totals", "View", "NOW"]


def View(**fields: Any) -> RegisterView:
    """The real read model, with defaults for a logged-out, online register."""
    base: dict[str, Any] = dict(revision=0, store="S1", register="R1", currency="EUR", phase=Phase.LOGIN,
                                sync=Sync(online=True))
    base.update(fields)
    return RegisterView(**base)


class FakeRegister:
    """Records commands (`calls`); `fail[CommandType] = "why"` refuses them; `set(**fields)` changes the view."""

    def __init__(self, n_quick: int = 6) -> None:
        self._view = View()
        self.calls: list[Command] = []
        self.items = [QuickKeyInfo(label=f"Item {i}", sku=f"{1000 + i}", price=100 + i * 10) for i in range(n_quick)]
        self.changed = False
        self.fail: dict[type[Command], str] = {}
        self.clock = ManualClock()  # the register's own clock (receipt times, export days, lockouts)
        self.locks: dict[str, tuple[datetime | None, int | None]] = {}  # purpose -> (locked until, tries left)
        self.refunds: dict[str, RefundView] = {}  # code -> what `refund_preview` answers
        self.balances: dict[str, AccountBalanceView] = {}  # card number or customer -> what a balance check says
        self.grids: dict[str, VariantGridView] = {}  # parent -> its variant grid (set by a test)
        self.images: dict[str, bytes] = {}  # sha256 -> an item picture's bytes (set by a test)
        self.stock: dict[str, int] = {}  # sku -> units on hand (set by a test); stock_of reads it

    def set(self, **fields: Any) -> None:
        self._view = replace(self._view, revision=self._view.revision + 1, **fields)
        self.changed = True

    def handle(self, command: Command) -> Outcome:
        self.calls.append(command)
        if type(command) in self.fail:
            return Outcome(False, self.fail[type(command)])
        if isinstance(command, Login):
            self.set(phase=Phase.SELL, clerk=ClerkInfo("c1", "Anna", "cashier"))
        return Outcome(True, "")

    def pump(self, max_events: int = 200) -> bool:
        changed, self.changed = self.changed, False
        return changed

    def view(self) -> RegisterView:
        return self._view

    def clerks(self) -> list[ClerkInfo]:
        return [ClerkInfo("c1", "Anna", "cashier"), ClerkInfo("m1", "Maria", "manager")]

    def demo_pins(self) -> dict[str, str]:
        return {"c1": "1111", "m1": "9999"}

    def quick_keys(self) -> list[QuickKeyInfo]:
        return self.items

    def search(self, text: str, limit: int = 20) -> list[ItemInfo]:
        return [ItemInfo(k.sku, k.label, k.price) for k in self.items if text.lower() in k.label.lower()][:limit]

    def variant_grid(self, parent: str, page: str | None = None) -> VariantGridView | None:
        """`grids[parent]` (set by a test), on `page` when it is one of its pages."""
        found = self.grids.get(parent)
        return replace(found, page=page) if found is not None and page in found.pages else found

    def item_image(self, sha256: str) -> bytes | None:
        return self.images.get(sha256)

    def stock_of(self, code: str) -> StockInfo | None:
        """An item of `items` by sku, with `stock[sku]` units on hand (set by a test; None: not counted)."""
        item = next((k for k in self.items if k.sku == code.strip()), None)
        if item is None:
            return None
        units = self.stock.get(item.sku)
        text = "Not counted yet" if units is None else (f"{units} in stock" if units > 0 else "Out of stock")
        return StockInfo(item.sku, item.label, False, units, text)

    def recent_receipts(self, limit: int = 20) -> list[dict[str, Any]]:
        return []

    def find_receipt(self, receipt_id: str) -> Receipt | None:
        return None

    def parked(self) -> list[ParkedInfo]:
        return []

    def refund_preview(self, code: str, lines: Mapping[int, object] | None = None) -> RefundView | None:
        """`refunds[code]` (set by a test), with the chosen quantities filled in; None when there is none."""
        found = self.refunds.get(code.strip())
        if found is None:
            return None
        chosen = {n: q for n, q in (lines or {}).items() if q}
        rows = tuple(replace(line, chosen=chosen.get(line.line_no, 0),
                             give_back=line.amount * int(chosen.get(line.line_no, 0)) // max(1, int(line.sold)))
                     for line in found.lines)
        give = sum(line.give_back for line in rows)
        return replace(found, lines=rows, give_back=give, give_back_cash=give)

    def lock(self, purpose: str, seconds: float = 0, tries_left: int | None = None) -> None:
        """Shut the PIN gate `purpose` for `seconds` of the fake's clock (0 = open), or warn of `tries_left`."""
        until = self.clock.now() + timedelta(seconds=seconds) if seconds else None
        self.locks[purpose] = (until, tries_left)

    def lockout(self, purpose: str = "login", clerk_id: str | None = None) -> LockoutView:
        until, tries_left = self.locks.get(purpose, (None, None))
        left = (until - self.clock.now()).total_seconds() if until is not None else 0
        if left > 0:
            return LockoutView(math.ceil(left), 0)
        return LockoutView(0, tries_left)

    def account_balance(self, kind: AccountKind, key: str) -> AccountBalanceView:
        """`balances[key]` (set by a test), else no such card / no points yet."""
        if kind is AccountKind.GIFT_CARD:
            return self.balances.get(key.strip(), AccountBalanceView(False, "No such gift card"))
        return self.balances.get(key.strip(), AccountBalanceView(True, f"Customer {key}: 0 points"))


NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
