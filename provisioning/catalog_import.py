"""`catalog FILE`: CSV or JSON items checked row by row, applied whole to the catalog store or not at all."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from firmware.config import Config
from firmware.contract.payloads import CatalogItem
from firmware.domain.barcode import check_scan
from firmware.domain.catalog import MAX_AGE, MAX_PROMPT
from firmware.domain.money import format_money, parse_money
from firmware.errors import DomainError
from firmware.stores import VersionedStore, catalog_store
from provisioning.errors import InputRejected, RowProblem
from provisioning.tabular import model_problems, read_rows, readable

__all__ = [
    "COLUMNS",
    "Imported",
    "build_catalog",
    "pick_version",
    "apply_versioned",
    "check_catalog_payload",
    "check_version_step",
    "import_catalog",
]

COLUMNS = ("sku", "name", "price", "tax_code", "barcodes", "weighed", "quick_key", "prompt", "min_age")
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


def _age(value: Any) -> int:
    """A minimum age: empty (none) or whole years 0..99."""
    if value is None or value == "":
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        number = int(value.strip())
    else:
        raise ValueError(f"must be a whole number of years from 0 to {MAX_AGE} (e.g. 18), or empty for none")
    if not 0 <= number <= MAX_AGE:
        raise ValueError(f"must be from 0 to {MAX_AGE} years (e.g. 18), or empty for none")
    return number


_UNSET = object()


def _price_reason(error: dict[str, Any], currency: str) -> str:
    """A price range error in money (1.29), as typed in the file, rather than in minor units."""
    limit = (error.get("ctx") or {}).get("le")
    if error["type"] == "less_than_equal" and isinstance(limit, int):
        return f"too large; at most {format_money(limit, currency)}"
    return readable(error)


def _item(
    where: str, row: dict[str, Any], currency: str, rates: dict[str, str], problems: list[RowProblem]
) -> dict[str, Any] | None:
    """One row as a contract item, or None; every problem of the row goes into `problems` (one per column)."""
    flagged: set[str] = set()

    def bad(field: str, reason: str, value: Any = _UNSET) -> None:
        problems.append(RowProblem(where, field, reason, row.get(field) if value is _UNSET else value))
        flagged.add(field)

    if "__not_object__" in row:
        bad("entry", "must be an object with sku, name, price, tax_code", row["__not_object__"])
        return None
    if "__columns__" in row:
        bad("row", row["__columns__"] + " (a comma inside a name needs quotes)", None)
        return None
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
        bad("tax_code", f"{tax_code!r} is not a configured tax code; use one of {', '.join(sorted(map(str, rates)))}")
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
    prompt = str(row.get("prompt") or "").strip()
    if len(prompt) > MAX_PROMPT:
        bad("prompt", f"longer than {MAX_PROMPT} characters; shorten it (it is shown in one line on the sell screen)")
    min_age = 0
    try:
        min_age = _age(row.get("min_age"))
    except ValueError as exc:
        bad("min_age", str(exc))
    label = str(row.get("quick_key") or "").strip()
    if len(label) > 40:
        bad("quick_key", "longer than 40 characters (the key shows at most 40)")
    item: dict[str, Any] = {
        "sku": sku,
        "name": name,
        "price": price,
        "tax_code": tax_code,
        "barcodes": codes,
        "weighed": weighed,
    }
    if prompt:
        item["prompt"] = prompt
    if min_age:
        item["min_age"] = min_age
    try:  # the contract's own limits (price range, lengths, barcode count): the register applies them too
        CatalogItem.model_validate(item)
    except ValidationError as exc:
        for problem in model_problems(
            exc, where, row, skip=flagged, say={"price": lambda error: _price_reason(error, currency)}
        ):
            problems.append(problem)
            flagged.add(problem.field)
    if flagged:
        return None
    if label:
        item["quick_key"] = label
    return item


MAX_VERSION = 2**53 - 1  # versions travel as JSON numbers; above this they stop being exact (the register's limit)


def pick_version(meta: dict[str, Any], version: int | None, held: int) -> int:
    """--version, else the file's own version, else one more than the version held."""
    if version is not None:
        return version
    if isinstance(meta.get("version"), int) and not isinstance(meta["version"], bool):
        return int(meta["version"])
    return max(held + 1, 1)


def check_version(chosen: Any, problems: list[RowProblem]) -> None:
    if isinstance(chosen, bool) or not isinstance(chosen, int) or not 1 <= chosen <= MAX_VERSION:
        problems.append(
            RowProblem(
                "file",
                "version",
                f"must be a whole number from 1 to {MAX_VERSION}; fix the file's version or give --version",
                chosen,
            )
        )


def _file_rates(meta: dict[str, Any], config: Config, problems: list[RowProblem]) -> dict[str, str]:
    """The file's own tax_rates (JSON only), checked like the shop's; else the shop's."""
    from firmware.domain.tax import parse_rate

    given = meta.get("tax_rates")
    if not given:
        return dict(config.shop.tax_rates)
    if not isinstance(given, dict):
        problems.append(RowProblem("file", "tax_rates", 'must map tax codes to rates, e.g. {"A": "19.00"}', given))
        return dict(config.shop.tax_rates)
    for code, rate in given.items():
        try:
            if not isinstance(rate, str) or not 1 <= len(code) <= 64:
                raise DomainError(f'tax code {code!r}: give the rate as text such as "19.00"')
            parse_rate(rate, code)
            if not re.fullmatch(r"\d{1,9}(\.\d{1,6})?", rate):
                raise DomainError(f"tax code {code}: at most 6 decimals")
        except DomainError as exc:
            problems.append(RowProblem("file", f"tax_rates.{code}", str(exc), rate))
    return {str(code): rate for code, rate in given.items() if isinstance(rate, str)}


def _file_keys(meta: dict[str, Any], problems: list[RowProblem]) -> list[dict[str, Any]]:
    given = meta.get("quick_keys") or []
    if not isinstance(given, list):
        problems.append(RowProblem("file", "quick_keys", "must be a list of {label, sku}", given))
        return []
    keys = []
    for i, key in enumerate(given):
        label = key.get("label") if isinstance(key, dict) else None
        if (
            not isinstance(key, dict)
            or not isinstance(label, str)
            or not 1 <= len(label) <= 40
            or not isinstance(key.get("sku"), str)
        ):
            problems.append(RowProblem(f"quick_keys[{i}]", "label", "must be {label: 1-40 characters, sku: text}", key))
            continue
        keys.append(key)
    return keys


def _contract_problems(payload: dict[str, Any], item_where: list[str], problems: list[RowProblem]) -> None:
    """The register's own gate (contract model, then domain) on the finished payload, errors mapped to rows.

    The per-row checks above should already have caught everything; this keeps the import and the register
    from ever disagreeing, and still reports in the one list rather than on its own.
    """
    from firmware.acceptance import check_domain
    from firmware.contract import CatalogMessage, PayloadRejected

    try:
        CatalogMessage.model_validate(payload)
    except ValidationError as exc:
        for error in exc.errors():
            loc = error["loc"]
            if len(loc) >= 2 and loc[0] == "items" and isinstance(loc[1], int) and loc[1] < len(item_where):
                field = str(loc[2]) if len(loc) > 2 else "row"
                entry = payload["items"][loc[1]]
                problems.append(
                    RowProblem(
                        item_where[loc[1]],
                        field,
                        readable(error),
                        entry.get(field) if isinstance(entry, dict) else entry,
                    )
                )
            else:
                problems.append(RowProblem("file", ".".join(map(str, loc)) or "catalog", readable(error)))
        return
    try:
        check_domain("catalog", payload)
    except PayloadRejected as exc:
        problems.append(RowProblem("file", "catalog", str(exc)))


def build_catalog(
    path: Path, config: Config, version: int | None, held: int = -1
) -> tuple[dict[str, Any], list[RowProblem]]:
    """The catalog payload (docs/contract.md#catalog) and every problem found; usable only with no problems."""
    meta, rows = read_rows(path, "items", COLUMNS)
    currency = meta.get("currency") or config.shop.currency
    problems: list[RowProblem] = []
    if currency != config.shop.currency:
        problems.append(
            RowProblem(
                "file",
                "currency",
                f"{currency} but this shop sells in {config.shop.currency}; fix the file or the shop settings",
                currency,
            )
        )
    rates = _file_rates(meta, config, problems)
    items: list[dict[str, Any]] = []
    item_where: list[str] = []
    seen_sku: dict[str, str] = {}
    seen_code: dict[str, str] = {}
    keys = _file_keys(meta, problems)
    for where, row in rows:
        item = _item(where, row, config.shop.currency, rates, problems)
        if item is None:
            continue
        if item["sku"] in seen_sku:
            problems.append(
                RowProblem(where, "sku", f"{item['sku']} already given at {seen_sku[item['sku']]}", item["sku"])
            )
            continue
        seen_sku[item["sku"]] = where
        for code in item["barcodes"]:
            if code in seen_code:
                problems.append(
                    RowProblem(where, "barcodes", f"{code} already belongs to the item at {seen_code[code]}", code)
                )
            seen_code[code] = where
        label = item.pop("quick_key", None)
        if label:
            keys.append({"label": label, "sku": item["sku"]})
        items.append(item)
        item_where.append(where)
    if not rows:
        problems.append(RowProblem("file", "items", "no items; a register needs at least one"))
    for i, key in enumerate(keys):
        if key.get("sku") not in seen_sku:
            problems.append(RowProblem(f"quick_keys[{i}]", "sku", f"{key.get('sku')!r} is not an item of this file"))
    chosen = pick_version(meta, version, held)
    check_version(chosen, problems)
    payload: dict[str, Any] = {"version": chosen, "currency": currency, "items": items, "quick_keys": keys}
    if meta.get("tax_rates"):
        payload["tax_rates"] = rates
    if not problems:
        _contract_problems(payload, item_where, problems)
    return payload, problems


def check_version_step(kind: str, version: int, held: int, force: bool, done: str = "nothing was applied") -> None:
    """The version the register holds may be replaced by `version` (InputRejected otherwise, unless `force`):
    newer than `held`, and not more than MAX_VERSION_JUMP above it - the acceptance gate's one version-jump rule,
    as `kassa-fleet publish-*` applies it."""
    from firmware.contract.acceptance import VersionJump, check_version_jump

    if version <= held and not force:
        raise InputRejected(
            f"{kind} version {version} is not newer than the one held ({held}); "
            f"give --version {held + 1} or --force to replace it"
        )
    try:
        check_version_jump(kind, version, held, force=force)
    except VersionJump as exc:
        raise InputRejected(f"{exc}; {done}") from None


def apply_versioned(store: VersionedStore, payload: dict[str, Any], kind: str, force: bool) -> Imported:
    """Store a payload whose version must be newer than the one held, and not too far above it, unless `force`."""
    check_version_step(kind, int(payload["version"]), store.version, force)
    applied = store.apply(payload, force=force)
    count = len(payload.get("items") or payload.get("clerks") or [])
    return Imported(kind, int(payload["version"]), count, applied)


def check_payload(payload: Any, where: str, shape: str, list_key: str,
                  contract_problems: Callable[[dict[str, Any], list[str], list[RowProblem]], None]) -> None:
    """The gate the register applies to a fleet message (contract model, then the domain); raises
    InputRejected listing every problem, each at its entry (`catalog.items[3]`, `clerks.clerks[2]`)."""
    if not isinstance(payload, dict):
        raise InputRejected(f"{where} must be a JSON object in the contract's {shape} shape")
    entries = payload.get(list_key)
    problems: list[RowProblem] = []
    contract_problems(
        payload, [f"{where}.{list_key}[{i}]" for i in range(len(entries))] if isinstance(entries, list) else [],
        problems)
    if problems:
        raise InputRejected(f"{where} refused by the register's own check: {len(problems)} problem(s)", problems)


def check_catalog_payload(payload: Any, where: str = "catalog") -> None:
    """`check_payload` for a catalog."""
    check_payload(payload, where, "catalog", "items", _contract_problems)


def import_catalog(path: Path, config: Config, version: int | None = None, force: bool = False) -> Imported:
    """Validate the whole file, then apply it atomically; raise InputRejected listing every bad row."""
    store = catalog_store(config.device.data_dir)
    payload, problems = build_catalog(path, config, version, store.version)
    if problems:  # the register's own gate ran inside build_catalog, its findings in the same list
        raise InputRejected(f"{path}: {len(problems)} problem(s); nothing was applied", problems)
    return apply_versioned(store, payload, "catalog", force)
