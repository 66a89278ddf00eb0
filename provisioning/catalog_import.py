"""`catalog FILE`: CSV or JSON items checked row by row, applied whole to the catalog store or not at all."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmware.config import Config
from firmware.domain.barcode import check_scan
from firmware.domain.money import parse_money
from firmware.errors import DomainError
from firmware.stores import VersionedStore, catalog_store
from provisioning.errors import InputRejected, RowProblem
from provisioning.tabular import read_rows

__all__ = ["COLUMNS", "Imported", "build_catalog", "pick_version", "apply_versioned", "check_catalog_payload", "import_catalog"]

COLUMNS = ("sku", "name", "price", "tax_code", "barcodes", "weighed", "quick_key")
_SKU_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_TRUE, _FALSE = {"1", "true", "yes", "y", "x"}, {"", "0", "false", "no", "n"}


@dataclass(frozen=True)
class Imported:
    """What an import did: kind, version stored, number of entries, whether the store changed."""

    kind: str
    version: int
    count: int
    applied: bool


def _price(value: Any, currency: str) -> int:
    if isinstance(value, bool) or value is None:
        raise ValueError("missing; give the price like 1.29")
    if isinstance(value, int):  # JSON in the contract's shape: integer minor units
        if value < 0:
            raise ValueError("must not be negative")
        return value
    if not isinstance(value, str):
        raise ValueError("must be text like 1.29 or an integer of minor units")
    try:
        amount = parse_money(value, currency)
    except DomainError as exc:
        raise ValueError(str(exc)) from None
    if amount < 0:
        raise ValueError("must not be negative")
    return amount


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise ValueError("use yes or no")


def _barcodes(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value]
    return [part for part in re.split(r"[\s;|]+", str(value).strip()) if part]


def _item(where: str, row: dict[str, Any], currency: str, rates: dict[str, str], problems: list[RowProblem]) -> dict[str, Any] | None:
    def bad(field: str, reason: str) -> None:
        problems.append(RowProblem(where, field, reason))

    if "__not_object__" in row:
        bad("entry", "must be an object with sku, name, price, tax_code")
        return None
    if "__columns__" in row:
        bad("row", row["__columns__"] + " (a comma inside a name needs quotes)")
        return None
    before = len(problems)
    sku = str(row.get("sku") or "").strip()
    if not _SKU_RE.match(sku):
        bad("sku", "missing or not 1-64 letters, digits, '.', '-' or '_'")
    name = str(row.get("name") or "").strip()
    if not name or len(name) > 200:
        bad("name", "missing" if not name else "longer than 200 characters")
    price = 0
    try:
        price = _price(row.get("price"), currency)
    except ValueError as exc:
        bad("price", str(exc))
    tax_code = str(row.get("tax_code") or "").strip()
    if tax_code not in rates:
        bad("tax_code", f"{tax_code!r} is not a configured tax code; use one of {', '.join(sorted(rates))}")
    codes = _barcodes(row.get("barcodes"))
    for code in codes:
        check = check_scan(code)
        if not check.ok or check.kind == "plu":
            bad("barcodes", f"{code!r}: {check.reason or 'a PLU is not a barcode; use the sku'}")
    weighed = False
    try:
        weighed = _flag(row.get("weighed"))
    except ValueError as exc:
        bad("weighed", str(exc))
    if len(problems) > before:
        return None
    item: dict[str, Any] = {"sku": sku, "name": name, "price": price, "tax_code": tax_code, "barcodes": codes, "weighed": weighed}
    if row.get("quick_key"):
        item["quick_key"] = str(row["quick_key"]).strip()[:40]
    return item


def pick_version(meta: dict[str, Any], version: int | None, held: int) -> int:
    """--version, else the file's own version, else one more than the version held."""
    if version is not None:
        return version
    if isinstance(meta.get("version"), int) and not isinstance(meta["version"], bool):
        return int(meta["version"])
    return max(held + 1, 1)


def build_catalog(path: Path, config: Config, version: int | None, held: int = -1) -> tuple[dict[str, Any], list[RowProblem]]:
    """The catalog payload (CONTRACT.md shape) and every problem found; the payload is usable only with no problems."""
    meta, rows = read_rows(path, "items", COLUMNS)
    currency = str(meta.get("currency") or config.shop.currency)
    problems: list[RowProblem] = []
    if currency != config.shop.currency:
        problems.append(RowProblem("file", "currency", f"{currency} but this shop sells in {config.shop.currency}; fix the file or the shop settings"))
    rates = dict(meta.get("tax_rates") or config.shop.tax_rates)
    items: list[dict[str, Any]] = []
    seen_sku: dict[str, str] = {}
    seen_code: dict[str, str] = {}
    keys = [k for k in meta.get("quick_keys") or [] if isinstance(k, dict)]
    for where, row in rows:
        item = _item(where, row, config.shop.currency, rates, problems)
        if item is None:
            continue
        if item["sku"] in seen_sku:
            problems.append(RowProblem(where, "sku", f"{item['sku']} already given at {seen_sku[item['sku']]}"))
            continue
        seen_sku[item["sku"]] = where
        for code in item["barcodes"]:
            if code in seen_code:
                problems.append(RowProblem(where, "barcodes", f"{code} already belongs to the item at {seen_code[code]}"))
            seen_code[code] = where
        label = item.pop("quick_key", None)
        if label:
            keys.append({"label": label, "sku": item["sku"]})
        items.append(item)
    if not rows:
        problems.append(RowProblem("file", "items", "no items; a register needs at least one"))
    for i, key in enumerate(keys):
        if key.get("sku") not in seen_sku:
            problems.append(RowProblem(f"quick_keys[{i}]", "sku", f"{key.get('sku')!r} is not an item of this file"))
    payload: dict[str, Any] = {"version": pick_version(meta, version, held), "currency": currency, "items": items, "quick_keys": keys}
    if meta.get("tax_rates"):
        payload["tax_rates"] = rates
    return payload, problems


def apply_versioned(store: VersionedStore, payload: dict[str, Any], kind: str, force: bool) -> Imported:
    """Store a payload whose version must be newer than the one held unless `force`."""
    held = store.version
    if payload["version"] <= held and not force:
        raise InputRejected(
            f"{kind} version {payload['version']} is not newer than the one held ({held}); "
            f"give --version {held + 1} or --force to replace it"
        )
    applied = store.apply(payload, force=force)
    count = len(payload.get("items") or payload.get("clerks") or [])
    return Imported(kind, int(payload["version"]), count, applied)


def check_catalog_payload(payload: dict[str, Any]) -> None:
    """The same gate the register applies to a fleet message: contract model, then the domain."""
    from firmware.acceptance import check_versioned
    from firmware.contract import PayloadRejected

    try:
        check_versioned("catalog", payload)
    except PayloadRejected as exc:
        raise InputRejected(f"catalog refused by the register's own check: {exc}") from None


def import_catalog(path: Path, config: Config, version: int | None = None, force: bool = False) -> Imported:
    """Validate the whole file, then apply it atomically; raise InputRejected listing every bad row."""
    store = catalog_store(config.device.data_dir)
    payload, problems = build_catalog(path, config, version, store.version)
    if problems:
        raise InputRejected(f"{path}: {len(problems)} problem(s); nothing was applied", problems)
    check_catalog_payload(payload)
    return apply_versioned(store, payload, "catalog", force)
