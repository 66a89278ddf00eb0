"""What a handler may know besides the state: the config, the time, fresh ids, and read-only lookups.

Handlers never write and never read a clock: the shell passes `now`, a
source of ids and a `Lookup` (read-only queries on the journal and the state
records on their way to it) into every call, so a test can hand in plain data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from firmware.config import Config
from firmware.domain.customers import Customer, CustomerEdit
from firmware.domain.stock import StockCheck
from firmware.register.core.state import Receipt

StateDoc = dict[str, Any]  # a state record's JSON document (parked cart, shift, Z counter, refund index, lockout)


class Lookup(Protocol):
    """Read-only questions a handler may ask (firmware.register.shell answers them from the journal)."""

    def state_record(self, kind: str, key: str) -> StateDoc | None:
        """A state record, including one written but not yet on disk (firmware.register.states)."""
        ...

    def state_records(self, kind: str) -> dict[str, StateDoc]:
        ...

    def receipt(self, receipt_id: str) -> Receipt | None:
        ...

    def recent(self, limit: int) -> list[Receipt]:
        """The newest receipts, newest first."""
        ...

    def receipts_from(self, seq: int) -> Iterator[Receipt]:
        ...

    def last_seq(self) -> int:
        ...

    def epoch(self) -> str:
        ...

    def clock_synchronised(self) -> bool:
        """True once NTP has set the clock (a Pi has no real-time clock)."""
        ...


class CustomerReader(Protocol):
    """The register's customer book as a handler may use it (firmware.customers.CustomerBook): read, and draft
    the next edit; the shell records it (effect `RecordCustomerEdit`)."""

    def search(self, text: str, limit: int = 20) -> list[Customer]:
        ...

    def get(self, customer_id: str) -> Customer | None:
        ...

    def by_code(self, code: str) -> list[Customer]:
        """The live customers holding this card number (several when it was handed out twice)."""
        ...

    def draft(self, customer_id: str, changes: Mapping[str, str | bool], at: str) -> CustomerEdit:
        ...


class StockReader(Protocol):
    """The till's stock as a handler may read it (firmware.stock_keeper.StockKeeper; docs/stock.md)."""

    def on_hand(self, sku: str) -> int | None:
        """Stock units on hand (pieces, or grams for weighed goods); None when the sku is not tracked."""
        ...

    def check(self, sku: str, qty: int, *, name: str, weighed: bool) -> StockCheck:
        """Whether the cart taking `qty` units of `sku` in all is fine, worth a warning, or needs a manager."""
        ...

    def snapshot_at(self) -> str:
        ...


@dataclass(frozen=True)
class Context:
    """The world as one call sees it."""

    config: Config
    now: datetime
    lookup: Lookup
    new_id: Callable[[], str]  # a fresh 32-hex-digit id (uuid4 in the shell)
    has_hardware: bool = True  # printer, drawer and LED are there
    has_sync: bool = True  # a broker is configured (SyncService runs)
    customers: CustomerReader | None = None  # the customer book (docs/customers.md#on-the-till)
    stock: StockReader | None = None  # the till's stock (docs/stock.md); None: no stock kept
