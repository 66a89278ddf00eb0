"""The read model: the `RegisterView` snapshot a screen draws, built from the state (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from firmware.config import Config
from firmware.domain import sale_promotions
from firmware.printout import shop_header
from firmware.register.core.state import RegisterState, currency_of, sale_rates_of
from firmware.register.view import ClerkInfo, LineView, RegisterView, ScaleView, TimeClockView, TotalsView


def read_model(state: RegisterState, config: Config, now: datetime, revision: int, print_backlog: int) -> RegisterView:
    """Everything a screen needs at `revision`; `print_backlog` is the printer's count of failed jobs."""
    lines: tuple[LineView, ...] = ()
    totals = TotalsView()
    tenders: tuple[dict[str, Any], ...] = ()
    customer = None
    held_back: tuple[str, ...] = ()
    if state.sale is not None:
        sale = state.sale
        shares = {line.line_no: line.discount for line in sale.receipt_lines()}  # line + its cart discount share
        lines = tuple(LineView(line.line_no, line.sku, line.name, line.qty, line.unit_price, line.discount,
                               line.amount, line.voided,
                               cart_discount=0 if line.voided else shares.get(line.line_no, 0) - line.discount,
                               source=line.source)
                      for line in sale.lines)
        shop = config.shop
        t = sale.totals(sale_rates_of(state, config), shop.tax_included, shop.cash_rounding)
        totals = TotalsView(t.subtotal, t.tax, t.total, t.paid, t.due, t.change, t.rounding, t.cash_due, t.discount)
        tenders = tuple({"type": x.kind, "amount": x.amount, "change": x.change} for x in sale.tenders)
        customer = sale.customer_code
        held_back = sale_promotions.held_back_names(sale)
    clerk = state.clerk
    return RegisterView(
        revision=revision,
        store=config.device.store,
        register=config.device.register,
        currency=currency_of(state, config),
        phase=state.phase,
        clerk=ClerkInfo(clerk.clerk_id, clerk.name, clerk.role) if clerk else None,
        lines=lines,
        totals=totals,
        tenders=tenders,
        customer_code=customer,
        last_receipt=state.last_receipt,
        message=state.message,
        flash_line=state.flash_line,
        sync=state.health.sync,
        health=dict(state.health.devices),
        warnings=state.health.warnings(now, config.policy),
        print_backlog=print_backlog,
        currency_display=config.shop.currency_display,
        timezone=config.shop.timezone,
        receipt_scan=state.receipt_scan,
        card_scan=state.card_scan,
        scale=_scale(state),
        held_back=held_back,
        time_clock=_time_clock(state),
        punching=state.punching,
        found=state.receipt_search,
        receipt_header=tuple(shop_header(config.shop)),
        receipt_page=config.shop.receipt_page,
    )


def _scale(state: RegisterState) -> ScaleView | None:
    """The scale for the weight dialog: None without one; "offline" while it does not answer."""
    device = state.health.devices.get("scale")
    if device is None:
        return None
    reading = state.scale
    if not device.ok or reading is None:
        return ScaleView("offline", None, device.detail)
    return ScaleView(reading.status, reading.weight, reading.detail)


def _time_clock(state: RegisterState) -> tuple[TimeClockView, ...]:
    """Each clerk the time clock knows, by clerk id, with the punches the domain allows them now."""
    clock = state.timeclock
    return tuple(TimeClockView(c.clerk_id, c.state, c.since, c.shift_start, clock.allowed(c.clerk_id))
                 for _, c in sorted(clock.clerks.items()))
