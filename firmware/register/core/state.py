"""The register's state as one immutable value: phase, clerk, sale, health, pending follow-ups, catalog and roster."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Protocol

from firmware.clock import parse_iso_utc
from firmware.config import Config, PolicyConfig
from firmware.domain.catalog import Catalog
from firmware.domain.clerks import Clerk, Roster
from firmware.domain.credit import AccountKey, Movement, Position, Through
from firmware.domain.layby import LaybyBook
from firmware.domain.lockout import Lockout
from firmware.domain.money import money_formatter
from firmware.domain.receipt_model import Receipt as Receipt
from firmware.domain.sale import Sale
from firmware.domain.timeclock import TimeClock
from firmware.register.exporter import ExportFinished
from firmware.register.guard import plural
from firmware.register.view import DeviceHealth, FoundReceipts, Message, Phase as Phase, RefusedMail, SyncView
from hal.events import WeightRead

ReceiptDoc = dict[str, Any]  # a receipt as the journal stores it (JSON: firmware/contract/schemas/receipt.json)
Report = dict[str, Any]  # an X or Z report document (JSON: firmware/contract/schemas/report.json)

STALE_AFTER = timedelta(minutes=5)


_DEVICES: Mapping[str, DeviceHealth] = MappingProxyType({
    "printer": DeviceHealth(True, "ready"),
    "scanner": DeviceHealth(True, "ready"),
    "drawer": DeviceHealth(True, "closed"),
    "broker": DeviceHealth(False, "not connected yet"),
    "journal": DeviceHealth(True, "ok"),
})


class OutboxSummary(Protocol):
    """What the journal's `summary()` returns (firmware.journal.DeliverySummary), as far as the register reads it.

    `conflicts` and `rollbacks` are read when present (0 otherwise).
    """

    @property
    def pending(self) -> int: ...
    @property
    def delivered(self) -> int: ...
    @property
    def quarantined(self) -> int: ...
    @property
    def oldest_pending_at(self) -> str | datetime | None: ...
    @property
    def last_delivered_at(self) -> str | datetime | None: ...
    @property
    def last_confirmed_at(self) -> str | datetime | None: ...
    @property
    def quarantined_items(self) -> Sequence[dict[str, Any]]: ...


def _moment(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return parse_iso_utc(str(value))


@dataclass(frozen=True)
class Health:
    """Device health by name, the sync state, and what the warnings are derived from."""

    devices: Mapping[str, DeviceHealth] = field(default_factory=lambda: _DEVICES)
    sync: SyncView = SyncView()
    offline_since: datetime | None = None
    drawer_warning: str | None = None
    days_left: float | None = None

    def with_device(self, name: str, ok: bool, state: str, detail: str = "") -> Health:
        """This health with device `name` set (the same object when nothing changed)."""
        new = DeviceHealth(ok, state, detail)
        if self.devices.get(name) == new:
            return self
        return replace(self, devices=MappingProxyType({**self.devices, name: new}))

    def with_link(self, online: bool, now: datetime, reason: str = "") -> Health:
        if online:
            health = replace(self, offline_since=None).with_device("broker", True, "connected")
        else:
            health = self if self.offline_since is not None else replace(self, offline_since=now)
            health = health.with_device("broker", False, "offline", reason)
        return replace(health, sync=replace(health.sync, online=online))

    def with_outbox(self, summary: OutboxSummary, now: datetime) -> Health:
        """Counts from the journal's outbox summary (an `OutboxSummary`; times as ISO strings or datetimes)."""
        last_sync = _moment(summary.last_confirmed_at) or _moment(summary.last_delivered_at) or self.sync.last_sync_at
        oldest = _moment(summary.oldest_pending_at)
        pending = summary.pending + summary.delivered
        reference = last_sync or oldest
        stale = bool(pending) and (reference is None or now - reference > STALE_AFTER)
        return replace(self, sync=replace(
            self.sync, pending=pending, quarantined=summary.quarantined, oldest_pending_at=oldest,
            last_sync_at=last_sync, stale=stale, quarantined_items=tuple(summary.quarantined_items),
            conflicts=getattr(summary, "conflicts", 0), rollbacks=getattr(summary, "rollbacks", 0),
        ))

    def with_records(self, punches_unsent: int, mails_unsent: int, mails_refused: tuple[RefusedMail, ...],
                     stock_unsent: int = 0) -> Health:
        """Counts of the journaled records sync sends besides receipts (firmware/register/records_status.py)."""
        sync = replace(self.sync, punches_unsent=punches_unsent, mails_unsent=mails_unsent,
                       mails_refused=mails_refused, stock_unsent=stock_unsent)
        return self if sync == self.sync else replace(self, sync=sync)

    def with_fault(self, fault: str | None) -> Health:
        return self if self.sync.fault == fault else replace(self, sync=replace(self.sync, fault=fault))

    def warnings(self, now: datetime, policy: PolicyConfig) -> tuple[str, ...]:
        """Sentences for the top bar, by the config's `[policy]` thresholds."""
        out = []
        if self.offline_since and now - self.offline_since > timedelta(hours=policy.offline_warn_hours):
            hours = int((now - self.offline_since).total_seconds() // 3600)
            out.append(f"Offline for {hours} hours: receipts are safe here, call the technician if this goes on")
        if self.sync.pending > policy.pending_warn_count:
            out.append(f"{plural(self.sync.pending, 'receipt')} waiting to be sent")
        if self.sync.quarantined:
            out.append(f"{plural(self.sync.quarantined, 'receipt')} refused by the fleet: see Status")
        if self.days_left is not None and self.days_left < 30:
            out.append(f"Disk space left for about {int(self.days_left)} days of sales")
        journal = self.devices.get("journal")
        if journal is not None and journal.state == "damaged":
            out.append("The sales journal reports damage: keep selling, and call the technician today")
        if self.drawer_warning:
            out.append(self.drawer_warning)
        return tuple(out)

    def led_state(self) -> str:
        """"fault", "pending" or "online" (the LED colour the register asks for)."""
        critical = ("printer", "journal", "scanner")
        if any(not self.devices[name].ok for name in critical if name in self.devices) or self.sync.fault:
            return "fault"
        if not self.sync.online or self.sync.pending or self.sync.quarantined:
            return "pending"
        return "online"


@dataclass(frozen=True)
class CardBalance:
    """A gift card as the fleet's snapshot has it."""

    balance: int
    last4: str
    offline_limit: int | None = None
    blocked: bool = False


_NONE: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class AccountsBook:
    """What the register knows of accounts (docs/accounts.md): the fleet's last snapshot (`version` 0: none yet)
    and this register's own movements the snapshot does not include (`local`, from its receipts)."""

    version: int = 0
    issued_at: datetime | None = None
    currency: str | None = None
    through: Through = Through()
    loyalty: Mapping[str, int] = field(default_factory=lambda: _NONE)
    gift_cards: Mapping[str, CardBalance] = field(default_factory=lambda: _NONE)
    on_account: Mapping[str, tuple[int, int | None]] = field(default_factory=lambda: _NONE)  # owed, limit
    local: tuple[tuple[AccountKey, Movement], ...] = ()

    def snapshot_balance(self, key: AccountKey) -> int:
        if key.ledger == "loyalty":
            return self.loyalty.get(key.account, 0)
        if key.ledger == "gift_card":
            card = self.gift_cards.get(key.account)
            return 0 if card is None else card.balance
        owed = self.on_account.get(key.account)
        return 0 if owed is None else owed[0]

    def position(self, key: AccountKey, pending: Sequence[tuple[AccountKey, Movement]] = ()) -> Position:
        """The account's balance shown: snapshot + this register's movements since + `pending` (the open sale's)."""
        moves = tuple(m for k, m in (*self.local, *pending) if k == key)
        return Position(self.snapshot_balance(key), self.through, moves)

    def with_local(self, moves: Sequence[tuple[AccountKey, Movement]]) -> AccountsBook:
        """This book with more of the register's own movements (those the snapshot includes are left out)."""
        fresh = tuple((k, m) for k, m in moves if not self.through.includes(m))
        return replace(self, local=self.local + fresh) if fresh else self


@dataclass(frozen=True)
class RegisterState:
    """Everything the register decides from, at one moment. Handlers return a new one; nothing changes in place."""

    catalog: Catalog
    roster: Roster
    phase: Phase = Phase.LOGIN
    clerk: Clerk | None = None
    sale: Sale | None = None
    flash_line: int | None = None  # the line just added, for scan feedback
    last_receipt: Receipt | None = None  # shown on "done"
    message: Message | None = None
    health: Health = field(default_factory=Health)
    lockouts: Mapping[str, Lockout] = field(default_factory=lambda: MappingProxyType({}))  # held PIN counters
    print_jobs: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # job id -> receipt id
    last_created_at: str | None = None  # the newest receipt time seen (None: not read from the journal yet)
    last_export: ExportFinished | None = None  # the last export's result, once pumped
    # (count, code): a code read by a hal scanner for the UI, not for the cart: a receipt's barcode, or any code
    # while `scans_held` (a screen that takes scans itself is up)
    receipt_scan: tuple[int, str] | None = None
    scans_held: bool = False
    card_scan: tuple[int, str] | None = None  # (count, code): a loyalty card several customers hold, for the UI to list
    scale: WeightRead | None = None  # the scale's last reading (handlers/weighed.py); None before the first
    accounts: AccountsBook = field(default_factory=AccountsBook)  # loyalty, gift cards, on-account (accounts.py)
    timeclock: TimeClock = field(default_factory=TimeClock)  # clerks' punches, replayed at start (timeclock.py)
    laybys: LaybyBook = field(default_factory=LaybyBook)  # laybys: snapshot + this register's since (layby.py)
    punching: str | None = None  # the clerk whose punch the journal writer is saving (one at a time)
    receipt_search: FoundReceipts | None = None  # the last receipt search and its answer (handlers/finder.py)


def currency_of(state: RegisterState, config: Config) -> str:
    """The money of this register: the catalog's, else the shop's."""
    return state.catalog.currency or config.shop.currency


def money_of(state: RegisterState, config: Config) -> Callable[[int], str]:
    """How this register writes an amount in a sentence: `money_of(state, config)(317)` -> "€3.17"."""
    return money_formatter(currency_of(state, config), config.shop.currency_display)


def tax_rates_of(state: RegisterState, config: Config) -> dict[str, str]:
    """Tax code -> rate: the catalog's, else the shop's."""
    return dict(state.catalog.tax_rates or config.shop.tax_rates)


def sale_rates_of(state: RegisterState, config: Config) -> dict[str, str]:
    """The rates a sale is taxed by: `tax_rates_of`, plus the gift card lines' code at 0 (a gift card is a
    liability, not a supply: docs/accounts.md) unless the rates name that code themselves."""
    return {config.accounts.giftcard_tax_code: "0", config.layby.tax_code: "0", **tax_rates_of(state, config)}
