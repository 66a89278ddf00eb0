"""Stock on the till (docs/stock.md): the check when the cart takes an item, and the manager's stock-take.

The till never refuses a sale for want of stock. When the cart takes an item, what it takes of that sku in
all is checked against the stock on hand (the fleet's last snapshot plus this till's own deltas) under the
shop's policy: a warning is said and the item added, or, below zero where the policy wants a manager, the
command is refused asking for a manager's PIN and the approver goes on the line (`approved_by`), as for a
weight outside the bounds. A logged-in manager approves by being logged in.

A stock-take (`CountStock`, manager only) journals each counted quantity as a `count` delta (shell effect
`RecordStockCounts`); on the till the count replaces the level at once, and sync sends it to the fleet.
"""

from __future__ import annotations

from firmware.domain.catalog import Item
from firmware.domain.errors import DomainError
from firmware.domain.lines import Line
from firmware.domain.sale import Sale
from firmware.domain.stock import NeedsManager, StockWarn, parse_count, stock_text, stock_units
from firmware.register.core import commands as c, effects as fx
from firmware.register.core.handlers.clerks import manager
from firmware.register.core.step import Refusal, Step
from firmware.register.view import Outcome

__all__ = ["check_added", "count_stock", "on_hand_text"]


def _units(lines: tuple[Line, ...], sku: str) -> int:
    return sum(stock_units(line.qty, line.weighed) for line in lines if line.sku == sku and not line.voided)


def check_added(step: Step, sale: Sale, item: Item, manager_pin: str | None) -> tuple[str | None, str]:
    """Check the cart `sale` (with `item` just added) against the stock: (the manager who approved going below
    zero, or None; the warning to show, or ""). Raises a Refusal asking for a manager where the policy wants one."""
    stock = step.ctx.stock
    if stock is None or sale.kind != "sale":
        return None, ""
    found = stock.check(item.sku, _units(sale.lines, item.sku), name=item.name, weighed=item.weighed)
    if isinstance(found, StockWarn):
        return None, found.message
    if not isinstance(found, NeedsManager):
        return None, ""
    clerk = step.state.clerk
    if manager_pin is None and clerk is not None and clerk.is_manager:
        approver = clerk
    elif manager_pin is None:
        raise Refusal(found.message)
    else:
        approver = manager(step, manager_pin, "Selling below zero stock")
    return approver.clerk_id, found.message.replace("a manager must approve", f"approved by {approver.name}")


def on_hand_text(units: int | None, weighed: bool) -> str:
    """The stock as the cashier reads it: "12 in stock", "0.730 kg in stock", "Out of stock", or "" (not kept)."""
    if units is None:
        return ""
    if units <= 0:
        return "Out of stock" if units == 0 else f"Out of stock ({stock_text(units, weighed)})"
    return f"{stock_text(units, weighed)} in stock"


def count_stock(step: Step, cmd: c.CountStock) -> Outcome:
    """A manager's stock-take: each (sku, counted) journaled as a count, replacing the level on this till."""
    step.require_clerk()
    manager(step, cmd.manager_pin, "A stock count")
    if step.ctx.stock is None:
        raise Refusal("Stock is not kept on this register.")
    if not cmd.counts:
        raise Refusal("Scan an item and type how many are on the shelf first.")
    if len(cmd.counts) > c.MAX_STOCK_COUNTS:
        raise Refusal(f"Save at most {c.MAX_STOCK_COUNTS} counts at a time.")
    counts: list[tuple[str, int]] = []
    names: list[str] = []
    for sku, counted in cmd.counts:
        item = step.state.catalog.by_sku(sku)
        if item is None:
            raise Refusal(f"No item with number {sku}.")
        try:
            units = parse_count(counted, item.weighed)
        except DomainError as exc:
            raise Refusal(f"{item.name}: {exc}") from None
        counts.append((item.sku, units))
        names.append(item.name)
    step.do(fx.RecordStockCounts(tuple(counts)))
    what = names[0] if len(names) == 1 else f"{len(names)} items"
    return Outcome(True, f"Stock count of {what} saved")
