"""Park and recall: put the open cart aside to serve the next customer, and bring it back.

A parked cart is a `parked` state record. It is listed as parked at once and
"parked" is said once it is on disk; if it cannot be saved it comes back to
the screen when the cart there is still empty.
"""

from __future__ import annotations

import logging

from firmware.clock import iso_utc, parse_iso_utc
from firmware.domain.parked import ParkedCart, park as park_cart
from firmware.register.core import commands as c
from firmware.register.core.context import Context
from firmware.register.core.effects import CartParked, CartRecalled, PutState
from firmware.register.core.state import Phase, RegisterState
from firmware.register.core.step import Step
from firmware.register.view import Outcome, ParkedInfo

log = logging.getLogger("firmware.register")

PARKED = "parked"


def parked(state: RegisterState, ctx: Context) -> list[ParkedInfo]:
    """The read model: parked carts, oldest first, stale ones marked."""
    max_age = ctx.config.policy.parked_cart_max_age_hours
    carts = sorted((ParkedCart.from_dict(doc) for doc in ctx.lookup.state_records(PARKED).values()),
                   key=lambda cart: cart.parked_at)
    return [ParkedInfo(cart.park_id, cart.clerk_id, parse_iso_utc(cart.parked_at), cart.line_count, cart.total,
                       cart.is_stale(ctx.now, max_age)) for cart in carts]


def park(step: Step, cmd: c.Park) -> Outcome:
    sale = step.state.sale
    if step.state.phase != Phase.SELL or sale is None:
        return Outcome.refused("There is no open cart to park.")
    cart = park_cart(sale, step.ctx.new_id()[:8], iso_utc(step.ctx.now))
    step.do(PutState(((PARKED, cart.park_id, cart.to_dict()),), CartParked(cart)))
    step.set(sale=None)
    return Outcome(True, f"Parking the cart as {cart.park_id}", cart.park_id)


def cart_parked(step: Step, then: CartParked, ok: bool, reason: str) -> None:
    cart = then.cart
    if ok:
        step.said(Outcome(True, f"Cart parked as {cart.park_id}"))
        return
    sale = step.state.sale
    back = step.state.phase == Phase.SELL and (sale is None or sale.is_empty)
    if back:
        step.set(sale=cart.recall())
    step.said(Outcome.refused(f"The cart could not be parked ({reason})" + (
        "; it is back on the screen." if back else
        f"; recall is not possible, scan its {cart.line_count} lines again.")))


def recall(step: Step, cmd: c.Recall) -> Outcome:
    """Bring a parked cart back; refused while another cart is open."""
    step.require_clerk()
    sale = step.state.sale
    if step.state.phase in (Phase.TENDER, Phase.COMMITTING) or (sale is not None and not sale.is_empty):
        return Outcome.refused("Park or finish the open cart first.")
    doc = step.record(PARKED, cmd.park_id)
    if doc is None:
        return Outcome.refused(f"No parked cart {cmd.park_id}.")
    step.set(sale=ParkedCart.from_dict(doc).recall(), phase=Phase.SELL)
    step.do(PutState(((PARKED, cmd.park_id, None),), CartRecalled(cmd.park_id)))
    return Outcome(True, f"Cart {cmd.park_id} recalled")


def cart_recalled(step: Step, then: CartRecalled, ok: bool, reason: str) -> None:
    if not ok:
        log.warning("recalled cart %s stays in the journal as parked too: %s", then.park_id, reason)
