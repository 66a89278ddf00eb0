"""The shop's catalog: items, O(1) lookup by SKU and barcode, ranked name search and quick keys."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from firmware.domain.barcode import check_scan, lookup_key
from firmware.domain.errors import PayloadInvalid
from firmware.domain.money import minor_digits
from firmware.domain.promotion_rules import promotion_from_dict
from firmware.domain.promotions import PromotionBook
from firmware.domain.tax import parse_rate

if TYPE_CHECKING:
    from firmware.domain.variants import VariantGroup, Variants

__all__ = ["Item", "ImageRef", "QuickKey", "NotSellable", "Catalog", "fold", "MAX_PROMPT", "MAX_AGE",
           "IMAGE_TYPES", "MAX_IMAGE_BYTES"]

IMAGE_TYPES = ("image/png", "image/jpeg")
MAX_IMAGE_BYTES = 256 * 1024  # one item image; the contract's ItemImage.MAX_BYTES


@dataclass(frozen=True)
class ImageRef:
    """An item's picture as the catalog names it (docs/item-images.md): the file's SHA-256 (hex), its size in
    bytes and its type. The image travels on its own topic; the signed catalog vouches for it by this hash."""

    sha256: str
    size: int
    type: str


@dataclass(frozen=True)
class Item:
    """One thing the shop sells. `price` in minor units (per kg/unit of measure when `weighed`)."""

    sku: str
    name: str
    price: int
    tax_code: str
    barcodes: tuple[str, ...] = ()
    weighed: bool = False
    prompt: str = ""  # shown to the cashier on scan ("Fragile"); docs/item-prompts.md
    min_age: int = 0  # > 0: sold only once the cashier confirmed the customer's age
    image: ImageRef | None = None  # docs/item-images.md: shown on lookup once the device holds it


MAX_PROMPT = 80
MAX_AGE = 99


@dataclass(frozen=True)
class QuickKey:
    """A button on the sell screen that adds `sku`."""

    label: str
    sku: str


@dataclass(frozen=True)
class NotSellable:
    """A scan that found nothing to sell; `reason` is shown to the cashier as is."""

    reason: str
    code: str = ""


def fold(text: str) -> str:
    """Case- and accent-insensitive form for search ("Crème Brûlée" -> "creme brulee")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


class Catalog:
    """Immutable after construction; indexes are built once, in one pass."""

    def __init__(
        self,
        items: Iterable[Item],
        quick_keys: Iterable[QuickKey] = (),
        version: int = 0,
        currency: str = "EUR",
        tax_rates: Mapping[str, str] | None = None,
        promotions: PromotionBook | None = None,
        promotion_docs: tuple[list[Any], dict[str, Any]] = ([], {}),
        variant_groups: Iterable[VariantGroup] = (),
    ) -> None:
        self.version = version
        self.promotions: PromotionBook = promotions if promotions is not None else _NO_PROMOTIONS
        self._promotion_docs = promotion_docs  # (promotions, sku_groups) as received, for to_payload
        self.currency = currency
        self.tax_rates: dict[str, str] = dict(tax_rates or {})
        self.items: tuple[Item, ...] = tuple(items)
        self._by_sku: dict[str, Item] = {}
        self._by_barcode: dict[str, Item] = {}
        for item in self.items:
            if item.sku in self._by_sku:
                raise PayloadInvalid(f"Catalog: SKU {item.sku} appears twice; each SKU must be unique")
            self._by_sku[item.sku] = item
            for code in item.barcodes:
                key = lookup_key(code)
                other = self._by_barcode.get(key)
                if other is not None and other is not item:
                    raise PayloadInvalid(f"Catalog: barcode {code} is on both {other.sku} and {item.sku}")
                self._by_barcode[key] = item
        self._folded_cache: list[tuple[str, Item]] | None = None  # built on the first search, not at start-up
        self.quick_keys: list[QuickKey] = list(quick_keys)
        for quick in self.quick_keys:
            if quick.sku not in self._by_sku:
                raise PayloadInvalid(f"Catalog: quick key {quick.label!r} names unknown SKU {quick.sku}")
        from firmware.domain.variants import Variants  # it builds on Catalog

        self.variants: Variants = Variants(self, variant_groups)  # docs/stock.md#variants

    def sold_as(self, item: Item) -> Item:
        """The item as a cart line names it: a variant as "T-shirt, M / Blue" (its group and values)."""
        hit = self.variants.of_sku(item.sku)
        if hit is None:
            return item
        return replace(item, name=hit.label[:200])

    def images(self) -> dict[str, ImageRef]:
        """Every image the catalog names, by hash (an image is kept only while an item names it)."""
        return {i.image.sha256: i.image for i in self.items if i.image is not None}

    def __len__(self) -> int:
        return len(self.items)

    @property
    def _folded(self) -> list[tuple[str, Item]]:
        """Folded names for search; computed once (a benign race if two threads both compute it)."""
        folded = self._folded_cache
        if folded is None:
            folded = self._folded_cache = [(fold(item.name), item) for item in self.items]
        return folded

    def by_sku(self, sku: str) -> Item | None:
        return self._by_sku.get(sku)

    def by_barcode(self, code: str) -> Item | None:
        return self._by_barcode.get(lookup_key(code.strip()))

    def lookup_scan(self, code: str) -> Item | NotSellable:
        """The item a scan names, or NotSellable with a sentence; never raises."""
        check = check_scan(code)
        if not check.ok:
            return NotSellable(check.reason, check.code)
        item = self._by_barcode.get(lookup_key(check.code))
        if item is None and check.kind == "plu":
            item = self._by_sku.get(check.code)
        if item is None:
            return NotSellable(f"Unknown barcode {check.code}", check.code)
        return item

    def search(self, text: str, limit: int = 20) -> list[Item]:
        """Items whose name holds every word of `text` (case/accent-insensitive); exact SKU/barcode first, then
        exact name, name prefix, phrase at a word start, every word at a word start, anywhere; shorter names first."""
        query = fold(text).strip()
        if not query or limit <= 0:
            return []
        words = query.split()
        ranked: list[tuple[int, int, str, Item]] = []
        exact = self._by_sku.get(text.strip()) or self.by_barcode(text)
        for name, item in self._folded:
            if not all(w in name for w in words):
                continue
            spaced = " " + name
            if name == query:
                rank = 0
            elif name.startswith(query):
                rank = 1
            elif " " + query in spaced:
                rank = 2
            elif all(" " + w in spaced for w in words):
                rank = 3
            else:
                rank = 4
            ranked.append((rank, len(name), name, item))
        ranked.sort(key=lambda r: (r[0], r[1], r[2], r[3].sku))
        found = [r[3] for r in ranked if r[3] is not exact]
        return ([exact] + found if exact else found)[:limit]

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Catalog:
        """Build from the contract's catalog message; refuses the whole payload (PayloadInvalid) on any bad entry."""
        if not isinstance(payload, Mapping):
            raise PayloadInvalid("Catalog: payload must be a JSON object")
        currency = payload.get("currency", "EUR")
        try:
            minor_digits(currency)
        except Exception:
            raise PayloadInvalid(f"Catalog: unknown currency {currency!r}") from None
        rates_in = payload.get("tax_rates") or {}
        if not isinstance(rates_in, Mapping):
            raise PayloadInvalid("Catalog: tax_rates must map tax codes to rate strings")
        for code, rate in rates_in.items():
            try:
                parse_rate(rate, code)
            except Exception as err:
                raise PayloadInvalid(f"Catalog: {err}") from None
        raw_items = payload.get("items")
        if not isinstance(raw_items, list):
            raise PayloadInvalid("Catalog: 'items' must be a list")
        items = [_item_from(i, raw, rates_in) for i, raw in enumerate(raw_items)]
        raw_keys = payload.get("quick_keys") or []
        if not isinstance(raw_keys, list):
            raise PayloadInvalid("Catalog: 'quick_keys' must be a list")
        keys = []
        for i, raw in enumerate(raw_keys):
            if not isinstance(raw, Mapping) or not isinstance(raw.get("sku"), str):
                raise PayloadInvalid(f"Catalog: quick key #{i} needs a 'sku' string")
            label = raw.get("label")
            keys.append(QuickKey(label=str(label) if label else raw["sku"], sku=raw["sku"]))
        book, docs = _promotions_from(payload)
        return cls(items, keys, version=payload.get("version", 0), currency=currency, tax_rates=rates_in,
                   promotions=book, promotion_docs=docs, variant_groups=_variant_groups(payload))

    @classmethod
    def from_trusted(cls, payload: Mapping[str, Any]) -> Catalog:
        """Fast path for a payload that passed `from_payload` before it was stored locally (start-up).

        Skips per-item field checks and check digits (about 10x faster for 50k items); indexes, duplicate
        and quick-key checks still run in the constructor. Never use it for anything from the network.
        """
        items = [Item(sku=raw["sku"], name=raw["name"], price=raw["price"], tax_code=raw["tax_code"],
                      barcodes=tuple(raw.get("barcodes") or ()), weighed=raw.get("weighed", False),
                      prompt=raw.get("prompt") or "", min_age=raw.get("min_age") or 0,
                      image=_trusted_image(raw.get("image")))
                 for raw in payload["items"]]
        keys = [QuickKey(label=str(k.get("label") or k["sku"]), sku=k["sku"]) for k in payload.get("quick_keys") or []]
        book, docs = _promotions_from(payload)
        return cls(items, keys, version=payload.get("version", 0), currency=payload.get("currency", "EUR"),
                   tax_rates=payload.get("tax_rates") or {}, promotions=book, promotion_docs=docs,
                   variant_groups=_variant_groups(payload))

    def to_payload(self) -> dict[str, Any]:
        """The contract's catalog message (docs/contract.md#catalog) for this catalog."""
        payload: dict[str, Any] = {
            "version": self.version,
            "currency": self.currency,
            "items": [
                {"sku": i.sku, "name": i.name, "price": i.price, "tax_code": i.tax_code,
                 "barcodes": list(i.barcodes), "weighed": i.weighed}
                | ({"prompt": i.prompt} if i.prompt else {}) | ({"min_age": i.min_age} if i.min_age else {})
                | ({"image": {"sha256": i.image.sha256, "bytes": i.image.size, "type": i.image.type}}
                   if i.image else {})
                for i in self.items
            ],
            "quick_keys": [{"label": k.label, "sku": k.sku} for k in self.quick_keys],
        }
        if self.tax_rates:
            payload["tax_rates"] = dict(self.tax_rates)
        rules, groups = self._promotion_docs
        if rules:
            payload["promotions"] = list(rules)
        if groups:
            payload["sku_groups"] = dict(groups)
        if self.variants.groups:
            payload["variants"] = [group.to_doc() for group in self.variants.groups.values()]
        return payload


_NO_PROMOTIONS = PromotionBook(())


def _promotions_from(payload: Mapping[str, Any]) -> tuple[PromotionBook | None, tuple[list[Any], dict[str, Any]]]:
    """The catalog's promotions (docs/promotions.md): refuses the whole catalog (PayloadInvalid) on a bad rule."""
    rules = payload.get("promotions") or []
    groups = payload.get("sku_groups") or {}
    if not rules and not groups:
        return None, ([], {})
    if not isinstance(rules, list) or not all(isinstance(r, Mapping) for r in rules):
        raise PayloadInvalid("Catalog: 'promotions' must be a list of objects")
    if not isinstance(groups, Mapping) or not all(isinstance(k, str) and isinstance(v, list) and all(
            isinstance(g, str) for g in v) for k, v in groups.items()):
        raise PayloadInvalid("Catalog: 'sku_groups' must map SKUs to lists of group names")
    built = []
    for index, raw in enumerate(rules):
        try:
            built.append(promotion_from_dict(raw))
        except PayloadInvalid as err:
            raise PayloadInvalid(f"Catalog: promotion #{index}: {err}") from None
    return PromotionBook(built, groups), (list(rules), dict(groups))


def _variant_groups(payload: Mapping[str, Any]) -> list[VariantGroup]:
    """The catalog's variant groups (docs/stock.md#variants); PayloadInvalid on a malformed one."""
    from firmware.domain.variants import VariantGroup

    raw = payload.get("variants") or []
    if not isinstance(raw, list) or not all(isinstance(doc, Mapping) for doc in raw):
        raise PayloadInvalid("Catalog: 'variants' must be a list of objects")
    return [VariantGroup.from_doc(doc) for doc in raw]


def _trusted_image(raw: Any) -> ImageRef | None:
    return None if not raw else ImageRef(raw["sha256"], raw["bytes"], raw["type"])


def _image_from(where: str, raw: Any) -> ImageRef | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise PayloadInvalid(f"{where}: 'image' must be an object with sha256, bytes and type")
    sha, size, kind = raw.get("sha256"), raw.get("bytes"), raw.get("type")
    if not isinstance(sha, str) or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise PayloadInvalid(f"{where}: the image's sha256 must be 64 lowercase hex digits")
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_IMAGE_BYTES:
        raise PayloadInvalid(f"{where}: the image must be 1 to {MAX_IMAGE_BYTES} bytes, not {size!r}")
    if kind not in IMAGE_TYPES:
        raise PayloadInvalid(f"{where}: the image type must be one of {', '.join(IMAGE_TYPES)}, not {kind!r}")
    return ImageRef(sha, size, kind)


def _item_from(index: int, raw: Any, rates: Mapping[str, str]) -> Item:
    if not isinstance(raw, Mapping):
        raise PayloadInvalid(f"Catalog: item #{index} must be an object")
    sku = raw.get("sku")
    where = f"Catalog: item #{index} ({sku})"
    if not isinstance(sku, str) or not sku.strip():
        raise PayloadInvalid(f"Catalog: item #{index} needs a non-empty 'sku' string")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise PayloadInvalid(f"{where}: needs a non-empty 'name'")
    price = raw.get("price")
    if not isinstance(price, int) or isinstance(price, bool) or price < 0:
        raise PayloadInvalid(f"{where}: 'price' must be a non-negative int of minor units, not {price!r}")
    tax_code = raw.get("tax_code")
    if not isinstance(tax_code, str) or not tax_code:
        raise PayloadInvalid(f"{where}: needs a 'tax_code'")
    if rates and tax_code not in rates:
        raise PayloadInvalid(f"{where}: tax code {tax_code!r} is not in tax_rates")
    barcodes = raw.get("barcodes") or []
    if not isinstance(barcodes, list) or not all(isinstance(b, str) for b in barcodes):
        raise PayloadInvalid(f"{where}: 'barcodes' must be a list of strings")
    for code in barcodes:
        check = check_scan(code)
        if not check.ok:
            raise PayloadInvalid(f"{where}: {check.reason}")
    weighed = raw.get("weighed", False)
    if not isinstance(weighed, bool):
        raise PayloadInvalid(f"{where}: 'weighed' must be true or false")
    prompt = raw.get("prompt")
    if prompt is not None and (not isinstance(prompt, str) or not 1 <= len(prompt) <= MAX_PROMPT):
        raise PayloadInvalid(f"{where}: 'prompt' must be text of 1 to {MAX_PROMPT} characters")
    min_age = raw.get("min_age")
    if min_age is not None and (not isinstance(min_age, int) or isinstance(min_age, bool)
                                or not 0 <= min_age <= MAX_AGE):
        raise PayloadInvalid(f"{where}: 'min_age' must be a whole number of years from 0 to {MAX_AGE}")
    return Item(sku=sku, name=name, price=price, tax_code=tax_code,
                barcodes=tuple(b.strip() for b in barcodes), weighed=weighed, prompt=prompt or "",
                min_age=min_age or 0, image=_image_from(where, raw.get("image")))
