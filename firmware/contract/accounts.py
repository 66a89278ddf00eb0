"""Account movements on receipts and the fleet's account snapshot (docs/accounts.md): strict, bounded models.

Uplink: a receipt's optional `accounts` list (an addition to contract 1.1: a
fleet that does not know it ignores it) says what the receipt did to loyalty
points, gift cards and on-account credit. A gift card appears only as its
keyed hash and last 4 digits, never its number. The receipt's own store,
register and seq identify every movement (with its index in the list).

Downlink: `AccountsSnapshot`, retained on `<prefix>/<store>/accounts` and
signed like the catalog (firmware.contract.signing): balances per customer and
per card, and `through`, up to which seq of each register the balances include
movements. A register shows snapshot + its own movements after that seq.
"""

from __future__ import annotations

import warnings
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints, TypeAdapter, ValidationError, model_validator

from firmware.contract.errors import PayloadRejected
from firmware.contract.payloads import (
    ID,
    KIB,
    Currency,
    Hash,
    Key,
    Money,
    ReceiptIdText,
    SoldLine,
    Timestamp,
    _Part,
    _Payload,
)

__all__ = [
    "ACCOUNTS_ADAPTER", "LAYBY_TYPES", "MAX_ACCOUNT_ENTRIES", "MAX_LAYBY_LINES", "MAX_SNAPSHOT_ENTRIES",
    "MAX_SNAPSHOT_LAYBYS", "AccountMovement", "AccountsSnapshot", "AnyLayby", "AnyMovement", "CreditBalance",
    "GiftCardBalance", "GiftCardRedeem", "GiftCardSell", "GiftCardTopUp", "LaybyCancel", "LaybyCollect",
    "LaybyLine", "LaybyOpen", "LaybyPayment", "LaybyState", "LoyaltyBalance", "LoyaltyEarn", "LoyaltyRedeem",
    "LoyaltyReverse", "OnAccountCharge", "OnAccountCredit", "RegisterThrough", "accounts_of", "decode_accounts",
]

MAX_ACCOUNT_ENTRIES = 50  # per receipt (as many as its tenders)
MAX_SNAPSHOT_ENTRIES = 30_000  # per list of a snapshot; 4 MiB bounds the whole document first
MAX_SNAPSHOT_LAYBYS = 5_000  # open laybys of a snapshot (each carries its lines: the 4 MiB bound comes first)
Points = Annotated[int, Field(ge=1, le=10**12)]
Amount = Annotated[int, Field(ge=1, le=10**12)]
Last4 = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]
Limit = Annotated[int, Field(ge=0, le=10**12)]
SeqOrZero = Annotated[int, Field(ge=0, le=2**53)]
# the customer's id (store:register:epoch:seq, up to 147 characters: firmware.contract.customers), or the sale's
# customer code (up to 64 printable characters: firmware.domain.sale.Sale.set_customer)
CustomerRef = Annotated[str, StringConstraints(min_length=1, max_length=160)]


# ---- on the receipt -------------------------------------------------------------------------

class LoyaltyEarn(_Part):
    type: Literal["loyalty_earn"]
    customer: CustomerRef
    points: Points


class LoyaltyRedeem(_Part):
    """Points paid `value` minor units of this receipt (its "loyalty" tender)."""

    type: Literal["loyalty_redeem"]
    customer: CustomerRef
    points: Points
    value: Amount


class LoyaltyReverse(_Part):
    """A refund takes back points its original receipt earned."""

    type: Literal["loyalty_reverse"]
    customer: CustomerRef
    points: Points
    refund_of: ReceiptIdText


class _GiftCard(_Part):
    card_hash: Hash  # HMAC-SHA256 of the number under the fleet-wide gift-card key
    last4: Last4
    amount: Amount


class GiftCardSell(_GiftCard):
    type: Literal["giftcard_sell"]


class GiftCardTopUp(_GiftCard):
    type: Literal["giftcard_top_up"]


class GiftCardRedeem(_GiftCard):
    type: Literal["giftcard_redeem"]


class OnAccountCharge(_Part):
    """Charged to the customer's account; `approved_by` is the manager who approved it over the limit."""

    type: Literal["on_account_charge"]
    customer: CustomerRef
    amount: Amount
    approved_by: Key | None = None


class OnAccountCredit(_Part):
    """A refund paid back onto the customer's account."""

    type: Literal["on_account_credit"]
    customer: CustomerRef
    amount: Amount


# ---- laybys on the receipt (docs/layby.md; contract 1.3.0) --------------------------------------

# a layby's id: "LB-<store>-<register>-<seq of its opening receipt>" (seqs run on across epochs: unique)
LaybyId = Annotated[str, StringConstraints(pattern=r"^LB-[A-Za-z0-9_-]{1,32}-[A-Za-z0-9_-]{1,32}-[0-9]{1,16}$")]
DueDate = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
MAX_LAYBY_LINES = 100


class LaybyLine(SoldLine):
    """One reserved line of a layby: what the customer takes home when it is collected."""


class LaybyOpen(_Part):
    """A layby opened by this receipt: the goods reserved at `total`, `deposit` paid by this receipt's tenders."""

    type: Literal["layby_open"]
    layby: LaybyId
    customer: CustomerRef
    total: Amount
    deposit: Amount
    due: DueDate
    lines: list[LaybyLine] = Field(min_length=1, max_length=MAX_LAYBY_LINES)


class LaybyPayment(_Part):
    """An instalment paid into a layby by this receipt's tenders."""

    type: Literal["layby_payment"]
    layby: LaybyId
    amount: Amount
    total: Amount | None = None  # the layby's total and what is left after this instalment, as the register knew
    balance: Limit | None = None  # them (printed on the customer's receipt; the fleet sums instalments itself)


class LaybyCollect(_Part):
    """The customer took the goods home: this receipt sells the reserved lines, paid by what the layby held."""

    type: Literal["layby_collect"]
    layby: LaybyId
    paid: Amount


class LaybyCancel(_Part):
    """The layby was cancelled: `refund` paid back by this receipt, `fee` kept by the shop (refund + fee = paid)."""

    type: Literal["layby_cancel"]
    layby: LaybyId
    refund: Limit
    fee: Limit


AnyLayby = LaybyOpen | LaybyPayment | LaybyCollect | LaybyCancel
LAYBY_TYPES = (LaybyOpen, LaybyPayment, LaybyCollect, LaybyCancel)  # isinstance: a layby movement, not a balance
AnyMovement = (LoyaltyEarn | LoyaltyRedeem | LoyaltyReverse | GiftCardSell | GiftCardTopUp | GiftCardRedeem
               | OnAccountCharge | OnAccountCredit | LaybyOpen | LaybyPayment | LaybyCollect | LaybyCancel)
AccountMovement = Annotated[AnyMovement, Field(discriminator="type")]
AccountList = Annotated[list[AccountMovement], Field(max_length=MAX_ACCOUNT_ENTRIES)]
ACCOUNTS_ADAPTER: TypeAdapter[list[AnyMovement]] = TypeAdapter(AccountList)


def decode_accounts(entries: object) -> list[AnyMovement]:
    """A receipt's `accounts` value as models (None or absent: none); PayloadRejected with the reason."""
    if entries is None:
        return []
    try:
        return ACCOUNTS_ADAPTER.validate_python(entries, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in ("accounts", *first["loc"]))
        raise PayloadRejected(f"receipt: {where}: {first['msg']}") from None


def accounts_of(receipt: _Payload) -> list[AnyMovement]:
    """The account movements of a decoded Receipt (its `accounts` field, a declared or an extra one)."""
    declared = getattr(receipt, "accounts", None)
    extra = receipt.model_extra or {}
    return decode_accounts(declared if declared is not None else extra.get("accounts"))


# ---- the fleet's snapshot -------------------------------------------------------------------

class LoyaltyBalance(_Part):
    customer: CustomerRef
    points: Annotated[int, Field(ge=-(10**12), le=10**12)]


class GiftCardBalance(_Part):
    card_hash: Hash
    last4: Last4
    balance: Money
    offline_limit: Limit | None = None  # this card's own per-register offline limit, else the shop's
    blocked: bool = False


class CreditBalance(_Part):
    customer: CustomerRef
    owed: Money
    limit: Limit | None = None  # None: no credit without a manager


class LaybyState(_Part):
    """An open layby as the fleet reconciled it (movements up to `through`): `paid` so far of `total`."""

    layby: LaybyId
    customer: CustomerRef
    total: Amount
    paid: Limit
    due: DueDate
    lines: list[LaybyLine] = Field(min_length=1, max_length=MAX_LAYBY_LINES)


with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # `register` shadows ABCMeta.register; the field is meant

    class RegisterThrough(_Part):
        """The snapshot includes every movement of this register's receipts up to `seq` (0: none)."""

        store: ID
        register: ID = Field()
        seq: SeqOrZero

    class AccountsSnapshot(_Payload):
        """Balances as the fleet reconciled them, retained per store: replaced whole, newer versions only."""

        MAX_BYTES: ClassVar[int] = 4 * KIB * KIB
        version: Annotated[int, Field(ge=1)]
        issued_at: Timestamp
        currency: Currency
        through: list[RegisterThrough] = Field(max_length=10_000)
        loyalty: list[LoyaltyBalance] = Field(default_factory=list, max_length=MAX_SNAPSHOT_ENTRIES)
        gift_cards: list[GiftCardBalance] = Field(default_factory=list, max_length=MAX_SNAPSHOT_ENTRIES)
        on_account: list[CreditBalance] = Field(default_factory=list, max_length=MAX_SNAPSHOT_ENTRIES)
        # 1.3.0 (docs/layby.md): the open laybys; absent from a fleet without laybys
        laybys: list[LaybyState] | None = Field(default=None, max_length=MAX_SNAPSHOT_LAYBYS)

        @model_validator(mode="after")
        def _unique(self) -> AccountsSnapshot:
            for name, keys in (("through", [(t.store, t.register) for t in self.through]),
                               ("loyalty", [b.customer for b in self.loyalty]),
                               ("gift_cards", [b.card_hash for b in self.gift_cards]),
                               ("on_account", [b.customer for b in self.on_account]),
                               ("laybys", [b.layby for b in self.laybys or ()])):
                if len(set(keys)) != len(keys):
                    raise ValueError(f"{name}: an entry appears more than once")
            return self
