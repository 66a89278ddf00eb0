"""Goods sold by weight: the weight typed or read from the scale, the bounds a manager approves, shop-scale labels.

A weighed item (quick key, scan, item number) takes its weight, in order:
the weight the cashier typed first (weight, then item); else the scale's
reading when it is stable and above zero; else the register asks for it:
the command is refused with `WeightWanted` as its data, and the front end
sends the same command again with the weight (item, then weight). A weight
outside `[weighing] min_kg..max_kg` always needs a manager's PIN, also for
a logged-in manager (a slip of the finger is caught either way). An
unstable, overloaded or under-zero reading is never taken.

Price- and weight-embedded EAN-13 (GS1 20-29, `firmware/domain/embedded.py`)
name the item by their item digits: the item whose barcodes hold the code
with a zero value (the "template" a label scale is set up with), else the
item whose SKU is the item digits (with or without leading zeros).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from functools import lru_cache

from firmware.config import WeighingConfig
from firmware.domain.catalog import Item
from firmware.domain.embedded import Embedded, EmbeddedScheme
from firmware.domain.errors import DomainError
from firmware.domain.money import minor_digits
from firmware.domain.weight import WeightBounds, outside_bounds, parse_weight, weight_text
from firmware.register.core.commands import Command
from firmware.register.core.handlers.clerks import manager
from firmware.register.core.state import currency_of
from firmware.register.core.step import Step
from firmware.register.view import Outcome, WeightWanted
from hal.events import WeightRead

__all__ = ["embedded_scan", "label_name", "scale_read", "scheme_of", "take_weight"]

Taken = tuple[Decimal, str | None]  # the weight, and the manager who approved it (None: within bounds)


@lru_cache(maxsize=8)
def _scheme(layouts: tuple[str, ...], price_decimals: int, weight_decimals: int) -> EmbeddedScheme:
    return EmbeddedScheme.from_patterns(layouts, price_decimals, weight_decimals)


def scheme_of(weighing: WeighingConfig, currency_digits: int) -> EmbeddedScheme:
    """The shop's embedded-barcode scheme (parsed once per config)."""
    decimals = weighing.embedded_price_decimals
    return _scheme(tuple(weighing.embedded_layouts), currency_digits if decimals is None else decimals,
                   weighing.embedded_weight_decimals)


def _bounds(weighing: WeighingConfig) -> WeightBounds:
    return WeightBounds(Decimal(str(weighing.min_kg)), Decimal(str(weighing.max_kg)))


def scale_read(step: Step, event: WeightRead) -> None:
    """The scale's reading changed: keep it (the weight dialog shows it; a stable one can be sold)."""
    step.set(scale=event)


def _reading(step: Step) -> WeightRead | None:
    """The scale's last reading, or None without a scale or while it is silent or unplugged."""
    device = step.state.health.devices.get("scale")
    if device is None or not device.ok:
        return None
    return step.state.scale


def take_weight(step: Step, item: Item, typed: object, manager_pin: str | None, retry: Command,
                field: str = "weight") -> Taken | Outcome:
    """The weight to sell `item` at: typed, else a stable scale reading; an Outcome when there is none to take
    (with `WeightWanted`: send `retry` again with a weight) or when it is outside the bounds without a manager."""
    if typed is not None:
        weight = parse_weight(typed)
    else:
        reading = _reading(step)
        why = _not_sellable(reading)
        if why is not None:
            ask = f"{item.name} is sold by weight: {why}"
            return Outcome(False, ask, WeightWanted(retry, item.name, item.price, ask, field))
        assert reading is not None and reading.weight is not None
        weight = reading.weight
    return _approved(step, weight, manager_pin)


def _not_sellable(reading: WeightRead | None) -> str | None:
    if reading is None:
        return "type the weight in kg (e.g. 0.730)."
    if reading.status == "unstable":
        return "the scale is still moving; wait a moment, or type the weight."
    if reading.status == "overload":
        return "the scale is overloaded; take something off."
    if reading.status == "under_zero":
        return "the scale reads below zero; empty it and zero it."
    if reading.status != "stable" or reading.weight is None:
        return f"the scale reports a problem ({reading.detail or reading.status}); type the weight."
    if reading.weight <= 0:
        return "put it on the scale, or type the weight in kg (e.g. 0.730)."
    return None


def _approved(step: Step, weight: Decimal, manager_pin: str | None) -> Taken | Outcome:
    reason = outside_bounds(weight, _bounds(step.ctx.config.weighing))
    if reason is None:
        return weight, None
    if not manager_pin:  # always asked, also of a logged-in manager: a typo of 730 for 0.730 is the point
        return Outcome.refused(reason[0].upper() + reason[1:] + ".")
    return weight, manager(step, manager_pin, f"{weight_text(weight)}").clerk_id


def set_weight(step: Step, weight_typed: object, manager_pin: str | None) -> Taken | Outcome:
    """A new weight for a weighed line (Qty on a weighed line): parsed and bounded like a new one."""
    return _approved(step, parse_weight(weight_typed), manager_pin)


def embedded_scan(step: Step, code: str, manager_pin: str | None) -> tuple[Item, object, str | None] | Outcome | None:
    """A GS1 20-29 code under one of the shop's layouts: (item to add, qty, approved_by) or why not; None when the
    code is not an embedded one (then it is an ordinary barcode)."""
    digits = minor_digits(currency_of(step.state, step.ctx.config))
    scheme = scheme_of(step.ctx.config.weighing, digits)
    try:
        found = scheme.decode(code, digits)
    except DomainError as exc:
        return Outcome.refused(str(exc))
    if found is None:
        return None
    item = _item_for(step, scheme, found)
    if item is None:
        return Outcome.refused(f"No item has scale number {found.item} (label {found.code}); key the item, "
                               "or ask the manager to add the number to the catalog.")
    if found.price is not None:  # the label's price is the line's price: one piece at that price, named so
        return replace(item, price=found.price, weighed=False, name=label_name(item.name)), 1, None
    if not item.weighed:
        return Outcome.refused(f"{item.name} is not sold by weight, but label {found.code} carries a weight; "
                               "check the scale's item number.")
    assert found.weight is not None
    taken = _approved(step, found.weight, manager_pin)
    if isinstance(taken, Outcome):
        return taken
    return item, taken[0], taken[1]


_PER_UNIT = (" per kg", " / kg", "/kg", " per 100 g", " per 100g", " (per kg)", " kg")


def label_name(name: str) -> str:
    """A price label's line name: "Bananas per kg" -> "Bananas (label)". The label's price is for what the
    scale weighed, so nothing may read as a price per kg or as one kilogram."""
    base = name.strip()
    for suffix in _PER_UNIT:
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)].rstrip()
            break
    return f"{base or name} (label)"


def _item_for(step: Step, scheme: EmbeddedScheme, found: Embedded) -> Item | None:
    """The item with this scale number: a template code (any layout, value 0) among its barcodes, else its SKU."""
    catalog = step.state.catalog
    number = found.item.lstrip("0") or "0"
    layouts = (found.layout,) + tuple(lay for lay in scheme.layouts if lay != found.layout)
    for layout in layouts:
        if len(number) <= layout.item_digits:
            item = catalog.by_barcode(scheme.encode(layout, number, 0 if layout.kind == "price" else Decimal(0)))
            if item is not None:
                return item
    return catalog.by_sku(found.item) or catalog.by_sku(number)
