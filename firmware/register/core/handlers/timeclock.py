"""The time clock (docs/timeclock.md): the logged-in clerk clocks in and out and takes breaks, offline.

`Punch(kind)` is checked against the time clock the state holds (`TimeClock.apply`: a punch out of turn is
refused in the cashier's words) and handed to the journal writer (`CommitPunch`), which gives it the next seq
and chain link and journals it with the punch head in one transaction. Only `PunchCommitted` moves the time
clock on, and sync is told to send it; one punch is saved at a time. At start-up the time clock is replayed
from the journaled punches.

From the login screen (nobody logged in) a punch names its clerk and carries the PIN, checked at the login PIN
gate (`clerks.by_pin`: the same lockout as logging in); `Punch.check` checks the PIN alone. `Hours` sums today's
punches of this register into an X hours report (`hours_report(kind="x", as_of=now)`), printed on request.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from firmware.clock import iso_utc, parse_iso_utc
from firmware.domain import timeclock as tc
from firmware.domain.errors import Refused
from firmware.fleet_records import PUNCH
from firmware.register.core import commands as c, effects as fx
from firmware.register.core.events import PunchCommitted, PunchFailed
from firmware.register.core.handlers.clerks import by_pin
from firmware.register.core.handlers.commit import clock_trusted
from firmware.register.core.state import Phase
from firmware.register.core.step import Refusal, Step
from firmware.register.view import ClerkInfo, Outcome

log = logging.getLogger("firmware.register")

_DONE = {tc.CLOCK_IN: "{name} clocked in at {at}", tc.BREAK_START: "{name} is on a break since {at}",
         tc.BREAK_END: "{name} ended the break at {at}", tc.CLOCK_OUT: "{name} clocked out at {at}"}


def _domain(doc: Mapping[str, Any]) -> tc.Punch:
    """The domain's punch for a journaled punch document."""
    return tc.Punch(clerk_id=str(doc["clerk_id"]), kind=str(doc["kind"]), at=parse_iso_utc(str(doc["at"])),
                    clock_trusted=bool(doc.get("clock_trusted", True)), punch_id=str(doc.get("punch_id", "")))


def load(step: Step) -> None:
    """Replay the journaled punches into the time clock, in seq order (start-up)."""
    clock = tc.TimeClock()
    records = step.ctx.lookup.state_records(PUNCH)
    for key in sorted(records):
        try:
            clock = clock.apply(_domain(records[key]))
        except (Refused, KeyError, TypeError, ValueError) as exc:  # journaled, so it was allowed; never stop here
            log.warning("punch %s left out of the time clock: %s", key, exc)
    step.set(timeclock=clock)


def _name(step: Step, clerk_id: str) -> str:
    clerk = step.state.roster.get(clerk_id)
    return clerk.name if clerk is not None else clerk_id


def _hhmm(step: Step, punch: tc.Punch) -> str:
    return punch.at.astimezone(step.ctx.config.shop.zone).strftime("%H:%M")


def punch(step: Step, cmd: c.Punch) -> Outcome:
    """Punch for the logged-in clerk, or for `cmd.clerk_id` by their PIN (the login PIN gate counts a wrong one);
    refused (nothing saved) when the time clock does not allow it now. `kind` None: the PIN check alone, the
    clerk (`ClerkInfo`) in the Outcome's data."""
    clerk = by_pin(step, cmd.clerk_id, cmd.pin or "") if cmd.clerk_id is not None else step.require_clerk()
    if cmd.kind is None:
        return Outcome(True, "", ClerkInfo(clerk.clerk_id, clerk.name, clerk.role))
    if step.state.phase in (Phase.TENDER, Phase.COMMITTING):
        raise Refusal("Finish the payment first.")
    if step.state.punching is not None:
        raise Refusal("The last punch is still being saved; try again in a moment.")
    trusted = clock_trusted(step)
    domain = tc.Punch(clerk.clerk_id, cmd.kind, step.ctx.now, trusted)  # an unknown kind is refused here
    step.state.timeclock.check(domain, tz=step.ctx.config.shop.zone, name=clerk.name)
    config = step.ctx.config
    body = {"store": config.device.store, "register": config.device.register, "clerk_id": clerk.clerk_id,
            "kind": domain.kind, "at": iso_utc(step.ctx.now), "clock_trusted": trusted,
            "offline": not step.state.health.sync.online}
    step.set(punching=clerk.clerk_id)
    step.do(fx.CommitPunch(body))
    return Outcome(True, f"Saving {tc.WORDS[domain.kind]} for {clerk.name} at {_hhmm(step, domain)}…")


def committed(step: Step, event: PunchCommitted) -> None:
    """The punch is durable: the time clock moves on, the clerk is told, sync sends it."""
    step.set(punching=None)
    step.do(fx.PublishPending())
    try:
        done = _domain(event.punch)
        step.set(timeclock=step.state.timeclock.apply(done))
    except (Refused, KeyError, TypeError, ValueError) as exc:  # never: it was checked, one punch at a time
        log.error("punch %s journaled but not applied to the time clock: %s", event.punch.get("punch_id"), exc)
        return
    said = _DONE[done.kind].format(name=_name(step, done.clerk_id), at=_hhmm(step, done))
    step.note("info", said if done.clock_trusted else f"{said} (clock unverified)")


def failed(step: Step, event: PunchFailed) -> None:
    step.set(punching=None)
    kind = tc.WORDS.get(str(event.body.get("kind")), "punch")
    step.note("error", f"The {kind} was not saved ({event.reason}); nothing changed. Free disk space, then punch "
                       "again.")


def punches(step: Step) -> list[tc.Punch]:
    """This register's journaled punches, in seq order (one it cannot read is logged and left out)."""
    out = []
    records = step.ctx.lookup.state_records(PUNCH)
    for key in sorted(records):
        try:
            out.append(_domain(records[key]))
        except (Refused, KeyError, TypeError, ValueError) as exc:
            log.warning("punch %s left out of the hours: %s", key, exc)
    return out


def hours(step: Step, cmd: c.Hours) -> Outcome:
    """Today's hours (the shop's day) per clerk from this register's punches, open shifts counted up to now;
    printed too with `print_out`. Read-only, like an X report."""
    step.require_clerk()
    zone = step.ctx.config.shop.zone
    today = step.ctx.now.astimezone(zone).date()
    report = tc.hours_report(punches(step), zone, kind="x", as_of=step.ctx.now, first_day=today, last_day=today)
    if cmd.print_out:
        if not step.ctx.has_hardware:
            raise Refusal("There is no printer on this register.")
        step.do(fx.PrintHours(report))
    return Outcome(True, "", report)
