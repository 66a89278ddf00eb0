"""Park and recall: put the open cart aside to serve the next customer, and bring it back.

A parked cart is a `parked` state record under a short number, "P1", "P2"...,
counted from 1 again after each Z report (a number still parked is never
given out twice). It also has a serial that never repeats: the park slip's
barcode carries it (`slip_code`), so scanning a slip brings back exactly that
cart, and an old slip of a cart already recalled is refused in plain words.
The slip is printed once the cart is on disk; "parked" is said then too; if it
cannot be saved it comes back to the screen when the cart there is still empty.

A cashier recalls their own carts; another clerk's cart needs a manager.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from firmware.clock import iso_utc, parse_iso_utc
from firmware.domain import sale_promotions
from firmware.domain.parked import ParkedCart, park as park_cart
from firmware.register.core import commands as c
from firmware.register.core.context import Context, StateDoc
from firmware.register.core.effects import CartParked, CartRecalled, PrintReceipt, PutState
from firmware.register.core.handlers import sale
from firmware.register.core.handlers.clerks import manager
from firmware.register.core.state import Phase, Receipt, RegisterState, currency_of
from firmware.register.core.step import Step
from firmware.register.view import Outcome, ParkedInfo

log = logging.getLogger("firmware.register")

PARKED = "parked"
COUNTERS = "counters"
PARK_COUNTER = "park"  # {"serial": last serial ever, "number": last number since the Z}
SLIP_PREFIX = "0499"  # GS1 restricted circulation (in-store): never an item's EAN, never a scale's 2x code


def slip_code(serial: int) -> str:
    """The park slip's barcode: 13 digits, "0499" + the serial, with an EAN-13 check digit (any scanner reads
    it, and a keyboard-wedge scanner types it as digits)."""
    body = f"{SLIP_PREFIX}{serial:08d}"
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body)) % 10) % 10
    return body + str(check)


def slip_serial(code: str) -> int | None:
    """The serial a park slip's barcode carries; None when `code` is not a park slip."""
    code = code.strip()
    if len(code) != 13 or not code.isdigit() or not code.startswith(SLIP_PREFIX) or slip_code(int(code[4:12])) != code:
        return None
    return int(code[4:12])


def _number(doc: StateDoc) -> int:
    try:
        return int(doc.get("number") or 0)
    except (TypeError, ValueError):
        return 0


def _label(doc: StateDoc) -> str:
    """"P3", or the id of a cart parked before numbers existed."""
    n = _number(doc)
    return f"P{n}" if n else str(doc.get("park_id", "?"))


def _cart(state: RegisterState | None, doc: StateDoc) -> ParkedCart:
    """A parked record as a cart priced as it was parked: its codes and clock with the catalog's promotions."""
    cart = ParkedCart.from_dict(doc)
    if cart.sale.promos is None or state is None:
        return cart
    return replace(cart, sale=sale_promotions.attach(cart.sale, state.catalog.promotions))


def parked(state: RegisterState, ctx: Context) -> list[ParkedInfo]:
    """The read model: parked carts, oldest first, stale ones marked, with number, clerk and total."""
    max_age = ctx.config.policy.parked_cart_max_age_hours
    out = []
    docs = sorted(ctx.lookup.state_records(PARKED).values(), key=lambda d: str(d.get("parked_at", "")))
    for doc in docs:
        cart = _cart(state, doc)
        clerk = state.roster.get(cart.clerk_id)
        serial = doc.get("serial")
        out.append(ParkedInfo(cart.park_id, cart.clerk_id, parse_iso_utc(cart.parked_at), cart.line_count,
                              cart.total, cart.is_stale(ctx.now, max_age), _label(doc),
                              slip_code(int(serial)) if isinstance(serial, int) else "",
                              clerk.name if clerk else cart.clerk_id))
    return out


def next_numbers(step: Step) -> tuple[int, int]:
    """(serial, number) for the next cart: the serial never repeats; the number is the next after the last one
    given since the Z and after every cart still parked."""
    counter = step.record(COUNTERS, PARK_COUNTER) or {}
    live = [_number(doc) for doc in step.ctx.lookup.state_records(PARKED).values()]
    serial = int(counter.get("serial") or 0) + 1
    number = max([int(counter.get("number") or 0), *live]) + 1
    return serial, number


def reset_numbers(step: Step) -> tuple[str, str, StateDoc]:
    """The counter change a Z report writes: numbers start at P1 again (the serial goes on)."""
    counter = dict(step.record(COUNTERS, PARK_COUNTER) or {})
    counter["number"] = 0
    counter.setdefault("serial", 0)
    return COUNTERS, PARK_COUNTER, counter


def slip(doc: StateDoc, clerk_name: str, currency: str, state: RegisterState | None = None) -> Receipt:
    """The park slip as a printable document (`kind` "park_slip", laid out by firmware/printout.py): the number
    large, clerk, time, the lines and total, and `receipt_id` = the barcode to scan to recall it."""
    cart = _cart(state, doc)
    return Receipt.from_doc({
        "kind": "park_slip", "receipt_id": slip_code(int(doc["serial"])), "park_number": _label(doc),
        "created_at": doc["parked_at"], "clerk_id": cart.clerk_id, "clerk_name": clerk_name, "currency": currency,
        "lines": [{"name": ln.name, "sku": ln.sku, "qty": str(ln.qty), "unit_price": ln.unit_price,
                   "amount": ln.amount} for ln in cart.sale.active_lines],
        "totals": {"total": cart.total},
    })


def park(step: Step, cmd: c.Park) -> Outcome:
    sale_now = step.state.sale
    if step.state.phase != Phase.SELL or sale_now is None:
        return Outcome.refused("There is no open cart to park.")
    if any(line.source == "layby" for line in sale_now.active_lines):  # its layby movement is not parked
        return Outcome.refused("A layby payment is taken now, not parked: pay it, or void its line.")
    serial, number = next_numbers(step)
    cart = park_cart(sale_now, f"P{number}", iso_utc(step.ctx.now))
    doc = {**cart.to_dict(), "number": number, "serial": serial}
    step.do(PutState(((PARKED, cart.park_id, doc), (COUNTERS, PARK_COUNTER, {"serial": serial, "number": number})),
                     CartParked(cart)))
    step.set(sale=None)
    return Outcome(True, f"Parking the cart as {cart.park_id}", cart.park_id)


def cart_parked(step: Step, then: CartParked, ok: bool, reason: str) -> None:
    cart = then.cart
    if ok:
        doc = step.record(PARKED, cart.park_id)
        if doc is not None and step.ctx.has_hardware and isinstance(doc.get("serial"), int):
            clerk = step.state.roster.get(cart.clerk_id)
            step.do(PrintReceipt(slip(doc, clerk.name if clerk else cart.clerk_id,
                                      currency_of(step.state, step.ctx.config), step.state)))
        step.said(Outcome(True, f"Cart parked as {cart.park_id}"))
        return
    sale_now = step.state.sale
    back = step.state.phase == Phase.SELL and (sale_now is None or sale_now.is_empty)
    if back:
        step.set(sale=cart.recall())
    step.said(Outcome.refused(f"The cart could not be parked ({reason})" + (
        "; it is back on the screen." if back else
        f"; recall is not possible, scan its {cart.line_count} lines again.")))


def _find(step: Step, wanted: str) -> tuple[str, StateDoc] | None:
    """The parked record `wanted` names: its id, its number ("P3", "p3" or "3") or its slip's code."""
    wanted = wanted.strip()
    doc = step.record(PARKED, wanted)
    if doc is not None:
        return wanted, doc
    serial = slip_serial(wanted)
    digits = wanted.upper().removeprefix("P")
    for key, doc in step.ctx.lookup.state_records(PARKED).items():
        if serial is not None and doc.get("serial") == serial:
            return key, doc
        if serial is None and digits.isdigit() and _number(doc) == int(digits):
            return key, doc
    return None


def recall(step: Step, cmd: c.Recall) -> Outcome:
    """Bring a parked cart back; refused while another cart is open. Another clerk's cart needs a manager."""
    clerk = step.require_clerk()
    sale_now = step.state.sale
    if step.state.phase in (Phase.TENDER, Phase.COMMITTING) or (sale_now is not None and not sale_now.is_empty):
        return Outcome.refused("Park or finish the open cart first.")
    found = _find(step, cmd.park_id)
    if found is None:
        if slip_serial(cmd.park_id) is not None:
            return Outcome.refused("That slip's cart is no longer parked: it was brought back already.")
        return Outcome.refused(f"No parked cart {cmd.park_id}.")
    key, doc = found
    cart = ParkedCart.from_dict(doc)
    if cart.clerk_id != clerk.clerk_id and clerk.role != "manager":
        owner = step.state.roster.get(cart.clerk_id)
        manager(step, cmd.manager_pin, f"Bringing back {owner.name if owner else 'another clerk'}'s cart")
    back, codes = sale.recalled(step, cart.recall())  # its codes apply again, at the till's clock now
    step.set(sale=back, phase=Phase.SELL)
    step.do(PutState(((PARKED, key, None),), CartRecalled(key)))
    return Outcome(True, f"Cart {_label(doc)} is back" + (f"; {codes}" if codes else ""))


def cart_recalled(step: Step, then: CartRecalled, ok: bool, reason: str) -> None:
    if not ok:
        log.warning("recalled cart %s stays in the journal as parked too: %s", then.park_id, reason)


def scan(step: Step, cmd: c.Scan) -> Outcome:
    """Every scan comes here first: a park slip recalls its cart, anything else is sold (`sale.scan`)."""
    if slip_serial(cmd.code) is not None:
        return recall(step, c.Recall(cmd.code.strip()))
    return sale.scan(step, cmd)
