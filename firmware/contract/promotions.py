"""Promotions as they travel with the catalog (docs/promotions.md): strict, bounded models that refuse nonsense.

An addition to the catalog message (contract 1.1 grows by adding optional fields): `promotions`, a list of
rules, and `sku_groups`, SKU -> the groups it belongs to (mix and match, group discounts). A register that
does not know them ignores them. `CatalogPromotions` validates both; `decode_promotions(catalog_doc)` reads
them from a catalog document and `to_book()` builds the domain's PromotionBook.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, TypeAdapter, ValidationError, field_validator, model_validator

from firmware.contract.errors import PayloadRejected
from firmware.contract.payloads import Key, _Part

if TYPE_CHECKING:
    from firmware.domain.promotions import PromotionBook

__all__ = [
    "MAX_CODES_PER_PROMOTION", "MAX_GROUPS_PER_SKU", "MAX_PROMOTIONS", "MAX_SKU_GROUPS", "MAX_TARGETS",
    "CatalogPromotions", "Discount", "MultiBuy", "PromotionRule", "PromotionWindow", "SpendSave",
    "decode_promotions", "MAX_COUPONS_PER_RECEIPT", "coupons_of",
]

MAX_PROMOTIONS = 2_000  # active and scheduled rules of one store; the engine is benched at 500 active
MAX_TARGETS = 5_000  # SKUs a rule names (a group is the way to name more)
MAX_TARGET_GROUPS = 100
MAX_CODES_PER_PROMOTION = 10_000  # single-use coupons of one campaign; the 4 MiB catalog limit comes first
MAX_SKU_GROUPS = 50_000  # as many as the catalog's items
MAX_GROUPS_PER_SKU = 20
MAX_COUPONS_PER_RECEIPT = 50  # a sale takes at most 10 codes (firmware.domain.sale_promotions.MAX_CODES)

ReceiptName = Annotated[str, StringConstraints(min_length=1, max_length=40)]  # one printed receipt line
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{2,31}$")]  # 3..32; domain CODE_PATTERN
Amount = Annotated[int, Field(ge=1, le=10**12)]
MoneyOrZero = Annotated[int, Field(ge=0, le=10**12)]
Percent = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,3}(\.[0-9]{1,2})?$")]  # "10", "12.5"; (0, 100]
TimeOfDay = Annotated[str, StringConstraints(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
Day = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


class PromotionWindow(_Part):
    """When the rule is on, in shop time: ISO weekdays (1 Monday .. 7 Sunday; none = every day), a time range
    [start, end) on each of them, and a date range [first_day, last_day] (inclusive); every part optional."""

    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(default_factory=list, max_length=7)
    start: TimeOfDay | None = None
    end: TimeOfDay | None = None
    first_day: Day | None = None
    last_day: Day | None = None

    @field_validator("first_day", "last_day")
    @classmethod
    def _real_day(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{value} is not a calendar date") from None
        return value

    @model_validator(mode="after")
    def _ordered(self) -> PromotionWindow:
        if len(set(self.weekdays)) != len(self.weekdays):
            raise ValueError("weekdays: a day appears more than once")
        if (self.start is None) != (self.end is None):
            raise ValueError("give both start and end times, or neither")
        if self.start is not None and self.end is not None and _minutes(self.end) <= _minutes(self.start):
            raise ValueError(f"end {self.end} is not after start {self.start} (a window crossing midnight is two "
                             "rules)")
        if self.first_day is not None and self.last_day is not None and self.last_day < self.first_day:
            raise ValueError(f"last_day {self.last_day} is before first_day {self.first_day}")
        return self


class _Rule(_Part):
    promotion_id: Key
    name: ReceiptName
    skus: list[Key] = Field(default_factory=list, max_length=MAX_TARGETS)
    groups: list[Key] = Field(default_factory=list, max_length=MAX_TARGET_GROUPS)
    stackable: bool = False
    window: PromotionWindow | None = None
    codes: list[Code] = Field(default_factory=list, max_length=MAX_CODES_PER_PROMOTION)
    single_use: bool = False

    @field_validator("codes")
    @classmethod
    def _distinct_codes(cls, codes: list[str]) -> list[str]:
        if len({c.upper() for c in codes}) != len(codes):
            raise ValueError("a code appears more than once (codes are not case-sensitive)")
        return codes

    @model_validator(mode="after")
    def _coupons_have_codes(self) -> _Rule:
        if self.single_use and not self.codes:
            raise ValueError("a single_use promotion needs its coupon codes")
        return self


def _percent(value: str | None) -> str | None:
    if value is not None:
        try:
            number = Decimal(value)
        except InvalidOperation:  # the pattern makes this unreachable; kept for a clear message
            raise ValueError(f"{value!r} is not a percentage") from None
        if not Decimal(0) < number <= Decimal(100):
            raise ValueError(f"percent {value} must be more than 0 and at most 100")
    return value


class MultiBuy(_Rule):
    """`buy` units of the target for the price of `pay` of them, or for the fixed `price` (mix and match when
    the target spans several SKUs or groups). Always exclusive."""

    kind: Literal["multi_buy"]
    buy: Annotated[int, Field(ge=2, le=100)]
    pay: Annotated[int, Field(ge=1, le=99)] | None = None
    price: MoneyOrZero | None = None

    @model_validator(mode="after")
    def _deal(self) -> MultiBuy:
        if not self.skus and not self.groups:
            raise ValueError("a multi_buy needs skus or groups")
        if (self.pay is None) == (self.price is None):
            raise ValueError("a multi_buy has either pay (units) or price (money), not both")
        if self.pay is not None and self.pay >= self.buy:
            raise ValueError(f"pay {self.pay} must be less than buy {self.buy}")
        if self.stackable:
            raise ValueError("a multi_buy cannot be stackable: its units are used up")
        return self


class Discount(_Rule):
    """`percent` off, or `amount` off each unit (per kg when weighed) of the target; no target: off the cart."""

    kind: Literal["discount"]
    percent: Percent | None = None
    amount: Amount | None = None

    _check_percent = field_validator("percent")(_percent)

    @model_validator(mode="after")
    def _one(self) -> Discount:
        if (self.percent is None) == (self.amount is None):
            raise ValueError("a discount has either percent or amount, not both")
        return self


class SpendSave(_Rule):
    """When the shelf-price total of the target (no target: the cart) reaches `spend`, save `amount` or
    `percent` of it, once."""

    kind: Literal["spend_save"]
    spend: Amount
    percent: Percent | None = None
    amount: Amount | None = None

    _check_percent = field_validator("percent")(_percent)

    @model_validator(mode="after")
    def _one(self) -> SpendSave:
        if (self.percent is None) == (self.amount is None):
            raise ValueError("a spend_save has either percent or amount, not both")
        return self


PromotionRule = Annotated[MultiBuy | Discount | SpendSave, Field(discriminator="kind")]


class CatalogPromotions(_Part):
    """The catalog's promotion fields: `promotions` and `sku_groups` (SKU -> its groups)."""

    promotions: list[PromotionRule] = Field(default_factory=list, max_length=MAX_PROMOTIONS)
    sku_groups: dict[Key, Annotated[list[Key], Field(max_length=MAX_GROUPS_PER_SKU)]] = Field(
        default_factory=dict, max_length=MAX_SKU_GROUPS)

    @model_validator(mode="after")
    def _unique(self) -> CatalogPromotions:
        ids = [p.promotion_id for p in self.promotions]
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})[0]
            raise ValueError(f"promotion_id {dup!r} appears more than once")
        owner: dict[str, str] = {}
        for promo in self.promotions:
            for code in promo.codes:
                other = owner.setdefault(code.upper(), promo.promotion_id)
                if other != promo.promotion_id and promo.single_use:
                    raise ValueError(f"single-use code {code} is on both {other} and {promo.promotion_id}")
        return self

    def to_book(self) -> PromotionBook:
        """The domain's PromotionBook for these rules (firmware.domain.promotions)."""
        from firmware.domain.promotion_rules import promotion_from_dict
        from firmware.domain.promotions import PromotionBook

        rules = [promotion_from_dict(p.model_dump(exclude_none=True)) for p in self.promotions]
        return PromotionBook(rules, self.sku_groups)


_ADAPTER: TypeAdapter[CatalogPromotions] = TypeAdapter(CatalogPromotions)


def decode_promotions(catalog: dict[str, Any]) -> CatalogPromotions:
    """The promotion fields of a catalog document (already size-checked and parsed as the catalog); absent fields
    are none. PayloadRejected says which rule is wrong and why."""
    doc = {key: catalog[key] for key in ("promotions", "sku_groups") if catalog.get(key) is not None}
    try:
        return _ADAPTER.validate_python(doc, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "promotions"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise PayloadRejected(f"catalog: {where}: {first['msg']}{more}") from None


_COUPONS: TypeAdapter[list[str]] = TypeAdapter(Annotated[list[Code], Field(max_length=MAX_COUPONS_PER_RECEIPT)])


def coupons_of(receipt: BaseModel) -> tuple[str, ...]:
    """The single-use coupon codes a decoded Receipt consumed: its optional `coupons` field (an extra one: a
    receipt without promotions has none), upper case, sorted, each once (docs/promotions.md#codes). A malformed
    list raises PayloadRejected."""
    extra = receipt.model_extra or {}
    found = extra.get("coupons")
    if found is None:
        return ()
    try:
        codes = _COUPONS.validate_python(found, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in ("coupons", *first["loc"]))
        raise PayloadRejected(f"receipt: {where}: {first['msg']}") from None
    return tuple(sorted({code.upper() for code in codes}))
