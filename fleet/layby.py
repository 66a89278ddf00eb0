"""Laybys on the fleet (docs/layby.md): every register's layby movements folded into one view, the open laybys for
the next accounts snapshot, and what went wrong while registers were apart.

Pure, like `fleet.accounts` (which calls it from `reconcile`): the receipts as `ReceivedReceipt`s (each key once,
any order), each register's `through`, and the day it is judged on. Sums commute, so arrival order changes
nothing:

    paid = deposit + every instalment        closed = any collect or cancel

The snapshot lists a layby when its opening receipt is at or below its register's `through` and no collect or
cancel at or below theirs: `paid` then counts only movements at or below their register's `through` (a register
adds its own movements after that itself, the accounts rule).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from firmware.contract.accounts import (
    AnyMovement,
    LaybyCancel,
    LaybyCollect,
    LaybyLine,
    LaybyOpen,
    LaybyPayment,
    LaybyState,
)

__all__ = ["LaybyFinding", "LaybyTally", "Received", "reconcile_laybys"]

RegisterId = tuple[str, str]


class Received(Protocol):
    """A received receipt as reconciliation sees it (fleet.accounts.ReceivedReceipt)."""

    @property
    def store(self) -> str: ...
    @property
    def register(self) -> str: ...
    @property
    def seq(self) -> int: ...
    @property
    def movements(self) -> Sequence[AnyMovement]: ...


@dataclass
class LaybyTally:
    """One layby as the fleet sees it: over every movement (`paid`, `closes`) and over those up to `through`."""

    opened: LaybyOpen | None = None
    opened_in_snapshot: bool = False
    paid_extra: int = 0  # instalments, all
    snapshot_extra: int = 0  # instalments up to `through`
    closes: list[tuple[str, str]] = field(default_factory=list)  # (type, register) of every collect or cancel
    closed_in_snapshot: bool = False
    registers: set[str] = field(default_factory=set)  # registers that paid into it or closed it

    @property
    def paid(self) -> int:
        return (self.opened.deposit if self.opened else 0) + self.paid_extra


@dataclass(frozen=True)
class LaybyFinding:
    """Something to look at: `kind` is layby_overpaid, layby_closed_twice or layby_overdue."""

    kind: str
    layby: str
    paid: int
    total: int
    registers: tuple[str, ...]
    due: str = ""


def _tally(receipts: Iterable[Received], through: Mapping[RegisterId, int]) -> dict[str, LaybyTally]:
    tallies: dict[str, LaybyTally] = {}
    for receipt in receipts:
        store, register, seq = receipt.store, receipt.register, receipt.seq
        inside = seq <= through.get((store, register), 0)
        name = f"{store}:{register}"
        for move in receipt.movements:
            if not isinstance(move, (LaybyOpen, LaybyPayment, LaybyCollect, LaybyCancel)):
                continue
            if isinstance(move, LaybyOpen) and move.layby != f"LB-{store}-{register}-{seq}":
                continue  # an id names its opening receipt (firmware.domain.layby.layby_id): another's is forged
            tally = tallies.setdefault(move.layby, LaybyTally())
            if isinstance(move, LaybyOpen):
                if tally.opened is None:
                    tally.opened, tally.opened_in_snapshot = move, inside
            elif isinstance(move, LaybyPayment):
                tally.paid_extra += move.amount
                tally.snapshot_extra += move.amount if inside else 0
                tally.registers.add(name)
            else:
                tally.closes.append((move.type, name))
                tally.closed_in_snapshot = tally.closed_in_snapshot or inside
                tally.registers.add(name)
    return tallies


def reconcile_laybys(receipts: Iterable[Received], through: Mapping[RegisterId, int],
                     today: date | None = None) -> tuple[list[LaybyState], list[LaybyFinding]]:
    """(the open laybys for the snapshot, sorted by id; the findings, sorted by kind and layby). `receipts` are
    `fleet.accounts.ReceivedReceipt`s, each key once."""
    tallies = _tally(receipts, through)
    open_ones: list[LaybyState] = []
    findings: list[LaybyFinding] = []
    for layby_id in sorted(tallies):
        tally = tallies[layby_id]
        opened = tally.opened
        if opened is None:  # instalments whose opening receipt has not arrived yet: nothing to judge
            continue
        who = tuple(sorted(tally.registers))
        if tally.paid > opened.total:
            findings.append(LaybyFinding("layby_overpaid", layby_id, tally.paid, opened.total, who, opened.due))
        if len(tally.closes) > 1:
            findings.append(LaybyFinding("layby_closed_twice", layby_id, tally.paid, opened.total,
                                         tuple(sorted({r for _, r in tally.closes})), opened.due))
        if not tally.closes and today is not None and today.isoformat() > opened.due:
            findings.append(LaybyFinding("layby_overdue", layby_id, tally.paid, opened.total, who, opened.due))
        if tally.opened_in_snapshot and not tally.closed_in_snapshot:
            paid = opened.deposit + tally.snapshot_extra
            open_ones.append(LaybyState(layby=layby_id, customer=opened.customer, total=opened.total,
                                        paid=min(paid, 10**12), due=opened.due,
                                        lines=[LaybyLine.model_validate(line.model_dump()) for line in opened.lines]))
    findings.sort(key=lambda f: (f.kind, f.layby))
    return open_ones, findings
