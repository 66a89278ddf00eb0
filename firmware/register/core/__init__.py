"""The register's functional core: `decide(state, message, ctx) -> Result(state, effects, outcome)`.

A message is a command (an order from a front end: `Scan`, `Tender`,
`Refund`...) or an event (something that happened: `ReceiptCommitted`,
`LinkDown`, `StateWritten`...). `decide` looks its handler up by type
(`handlers.COMMAND_HANDLERS`, `handlers.EVENT_HANDLERS`) and returns the new
immutable `RegisterState`, the effects the shell must carry out in order
(`effects.py`) and, for a command, the `Outcome` in the cashier's words.
It reads no clock, writes nothing and starts no thread: the time, fresh ids
and read-only lookups come in `ctx`. Commands never raise: a refusal
(`KassaError`) becomes a refused Outcome, anything else is logged and
refused politely; what was decided before the refusal stands.
"""

from __future__ import annotations

import logging

from firmware.errors import KassaError
from firmware.register.core import commands, effects, events
from firmware.register.core.context import Context, Lookup
from firmware.register.core.handlers import COMMAND_HANDLERS, EVENT_HANDLERS, accounts, refund, timeclock
from firmware.register.core.handlers.accounts import gift_card_balance, points_balance
from firmware.register.core.handlers.clerks import lockout_view
from firmware.register.core.handlers.park import parked
from firmware.register.core.handlers.refund import preview as refund_preview
from firmware.register.core.read_model import read_model
from firmware.register.core.state import Health, Phase, RegisterState
from firmware.register.core.step import Result, Step
from firmware.register.view import Outcome

log = logging.getLogger("firmware.register")

UNEXPECTED = "Something went wrong; the sale is safe. Try again or call the manager."

__all__ = ["Context", "Health", "Lookup", "Phase", "RegisterState", "Result", "commands", "decide", "effects",
           "events", "gift_card_balance", "lockout_view", "parked", "points_balance", "read_model", "refund_preview",
           "run_command", "said", "start"]


def run_command(step: Step, command: commands.Command) -> Outcome:
    """Run one command's handler on `step`; its Outcome becomes the screen's message."""
    handler = COMMAND_HANDLERS[type(command)]
    try:
        outcome = handler(step, command)
    except KassaError as exc:
        outcome = Outcome.refused(str(exc))
    except Exception:
        log.exception("register command %s failed", type(command).__name__)
        outcome = Outcome.refused(UNEXPECTED)
    step.said(outcome)
    return outcome


def decide(state: RegisterState, message: commands.Command | object, ctx: Context) -> Result:
    """Apply one command or event to `state`; unknown events are ignored (logged at debug level)."""
    step = Step(state, ctx)
    if isinstance(message, commands.Command):
        return step.result(run_command(step, message))
    handler = EVENT_HANDLERS.get(type(message))
    if handler is None:
        log.debug("ignored event %r", message)
        return step.result()
    handler(step, message)
    return step.result()


def said(state: RegisterState, outcome: Outcome, ctx: Context) -> RegisterState:
    """`state` with `outcome` as the screen's message (the shell's own refusals, e.g. an export already running)."""
    step = Step(state, ctx)
    step.said(outcome)
    return step.state


def start(state: RegisterState, ctx: Context) -> Result:
    """What the register does once at start-up: re-index refunds a power cut may have left out, read the
    accounts book (the fleet's last snapshot and this register's receipts since) and replay the time clock."""
    step = Step(state, ctx)
    refund.catch_up(step)
    accounts.load(step)
    timeclock.load(step)
    return step.result()
