"""The commit point, shared by sales, refunds and no-sales: seal a receipt body and hand it to the journal writer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from firmware.clock import iso_utc
from firmware.domain.sale import Sale
from firmware.register.core.effects import CommitReceipt, Purpose
from firmware.register.core.state import Phase, currency_of, sale_rates_of
from firmware.register.core.step import Step


def clock_trusted(step: Step) -> bool:
    """False before NTP has synchronised, or when the clock is behind the last journaled receipt."""
    if not step.ctx.lookup.clock_synchronised():
        return False
    if step.state.last_created_at is None:
        last = step.ctx.lookup.recent(1)
        step.set(last_created_at=last[0].created_at if last else "")
    assert step.state.last_created_at is not None
    return step.state.last_created_at <= iso_utc(step.ctx.now)


def receipt_context(step: Step) -> dict[str, Any]:
    """The keyword arguments every receipt body is sealed with (firmware.domain.sale.Sale.receipt_body)."""
    config = step.ctx.config
    return dict(
        store=config.device.store,
        register=config.device.register,
        currency=currency_of(step.state, config),
        created_at=iso_utc(step.ctx.now),
        clock_trusted=clock_trusted(step),
        offline=not step.state.health.sync.online,
        rates=sale_rates_of(step.state, config),
        tax_included=config.shop.tax_included,
        cash_rounding=config.shop.cash_rounding,
    )


def commit(step: Step, sale: Sale, purpose: Purpose, accounts: Sequence[Mapping[str, Any]] = ()) -> None:
    """Seal `sale` as a receipt body and hand it to the journal writer; the phase waits in `committing`.

    A paid sale with a customer earns points (handlers/accounts.py); `accounts` are more entries for the receipt's
    `accounts` list (a refund's points reversed)."""
    from firmware.register.core.handlers import accounts as acc, layby

    extra = [*acc.account_entries(sale), *acc.earned_entries(step.state, step.ctx, sale), *(dict(e) for e in accounts),
             *layby.entries(step, sale)]
    body = sale.receipt_body(**receipt_context(step), accounts=extra)
    acc.before_commit(step, body)
    step.set(phase=Phase.COMMITTING)
    step.do(CommitReceipt(body, purpose))
