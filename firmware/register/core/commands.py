"""Commands: orders a front end gives the register (`Register.handle(Scan(code))`), plain immutable data.

Each names what the cashier wants done; its handler in `core/handlers/`
decides, and the answer is an `Outcome` in the cashier's words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from firmware.receipt_finder import ReceiptQuery

Qty = object  # an int, or a decimal string/Decimal for weighed items (firmware.domain.lines parses it)


@dataclass(frozen=True)
class Command:
    """Base of every command (dispatch is by the concrete type)."""


# ---- clerks

@dataclass(frozen=True)
class Login(Command):
    clerk_id: str
    pin: str


@dataclass(frozen=True)
class Logout(Command):
    pass


@dataclass(frozen=True)
class CheckManager(Command):
    """Open the manager menu: the PIN must be a manager's (or the logged-in clerk is one)."""

    pin: str


# ---- cart

@dataclass(frozen=True)
class AgeAnswer:
    """The cashier's answer to an age check (`AgeCheckWanted`): `confirmed` (the customer is old enough) or
    not (the item is not sold); `dob` "YYYY-MM-DD" where [shop] age_check_dob asks for it."""

    confirmed: bool
    dob: str | None = None


@dataclass(frozen=True)
class Scan(Command):
    """A barcode. `weight` (kg, e.g. "0.730") is one typed before scanning a weighed item; `manager_pin` approves a
    weight outside the bounds; `age` answers an age check (docs/item-prompts.md)."""

    code: str
    weight: Qty | None = None
    manager_pin: str | None = None
    age: AgeAnswer | None = None


@dataclass(frozen=True)
class AddSku(Command):
    """An item by number; for a weighed item `qty` is its weight (the default 1 means "not given": scale or ask)."""

    sku: str
    qty: Qty = 1
    manager_pin: str | None = None
    age: AgeAnswer | None = None


@dataclass(frozen=True)
class AddQuickKey(Command):
    index: int
    weight: Qty | None = None  # weighed items: typed first, else the scale's stable reading, else asked for
    manager_pin: str | None = None
    age: AgeAnswer | None = None


@dataclass(frozen=True)
class SetQty(Command):
    line_no: int
    qty: Qty
    manager_pin: str | None = None  # a weight outside the bounds


@dataclass(frozen=True)
class VoidLine(Command):
    line_no: int
    manager_pin: str | None = None


@dataclass(frozen=True)
class DiscountLine(Command):
    line_no: int
    percent: object = None
    amount: int | None = None
    manager_pin: str | None = None


@dataclass(frozen=True)
class DiscountCart(Command):
    percent: object = None
    amount: int | None = None
    manager_pin: str | None = None


@dataclass(frozen=True)
class SetCustomer(Command):
    code: str


@dataclass(frozen=True)
class EnterCode(Command):
    """A promo code or coupon (docs/promotions.md#codes), typed or scanned."""

    code: str


@dataclass(frozen=True)
class RemoveCode(Command):
    code: str


# ---- payment

@dataclass(frozen=True)
class BeginTender(Command):
    pass


@dataclass(frozen=True)
class BackToCart(Command):
    pass


@dataclass(frozen=True)
class Tender(Command):
    """Take a payment (amount None = exactly what is due); paid in full, the sale is committed."""

    kind: str  # "cash" | "card" | "on_account" | "gift_card" (reference: the card number) | "loyalty"
    amount: int | None = None
    reference: str | None = None
    manager_pin: str | None = None
    part_payment: bool = False  # cash below what is due: the cashier confirmed "Part payment of €X?"


@dataclass(frozen=True)
class SellGiftCard(Command):
    """Put a new gift card in the cart, loaded with `amount` (its number is typed or scanned: `card_number`)."""

    card_number: str
    amount: int


@dataclass(frozen=True)
class TopUpGiftCard(Command):
    """Put a top-up of an active gift card in the cart."""

    card_number: str
    amount: int


@dataclass(frozen=True)
class RedeemGiftCard(Command):
    """Pay with a gift card: `amount`, or None for as much as the card can pay of what is due."""

    card_number: str
    amount: int | None = None


@dataclass(frozen=True)
class RedeemPoints(Command):
    """Pay with the sale's customer's loyalty points: `points`, or None for as many as can pay what is due."""

    points: int | None = None


@dataclass(frozen=True)
class RemoveTender(Command):
    """Take back a payment (0-based, in the order taken) while the sale is not finished."""

    index: int


# ---- layby (docs/layby.md)

@dataclass(frozen=True)
class OpenLayby(Command):
    """Reserve the cart's goods as a layby for `customer` (empty: the sale's customer), due on `due`
    (YYYY-MM-DD, empty: the shop's default term); the cart becomes the deposit of `deposit` to pay now."""

    deposit: int
    due: str = ""
    customer: str = ""


@dataclass(frozen=True)
class PayLayby(Command):
    """An instalment of `amount` (None: all that is left) into layby `layby`: a cart to pay now."""

    layby: str
    amount: int | None = None


@dataclass(frozen=True)
class CollectLayby(Command):
    """The customer takes a paid-off layby home: its goods are sold, paid by what the layby holds."""

    layby: str


@dataclass(frozen=True)
class CancelLayby(Command):
    """Cancel an open layby: what was paid in, less the shop's fee, is paid back by `tender_kind`."""

    layby: str
    tender_kind: str = "cash"
    manager_pin: str | None = None


@dataclass(frozen=True)
class FindLaybys(Command):
    """Laybys this register knows by id or customer (empty text: the open ones, soonest due first);
    `Outcome.data` is a tuple of firmware.domain.layby.Layby."""

    text: str = ""
    limit: int = 20


@dataclass(frozen=True)
class RetryCommit(Command):
    """Save again a paid sale whose commit failed (same sale id: never two receipts)."""


@dataclass(frozen=True)
class NewSale(Command):
    pass


# ---- back office

@dataclass(frozen=True)
class Park(Command):
    pass


@dataclass(frozen=True)
class Recall(Command):
    """Bring a parked cart back by its id or number ("P3"); another clerk's cart needs a manager."""

    park_id: str
    manager_pin: str | None = None


@dataclass(frozen=True)
class NoSale(Command):
    manager_pin: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Reprint(Command):
    receipt_id: str | None = None


@dataclass(frozen=True)
class MailReceipt(Command):
    """E-mail receipt `receipt_id` (its id in either form, or its number) to `address`: journaled now, sent by the
    fleet once it holds the receipt (docs/digital-receipts.md)."""

    receipt_id: str
    address: str


@dataclass(frozen=True)
class FindReceipts(Command):
    """Find past receipts of this register (`firmware.receipt_finder`: local days, amount, a card's last digits,
    customer code), newest first, `limit` at a time; `before_seq` pages further back (`FoundReceipts.next_before`).

    The search runs on the finder's thread: the Outcome's `data` is the search id at once, and `view().found`
    holds the answer (`FoundReceipts`, `searching` until it is there). A newer search replaces an older one."""

    query: ReceiptQuery
    before_seq: int | None = None
    limit: int = 50


@dataclass(frozen=True)
class Refund(Command):
    """Refund lines (line_no -> qty) of an earlier receipt, or a blind return of (SKU, qty) with a reason."""

    receipt_id: str | None
    lines: Mapping[int, Qty] | None = None
    tender_kind: str = "cash"
    manager_pin: str | None = None
    reason: str | None = None
    blind_items: tuple[tuple[str, Qty], ...] | None = None


# ---- time clock

@dataclass(frozen=True)
class Punch(Command):
    """A time clock punch: "clock_in", "break_start", "break_end" or "clock_out" (docs/timeclock.md).

    Without `clerk_id` it is the logged-in clerk's. With `clerk_id` (the login screen's Time clock, nobody logged
    in) `pin` must be that clerk's: it is checked at the login PIN gate, so a wrong one counts toward the same
    lockout as a wrong login. `kind` None punches nothing: only the PIN is checked (the screen then offers the
    punches the register's view allows that clerk, `RegisterView.time_clock_of`)."""

    kind: str | None
    clerk_id: str | None = None
    pin: str | None = None

    @classmethod
    def check(cls, clerk_id: str, pin: str) -> Punch:
        """Check a clerk's PIN for the time clock without punching."""
        return cls(None, clerk_id, pin)


@dataclass(frozen=True)
class Hours(Command):
    """Today's hours per clerk from this register's punches, counted up to now (an X: open shifts "so far");
    `Outcome.data` is the `HoursReport`. `print_out` prints it too."""

    print_out: bool = False


@dataclass(frozen=True)
class OpenShift(Command):
    float_amount: int


@dataclass(frozen=True)
class CashMovement(Command):
    kind: str  # "paid_in" | "paid_out" | "drop"
    amount: int
    reason: str = ""


@dataclass(frozen=True)
class XReport(Command):
    pass


@dataclass(frozen=True)
class ZReport(Command):
    counted_cash: int
    manager_pin: str | None = None


@dataclass(frozen=True)
class SyncNow(Command):
    pass


@dataclass(frozen=True)
class RetryQuarantined(Command):
    pass


@dataclass(frozen=True)
class ExportPending(Command):
    """Every receipt the fleet has not confirmed, as CSV and JSON, into `directory` (a USB stick)."""

    directory: str | Path


@dataclass(frozen=True)
class ExportRange(Command):
    """Receipts created in [start, end), as CSV and JSON, into `directory`."""

    directory: str | Path
    start: datetime
    end: datetime


# ---- stock (docs/stock.md)

@dataclass(frozen=True)
class HoldScans(Command):
    """While `held`, the hal scanner's codes go to the screen (the view's `receipt_scan`, as a receipt's barcode
    does) and are never sold: a screen that takes scans itself (the stock-take) is up."""

    held: bool


MAX_STOCK_COUNTS = 200  # counts in one CountStock: one journal record, one message to the fleet (<= 1000 deltas)


@dataclass(frozen=True)
class CountStock(Command):
    """A manager's stock-take: (sku, counted) pairs, counted as on the shelf: pieces, or kg ("0.730") for
    weighed goods. Each replaces the item's stock on this till and goes to the fleet as a count. A manager's:
    the one logged in, or the one whose `manager_pin` is given."""

    counts: tuple[tuple[str, int | str], ...]
    manager_pin: str | None = None


# ---- customers (docs/customers.md#on-the-till)

@dataclass(frozen=True)
class FindCustomers(Command):
    """Customers by card number, phone or name, best first; `Outcome.data` is a tuple of
    firmware.domain.customers.Customer."""

    text: str
    limit: int = 20


@dataclass(frozen=True)
class SaveCustomer(Command):
    """Create (`customer_id` empty) or edit a customer, offline: `fields` are (field, value) pairs of
    firmware.domain.customers.FIELDS (only the changed ones for an edit). `Outcome.data` is the saved
    firmware.domain.customers.Customer."""

    fields: tuple[tuple[str, str | bool], ...]
    customer_id: str = ""
