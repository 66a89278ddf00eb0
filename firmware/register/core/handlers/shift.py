"""Shifts: open one with the float counted into the drawer; paid-in, paid-out and cash drops while it runs.

The open shift is the `shift`/`current` state record, written behind; a
failure to save it is said, and the shift reads as it was before.
"""

from __future__ import annotations

from firmware.clock import iso_utc
from firmware.domain.shift import Shift
from firmware.register.core import commands as c
from firmware.register.core.effects import PutState, ShiftSaved
from firmware.register.core.state import money_of
from firmware.register.core.step import Step
from firmware.register.view import Outcome

SHIFT = "shift"


def current(step: Step) -> Shift | None:
    doc = step.record(SHIFT, "current")
    return Shift.from_dict(doc) if doc else None


def _save(step: Step, shift: Shift, said: str) -> Outcome:
    step.do(PutState(((SHIFT, "current", shift.to_dict()),), ShiftSaved(said)))
    return Outcome(True, said)


def shift_saved(step: Step, then: ShiftSaved, ok: bool, reason: str) -> None:
    if not ok:
        step.said(Outcome.refused(f"Not saved: {then.said.lower()} ({reason}). Free disk space and do it again."))


def open_shift(step: Step, cmd: c.OpenShift) -> Outcome:
    """Start a shift with the float counted into the drawer."""
    clerk = step.require_clerk()
    if current(step) is not None:
        return Outcome.refused("A shift is already open; close it with a Z report first.")
    shift = Shift.open(step.ctx.new_id()[:8], clerk.clerk_id, cmd.float_amount, iso_utc(step.ctx.now))
    return _save(step, shift, "Shift opened")


def cash_movement(step: Step, cmd: c.CashMovement) -> Outcome:
    """Paid-in, paid-out or cash drop to the safe, logged with clerk and reason."""
    clerk = step.require_clerk()
    shift = current(step)
    if shift is None:
        return Outcome.refused("Open a shift first.")
    at = iso_utc(step.ctx.now)
    if cmd.kind == "paid_in":
        shift = shift.paid_in(cmd.amount, cmd.reason, clerk.clerk_id, at)
    elif cmd.kind == "paid_out":
        shift = shift.paid_out(cmd.amount, cmd.reason, clerk.clerk_id, at)
    elif cmd.kind == "drop":
        shift = shift.cash_drop(cmd.amount, clerk.clerk_id, at, cmd.reason or "drop to safe")
    else:
        return Outcome.refused("Unknown cash movement: choose paid in, paid out or drop.")
    money = money_of(step.state, step.ctx.config)
    return _save(step, shift, f"{cmd.kind.replace('_', ' ').capitalize()} of {money(cmd.amount)} recorded")
