"""Read models the register hands to front ends: immutable snapshots, cheap to compare by `revision`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from firmware.domain.lines import Qty
from firmware.domain.receipt_model import Receipt

if TYPE_CHECKING:  # core imports this module: the command types only for the checker
    from firmware.register.core.commands import Command


class Phase(StrEnum):
    """Where the cashier is: the screen the UI shows follows it (a StrEnum: `Phase.SELL == "sell"`)."""

    LOGIN = "login"
    SELL = "sell"
    TENDER = "tender"
    COMMITTING = "committing"  # a receipt is on its way to the journal; the drawer opens when it is durable
    DONE = "done"


@dataclass(frozen=True)
class Outcome:
    """What a register command did: `ok`, a sentence for the cashier, and optional data."""

    ok: bool
    message: str = ""
    data: Any = None

    @classmethod
    def refused(cls, message: str) -> Outcome:
        return cls(False, message)


@dataclass(frozen=True)
class ConfirmFirst:
    """`Outcome.data` of a command the register will only carry out once the cashier says yes: ask `question`,
    and on yes send `command` (the same command, marked confirmed)."""

    question: str
    command: Command
    yes: str = "Yes"


@dataclass(frozen=True)
class WeightWanted:
    """`Outcome.data` when a weighed item needs its weight: ask for it (or show the scale), then send `command`
    again with `weight` set (`dataclasses.replace(command, weight="0.730")`), or unchanged to take the scale's."""

    command: Command
    name: str
    price: int  # per kg
    question: str = ""
    field: str = "weight"  # the command's field that carries the weight ("qty" for AddSku)


@dataclass(frozen=True)
class AgeCheckWanted:
    """`Outcome.data` when an item has a minimum age (docs/item-prompts.md): ask the cashier, then send `command`
    again with `age` set (`replace(command, age=AgeAnswer(True, dob))`), or with `AgeAnswer(False)` to refuse."""

    command: Command
    name: str
    min_age: int
    dob_wanted: bool = False  # [shop] age_check_dob: ask for the date of birth too


@dataclass(frozen=True)
class ScaleView:
    """The scale as the weight dialog shows it: `status` stable|unstable|overload|under_zero|error|offline."""

    status: str
    weight: Decimal | None = None
    detail: str = ""

    @property
    def text(self) -> str:
        """ "0.730 kg", or what the scale says instead."""
        if self.weight is not None and self.status in ("stable", "unstable"):
            return f"{self.weight:.3f} kg" + ("" if self.status == "stable" else " (moving)")
        return {"overload": "overloaded", "under_zero": "below zero", "offline": "not answering"}.get(
            self.status, self.detail or self.status)


@dataclass(frozen=True)
class ClerkInfo:
    clerk_id: str
    name: str
    role: str


@dataclass(frozen=True)
class ItemInfo:
    """A search result. `variants` > 0: a parent (docs/stock.md#variants): `sku` is its id, `price` the lowest of
    its variants, and picking it opens the variant grid. `image`: the SHA-256 of its picture, or ""."""

    sku: str
    name: str
    price: int
    weighed: bool = False
    variants: int = 0
    image: str = ""
    stock: str = ""  # as the cashier reads it: "3 in stock", "Out of stock"; "" when not tracked (docs/stock.md)


@dataclass(frozen=True)
class StockInfo:
    """An item's stock as this till sees it (docs/stock.md): the fleet's last snapshot plus its own sales, refunds
    and counts since. For the stock-take screen."""

    sku: str
    name: str
    weighed: bool
    on_hand: int | None  # stock units: pieces, or grams for weighed goods; None: nobody counted it yet
    text: str  # "3 in stock", "0.730 kg in stock", "Out of stock", "Not counted yet"


@dataclass(frozen=True)
class VariantCellView:
    """One cell of a variant grid: `sku` None is a combination the shop does not sell (greyed, not tappable);
    `on_hand` None when the register does not know the stock."""

    row: str
    col: str
    sku: str | None = None
    price: int = 0
    on_hand: int | None = None


@dataclass(frozen=True)
class VariantGridView:
    """A parent's variants as rows x columns (a third axis: one page per value, `page` the one shown)."""

    parent: str
    name: str
    row_axis: str
    col_axis: str
    rows: tuple[str, ...]
    cols: tuple[str, ...]
    cells: tuple[tuple[VariantCellView, ...], ...]
    page_axis: str = ""
    pages: tuple[str, ...] = ()
    page: str | None = None
    image: str = ""  # the SHA-256 of the first variant's picture that has one, or ""


@dataclass(frozen=True)
class QuickKeyInfo:
    label: str
    sku: str
    price: int
    weighed: bool = False  # sold by weight: `price` is per kg


@dataclass(frozen=True)
class LineView:
    """One cart line. `discount` is the line's own, `amount` the line after it; `cart_discount` is this line's
    share of a discount on the whole cart, so the line is worth `net` (= amount - cart_discount) in the total."""

    line_no: int
    sku: str
    name: str
    qty: Qty
    unit_price: int
    discount: int
    amount: int
    voided: bool = False
    cart_discount: int = 0
    source: str = ""  # "label": priced by a shop scale's label (the label's price, not a price per unit)

    @property
    def qty_text(self) -> str:
        """ "0.730 kg" for a weighed line (its qty is a Decimal of kilograms), "2" otherwise."""
        return f"{self.qty:.3f} kg" if isinstance(self.qty, Decimal) else str(self.qty)

    @property
    def gross(self) -> int:
        """Before any discount."""
        return self.amount + self.discount

    @property
    def net(self) -> int:
        return self.amount - self.cart_discount


@dataclass(frozen=True)
class TotalsView:
    subtotal: int = 0
    tax: int = 0
    total: int = 0
    paid: int = 0
    due: int = 0
    change: int = 0
    rounding: int = 0
    cash_due: int = 0
    discount: int = 0


@dataclass(frozen=True)
class Message:
    level: str  # "info" | "warn" | "error" | "notice" (news from a background job, e.g. an export: shown as a dialog)
    text: str
    at: datetime | None = None
    topic: str = ""  # "scan": about a scan (the UI plays the scan-error sound for it)


@dataclass(frozen=True)
class SyncView:
    online: bool = False
    pending: int = 0
    quarantined: int = 0
    oldest_pending_at: datetime | None = None
    last_sync_at: datetime | None = None
    stale: bool = False
    fault: str | None = None
    quarantined_items: tuple[Any, ...] = ()
    conflicts: int = 0  # of quarantined: the fleet holds a different receipt under the id
    rollbacks: int = 0  # times the journal was found rolled back (restored from an older copy)
    punches_unsent: int = 0  # time clock punches the fleet has not confirmed yet (`punch_pending` records)
    mails_unsent: int = 0  # e-mail requests the fleet has not taken over yet (`mail_request` records)
    stock_unsent: int = 0  # receipts' and counts' stock records no fleet snapshot holds yet (`stock` records)
    mails_refused: tuple[RefusedMail, ...] = ()  # newest first (`mail_done` records with `refused`)


@dataclass(frozen=True)
class RefusedMail:
    """An e-mail request the fleet will never send, as the status page lists it: the address masked
    (firmware.fleet_records.mask_address; '' for a request refused before it was kept), the fleet's reason."""

    request_id: str
    receipt_id: str
    to: str
    reason: str
    requested_at: str | None = None  # ISO UTC, as journaled


@dataclass(frozen=True)
class DeviceHealth:
    ok: bool
    state: str
    detail: str = ""


@dataclass(frozen=True)
class ParkedInfo:
    """A parked cart as the recall list shows it: `number` ("P3", short, per Z period), `code` (the slip's
    barcode), the clerk who parked it, when, and what it is worth."""

    park_id: str
    clerk_id: str
    parked_at: datetime
    lines: int
    total: int
    stale: bool
    number: str = ""
    code: str = ""
    clerk_name: str = ""


@dataclass(frozen=True)
class RefundLineView:
    """One line of a receipt being refunded: what was sold, what earlier refunds gave back, what is left."""

    line_no: int
    sku: str
    name: str
    unit_price: int
    sold: Qty  # int, or Decimal kg for a weighed line
    refunded: Qty
    left: Qty
    amount: int  # what the customer paid for the whole line
    weighed: bool = False
    chosen: object = 0  # the quantity asked about, as asked (a number, or the text typed)
    give_back: int = 0  # what the chosen quantity pays back


class AccountKind(StrEnum):
    """What `Register.account_balance` looks up: a gift card by its number, or a customer's loyalty points."""

    GIFT_CARD = "gift_card"
    POINTS = "points"


@dataclass(frozen=True)
class AccountBalanceView:
    """A balance check (gift card or loyalty points) as the cashier reads it.

    `ok` False: `text` says why there is no balance (a mistyped card number, gift cards not set up). `balance` is
    minor units (a card) or points; `issued_at` is the fleet snapshot's time (None: no snapshot yet) and
    `local_changes` how many movements of this register are not in it yet."""

    ok: bool
    text: str
    masked: str = ""
    balance: int = 0
    issued_at: datetime | None = None
    local_changes: int = 0


@dataclass(frozen=True)
class RefundView:
    """A receipt as the refund screen shows it, and what refunding the chosen quantities would give back.

    `give_back` is what a card refund pays, `give_back_cash` the same rounded for cash; `problem` says why the
    chosen quantities cannot be refunded (None when they can), in the cashier's words.
    """

    receipt_id: str
    seq: int
    created_at: str
    currency: str
    total: int
    lines: tuple[RefundLineView, ...]
    give_back: int = 0
    give_back_cash: int = 0
    problem: str | None = None
    tenders: tuple[str, ...] = ("cash",)  # how it may be paid back

    @property
    def fully_refunded(self) -> bool:
        return all(not line.left for line in self.lines)


@dataclass(frozen=True)
class LockoutView:
    """A PIN gate (login, manager approval): `seconds` left of a lockout (0 = open) and, once a wrong PIN
    was typed, `tries_left` before the next lockout (None when nothing was lost yet)."""

    seconds: int = 0
    tries_left: int | None = None


@dataclass(frozen=True)
class FoundReceipts:
    """A receipt search (`FindReceipts`) as the screen shows it: `searching` until the finder answers, then the
    `receipts` found (newest first, one page), `more` when older ones may match (ask again with
    `before_seq=next_before`), or `error` in the cashier's words. `search_id` names the search (the command's
    Outcome data): a screen shows only the answer to the search it asked for."""

    search_id: str
    searching: bool = True
    before_seq: int | None = None  # the page asked for (None: the newest)
    receipts: tuple[Receipt, ...] = ()
    more: bool = False
    next_before: int = 0
    scanned: int = 0
    error: str = ""


@dataclass(frozen=True)
class TimeClockView:
    """Where one clerk stands on the time clock (docs/timeclock.md): `state` "off", "working" or "on_break",
    `since` the last punch, `shift_start` the clock-in of the shift under way, and `allowed` the punches the
    screen offers now (the domain's `TimeClock.allowed`, in punch order)."""

    clerk_id: str
    state: str = "off"
    since: datetime | None = None
    shift_start: datetime | None = None
    allowed: tuple[str, ...] = ("clock_in",)


@dataclass(frozen=True)
class RegisterView:
    """Everything a screen needs to draw the register, at one revision."""

    revision: int
    store: str
    register: str
    currency: str
    phase: Phase
    clerk: ClerkInfo | None = None
    lines: tuple[LineView, ...] = ()
    totals: TotalsView = TotalsView()
    tenders: tuple[dict[str, Any], ...] = ()
    customer_code: str | None = None
    last_receipt: Receipt | None = None  # the receipt just committed, shown on "done"
    message: Message | None = None
    flash_line: int | None = None
    sync: SyncView = SyncView()
    health: dict[str, DeviceHealth] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    print_backlog: int = 0
    currency_display: str = "symbol"  # [shop] currency_display: "symbol" (€12.90) or "code" (EUR 12.90)
    timezone: str = ""  # [shop] timezone (IANA name): the shop's days and times on screen; "" = the system's zone
    receipt_scan: tuple[int, str] | None = None  # (count, code): the last receipt barcode a hal scanner read
    # (count, code): the last loyalty card scanned on the sale that several customers hold: the panel lists them
    card_scan: tuple[int, str] | None = None
    scale: ScaleView | None = None  # None: no scale configured
    # promotions of this cart with a time window, held back while the till's clock is not trusted
    # (docs/promotions.md "Untrusted clock rule"): their names, for the cashier's note (`held_back_note`)
    held_back: tuple[str, ...] = ()
    # the time clock: every clerk it knows (one never punched is "off", `time_clock_of`), and the clerk whose
    # punch the journal writer is saving now (None: none)
    time_clock: tuple[TimeClockView, ...] = ()
    punching: str | None = None
    found: FoundReceipts | None = None  # the last receipt search (`FindReceipts`), None before the first
    receipt_header: tuple[str, ...] = ()  # the shop's lines printed atop every receipt (`printout.shop_header`)
    receipt_page: str = ""  # [shop] receipt_page: receipts print a QR code of their page there ("" = none)

    def time_clock_of(self, clerk_id: str) -> TimeClockView:
        """Where `clerk_id` stands on the time clock ("off", only clock in allowed, when it has no punch yet)."""
        return next((t for t in self.time_clock if t.clerk_id == clerk_id), TimeClockView(clerk_id))

    @property
    def held_back_note(self) -> str:
        """ "Happy hour -20% not applied: the till's clock is not set" ("" when nothing is held back)."""
        if not self.held_back:
            return ""
        return f"{', '.join(self.held_back)} not applied: the till's clock is not set"
