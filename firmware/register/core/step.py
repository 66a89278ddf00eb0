"""One decision in the making: the state so far and the effects asked for, local to a single `decide` call.

A handler reads `step.state`, replaces it with new values and appends effects;
`firmware.register.core.decide` then returns them as a `Result`. A refusal
raised half-way keeps what was decided before it (a wrong PIN is still
counted, an opened cart stays open), exactly as the cashier saw it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Any

from firmware.domain.clerks import Clerk
from firmware.domain.errors import Refused
from firmware.register.core.context import Context, StateDoc
from firmware.register.core.effects import Effect, PutState
from firmware.register.core.state import Health, RegisterState
from firmware.register.view import Message, Outcome

Refusal = Refused  # raise Refusal("sentence") from a handler: the command's Outcome says it


@dataclass(frozen=True)
class Result:
    """What one command or event did: the new state, the effects to carry out in order, and (commands) the answer."""

    state: RegisterState
    effects: tuple[Effect, ...] = ()
    outcome: Outcome | None = None


class Step:
    """The scratchpad of one `decide` call (never shared, never kept)."""

    def __init__(self, state: RegisterState, ctx: Context) -> None:
        self.state = state
        self.ctx = ctx
        self.effects: list[Effect] = []

    def set(self, **changes: Any) -> None:
        """Replace fields of the state (dataclasses.replace)."""
        self.state = replace(self.state, **changes)

    def do(self, *effects: Effect) -> None:
        self.effects.extend(effects)

    def record(self, kind: str, key: str) -> StateDoc | None:
        """A state record as this step leaves it: written earlier in the step (a `PutState`), else looked up."""
        for effect in reversed(self.effects):
            if isinstance(effect, PutState):
                for k, name, doc in reversed(effect.changes):
                    if k == kind and name == key:
                        return copy.deepcopy(doc)
        return self.ctx.lookup.state_record(kind, key)

    def health(self, health: Health) -> None:
        if health is not self.state.health:
            self.set(health=health)

    def note(self, level: str, text: str) -> None:
        """Say something to the cashier (the message shown on the screen)."""
        self.set(message=Message(level, text, self.ctx.now))

    def said(self, outcome: Outcome) -> None:
        """A command's answer becomes the screen's message (when it has words)."""
        if outcome.message:
            self.note("info" if outcome.ok else "error", outcome.message)

    def require_clerk(self) -> Clerk:
        if self.state.clerk is None:
            raise Refusal("Log in first.")
        return self.state.clerk

    def result(self, outcome: Outcome | None = None) -> Result:
        return Result(self.state, tuple(self.effects), outcome)
