"""`RegisterApi`: what a front end (the pygame UI, a headless runner, a test's fake) may ask of a register.

`firmware.register.Register` implements it; `tests/ui/fake_register.py`
implements it too, and `tests/ui/test_fake_register.py` checks that the two
cannot drift apart (same names, same parameters).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from firmware.clock import Clock
from firmware.register.core.commands import Command
from firmware.register.core.state import Receipt, ReceiptDoc
from firmware.register.view import (
    AccountBalanceView,
    AccountKind,
    ClerkInfo,
    ItemInfo,
    LockoutView,
    Outcome,
    ParkedInfo,
    QuickKeyInfo,
    RefundView,
    RegisterView,
    StockInfo,
    VariantGridView,
)


@runtime_checkable
class RegisterApi(Protocol):
    """Commands in (`handle`), read models out; one thread calls it (the UI's), every frame."""

    @property
    def clock(self) -> Clock:
        """The register's clock (receipt times, export days, lockouts)."""
        ...

    def handle(self, command: Command) -> Outcome:
        """Carry out a command (firmware.register.core.commands); never raises."""
        ...

    def pump(self, max_events: int = 200) -> bool:
        """Apply queued events from hardware, the journal writer and sync; True when the view changed."""
        ...

    def view(self) -> RegisterView: ...
    def clerks(self) -> list[ClerkInfo]: ...
    def demo_pins(self) -> dict[str, str]: ...
    def quick_keys(self) -> list[QuickKeyInfo]: ...
    def search(self, text: str, limit: int = 20) -> list[ItemInfo]: ...

    def variant_grid(self, parent: str, page: str | None = None) -> VariantGridView | None:
        """A variant parent's grid (docs/stock.md#variants), None when `parent` is not one."""
        ...

    def item_image(self, sha256: str) -> bytes | None:
        """An item picture's bytes from the device's image cache (hash-checked), None when it has none
        (docs/item-images.md)."""
        ...

    def stock_of(self, code: str) -> StockInfo | None:
        """The stock of the item an sku or barcode names, as this till sees it (docs/stock.md)."""
        ...

    def recent_receipts(self, limit: int = 20) -> list[ReceiptDoc]: ...
    def find_receipt(self, receipt_id: str) -> Receipt | None: ...
    def parked(self) -> list[ParkedInfo]: ...
    def refund_preview(self, code: str, lines: Mapping[int, object] | None = None) -> RefundView | None: ...
    def lockout(self, purpose: str = "login", clerk_id: str | None = None) -> LockoutView: ...

    def account_balance(self, kind: AccountKind, key: str) -> AccountBalanceView:
        """A gift card's balance or a customer's loyalty points as this register knows them (docs/accounts.md)."""
        ...
