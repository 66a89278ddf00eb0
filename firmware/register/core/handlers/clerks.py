"""Clerks: log in and out, manager approval, and the PIN lockouts behind both (firmware/domain/lockout.py).

Each PIN gate (login, approval) counts wrong PINs twice: per clerk (the one
logging in; for an approval, the one asking) and for the whole register, so
trying many clerk ids buys no extra guesses. The counters are held in the
state (read once from their `lockout` state records, so a restart still
refuses) and every change is written behind as a state record.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from types import MappingProxyType

from firmware.domain import lockout as rule
from firmware.domain.clerks import Clerk
from firmware.domain.errors import DomainError
from firmware.domain.lockout import Lockout, wait_words
from firmware.register.core.commands import CheckManager, Login, Logout
from firmware.register.core.context import Context
from firmware.register.core.effects import Change, LockoutsSaved, PutState
from firmware.register.core.state import Phase, RegisterState
from firmware.register.core.step import Refusal, Step
from firmware.register.view import ClerkInfo, LockoutView, Outcome

log = logging.getLogger("firmware.register")

KIND = "lockout"
PURPOSES = ("login", "approval")
NOBODY = "-"  # the clerk key for an id the roster does not know (or no clerk logged in)


# ---- the PIN gates

def _now_ms(ctx: Context) -> int:
    return int(ctx.now.timestamp() * 1000)


def _keys(purpose: str, who: str) -> list[tuple[str, rule.Policy]]:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown PIN gate {purpose!r}")
    return [(f"{purpose}:clerk:{who}", rule.CLERK), (f"{purpose}:device", rule.DEVICE)]


def _held(state: RegisterState, ctx: Context, key: str, now_ms: int) -> Lockout:
    found = state.lockouts.get(key)
    if found is None:
        doc = ctx.lookup.state_record(KIND, key)
        try:
            found = Lockout.from_dict(doc) if doc else Lockout()
        except DomainError as err:
            log.warning("lockout record %s unreadable, counted from zero: %s", key, err)
            found = Lockout()
    return rule.rebase(found, now_ms)


def _hold(state: RegisterState, held: dict[str, Lockout]) -> RegisterState:
    changed = {k: v for k, v in held.items() if state.lockouts.get(k) != v}
    if not changed:
        return state
    return replace(state, lockouts=MappingProxyType({**state.lockouts, **changed}))


def gate_clerk(state: RegisterState, purpose: str, clerk_id: str | None) -> str:
    """Whose counter a PIN counts on: the clerk logging in, or the clerk asking for an approval."""
    if purpose == "approval" and clerk_id is None:
        clerk_id = state.clerk.clerk_id if state.clerk is not None else None
    return clerk_id if clerk_id is not None and state.roster.get(clerk_id) is not None else NOBODY


def gate_status(state: RegisterState, ctx: Context, purpose: str, who: str) -> tuple[LockoutView, RegisterState]:
    """Seconds left of a lock (0 = open) and, after a wrong PIN, the tries left; the state holds what was read."""
    now = _now_ms(ctx)
    held = {key: _held(state, ctx, key, now) for key, _policy in _keys(purpose, who)}
    gates = [(held[key], policy) for key, policy in _keys(purpose, who)]
    seconds = max(rule.seconds_left(lock, now) for lock, _ in gates)
    if seconds:
        view = LockoutView(seconds, 0)
    else:
        left = min(rule.tries_left(lock, now, policy) for lock, policy in gates)
        view = LockoutView(0, left if left < rule.CLERK.free_tries else None)
    return view, _hold(state, held)


def lockout_view(state: RegisterState, ctx: Context, purpose: str,
                 clerk_id: str | None) -> tuple[LockoutView, RegisterState]:
    """The read model of a PIN gate ("login" for `clerk_id`, "approval" for the logged-in clerk)."""
    return gate_status(state, ctx, purpose, gate_clerk(state, purpose, clerk_id))


def _save(step: Step, changes: list[Change]) -> None:
    if changes:
        step.do(PutState(tuple(changes), LockoutsSaved()))


def _gate_shut(step: Step, purpose: str, who: str) -> None:
    """Refuse (without checking the PIN) while a lockout runs."""
    status, step.state = gate_status(step.state, step.ctx, purpose, who)
    if status.seconds:
        raise Refusal(f"Too many wrong PINs. Try again in {wait_words(status.seconds)}.")


def _failed(step: Step, purpose: str, who: str, wrong: str) -> Refusal:
    """Count a wrong PIN on the clerk's and the register's counters; the refusal says the lockout or tries left."""
    now = _now_ms(step.ctx)
    changes: list[Change] = []
    held: dict[str, Lockout] = {}
    for key, policy in _keys(purpose, who):
        before = _held(step.state, step.ctx, key, now)
        after = rule.record_failure(before, now, policy)
        held[key] = after
        if after != before:
            changes.append((KIND, key, after.to_dict()))
    step.state = _hold(step.state, held)
    _save(step, changes)
    status, step.state = gate_status(step.state, step.ctx, purpose, who)
    if status.seconds:
        log.warning("%s PIN gate locked for %d s (clerk %s)", purpose, status.seconds, who)
        return Refusal(f"Too many wrong PINs. Try again in {wait_words(status.seconds)}.")
    left = status.tries_left
    return Refusal(wrong if left is None else f"{wrong} {left} {'try' if left == 1 else 'tries'} left.")


def _succeeded(step: Step, purpose: str, who: str) -> None:
    """The right PIN: both counters start again (written only when there was something to clear)."""
    now = _now_ms(step.ctx)
    changes: list[Change] = []
    held: dict[str, Lockout] = {}
    for key, _policy in _keys(purpose, who):
        current = _held(step.state, step.ctx, key, now)
        held[key] = current
        if not current.is_clear:
            held[key] = rule.record_success(current)
            changes.append((KIND, key, None))
    step.state = _hold(step.state, held)
    _save(step, changes)


# ---- approval

def manager(step: Step, pin: str | None, what: str) -> Clerk:
    """The approving manager for `what` (the logged-in one when no PIN), or a refusal naming what needs approval."""
    clerk = step.state.clerk
    if clerk is not None and clerk.role == "manager" and pin is None:
        return clerk
    if not pin:
        raise Refusal(f"{what} needs a manager's PIN.")
    who = gate_clerk(step.state, "approval", None)
    _gate_shut(step, "approval", who)
    approver = step.state.roster.approve(pin)
    if approver is None:
        raise _failed(step, "approval", who, "That is not a manager's PIN.")
    _succeeded(step, "approval", who)
    return approver


def approval(step: Step, pin: str | None, what: str) -> str | None:
    """Who approved: the manager whose PIN was given, else the logged-in clerk when a manager, else None."""
    if pin:
        return manager(step, pin, what).clerk_id
    clerk = step.state.clerk
    return clerk.clerk_id if clerk is not None and clerk.role == "manager" else None


# ---- commands

def by_pin(step: Step, clerk_id: str, pin: str) -> Clerk:
    """The clerk `clerk_id` when `pin` is theirs, through the login PIN gate: a wrong PIN counts toward the login
    lockout (the clerk's and the register's), a right one clears it. Logging in and the login screen's time
    clock (`Punch` with a clerk and PIN) both come through here, so neither buys extra guesses."""
    who = gate_clerk(step.state, "login", clerk_id)
    _gate_shut(step, "login", who)
    clerk = step.state.roster.authenticate(clerk_id, pin)
    if clerk is None:
        raise _failed(step, "login", who, "Wrong PIN.")
    _succeeded(step, "login", who)
    return clerk


def login(step: Step, cmd: Login) -> Outcome:
    """Log a clerk in by PIN; wrong PINs lock that clerk (and, many of them, the register) out for a while."""
    clerk = by_pin(step, cmd.clerk_id, cmd.pin)
    step.set(clerk=clerk, phase=Phase.SELL if step.state.phase == Phase.LOGIN else step.state.phase)
    log.info("clerk %s logged in", clerk.clerk_id)
    return Outcome(True, f"Hello, {clerk.name}")


def logout(step: Step, cmd: Logout) -> Outcome:
    if step.state.phase in (Phase.TENDER, Phase.COMMITTING):
        return Outcome.refused("Finish or cancel the payment first.")
    step.set(clerk=None, phase=Phase.LOGIN)
    return Outcome(True, "")


def check_manager(step: Step, cmd: CheckManager) -> Outcome:
    approver = manager(step, cmd.pin or None, "The manager menu")
    return Outcome(True, "", ClerkInfo(approver.clerk_id, approver.name, approver.role))


def lockouts_saved(step: Step, then: LockoutsSaved, ok: bool, reason: str) -> None:
    if not ok:  # memory keeps the stricter, newer count
        log.warning("lockout counters not saved (%s); this register still holds them until it restarts", reason)
