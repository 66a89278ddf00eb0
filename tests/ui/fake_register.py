"""A tiny stand-in with just the RegisterView shape, for pure widget and layout tests (flows use the real register)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str = ""
    data: Any = None


@dataclass(frozen=True)
class Info:
    clerk_id: str = ""
    name: str = ""
    role: str = "cashier"
    label: str = ""
    sku: str = ""
    price: int = 0


@dataclass(frozen=True)
class Line:
    line_no: int
    sku: str
    name: str
    qty: int
    unit_price: int
    discount: int
    amount: int
    voided: bool = False


@dataclass(frozen=True)
class Totals:
    subtotal: int = 0
    tax: int = 0
    total: int = 0
    paid: int = 0
    due: int = 0
    change: int = 0
    rounding: int = 0


@dataclass(frozen=True)
class Msg:
    level: str
    text: str
    at: datetime | None = None


@dataclass(frozen=True)
class Sync:
    online: bool = True
    pending: int = 0
    quarantined: int = 0
    oldest_pending_at: datetime | None = None
    last_sync_at: datetime | None = None
    stale: bool = False
    fault: str | None = None
    quarantined_items: tuple[Any, ...] = ()


@dataclass(frozen=True)
class View:
    revision: int = 0
    store: str = "S1"
    register: str = "R1"
    currency: str = "EUR"
    phase: str = "login"
    clerk: Info | None = None
    lines: tuple[Line, ...] = ()
    totals: Totals = Totals()
    tenders: tuple[dict[str, Any], ...] = ()
    customer_code: str | None = None
    last_receipt: dict[str, Any] | None = None
    message: Msg | None = None
    flash_line: int | None = None
    sync: Sync = Sync()
    health: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    print_backlog: int = 0


class FakeRegister:
    """Records commands; `set(**fields)` changes the view as the register would."""

    def __init__(self, n_quick: int = 6) -> None:
        self._view = View()
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.items = [Info(label=f"Item {i}", name=f"Item {i}", sku=f"{1000 + i}", price=100 + i * 10) for i in range(n_quick)]
        self.changed = False
        self.fail: dict[str, str] = {}

    def set(self, **fields: Any) -> None:
        self._view = replace(self._view, revision=self._view.revision + 1, **fields)
        self.changed = True

    def pump(self, max_events: int = 200) -> bool:
        changed, self.changed = self.changed, False
        return changed

    def view(self) -> View:
        return self._view

    def clerks(self) -> list[Info]:
        return [Info("c1", "Anna"), Info("m1", "Maria", "manager")]

    def demo_pins(self) -> dict[str, str]:
        return {"c1": "1111", "m1": "9999"}

    def quick_keys(self) -> list[Info]:
        return self.items

    def search(self, text: str, limit: int = 20) -> list[Info]:
        return [i for i in self.items if text.lower() in i.name.lower()][:limit]

    def recent_receipts(self, limit: int = 20) -> list[dict[str, Any]]:
        return []

    def parked(self) -> list[Any]:
        return []

    def __getattr__(self, name: str) -> Any:
        def command(*args: Any, **kwargs: Any) -> Outcome:
            self.calls.append((name, args, kwargs))
            if name in self.fail:
                return Outcome(False, self.fail[name])
            if name == "login":
                self.set(phase="sell", clerk=Info("c1", "Anna"))
            return Outcome(True, "")

        return command


NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
