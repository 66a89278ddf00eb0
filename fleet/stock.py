"""The store's stock on the fleet, from every register's deltas: levels, oversell flags, the next snapshot.

Pure: no database, no clock. `kassa-fleet ingest` keeps the deltas in a table (docs/stock.md#integration) and
calls the per-sku functions (`sku_level`, `sku_oversells`) with the rows of the skus a batch touched;
`StoreStock` is the same thing held in memory (the simulator, the tests).

The rules (docs/stock.md):

- **Idempotent per (register, seq).** The same delta again is a duplicate and changes nothing. Another delta
  under a key already held is a *conflict* (a restored device reusing seqs): both are kept; the one that counts
  is the least by content (so the result never depends on which came first) and the pair is reported.
- **Levels.** An sku is *tracked* once stock was entered for it (a count or an adjust); sales of an untracked
  sku are kept but give no level. The level is the latest count plus the deltas that count did not absorb, or
  the sum of all deltas without a count.
- **Counts.** Counts are ordered by (at, register, seq). A count absorbs a delta of its sku (the delta happened
  before it, so the counted shelf already shows it) when: the delta is in the count's basis (its till's snapshot
  held it); or it is from the counting register with a lower seq; or, a delta the counting till had not seen
  (*racing* the count), it was made earlier than the count by the registers' clocks. Racing deltas made later
  are applied on top of the count.
- **Oversells.** Between two counts (a *period*), the deltas are walked in (at, register, seq) order from the
  earlier count's level (0 before the first). Where a sale takes the level below zero and sales of two or more
  registers are in the period up to there, the period has an oversell: one flag record, with the lowest level
  reached and each register's sales. The tills never refused these sales; the flag is for the shop to act on.
- **Snapshot.** `upto[register]` is the highest seq up to which every delta of that register arrived
  (contiguous); the levels count exactly those deltas, so a till adding its own later deltas never counts one
  twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from firmware.contract.clock import iso_utc, parse_iso_utc
from firmware.contract.stock import StockDelta as DeltaDoc, StockDeltas, StockPolicyDoc, StockSnapshot

__all__ = ["Delta", "delta_from", "StockConflict", "Oversell", "absorbs", "sku_level", "sku_oversells",
           "contiguous", "StoreStock", "Ingested", "ingest", "levels", "upto", "oversells", "conflicts",
           "build_snapshot"]

Key = tuple[str, int]


@dataclass(frozen=True)
class Delta:
    """A delta as the fleet holds it: the register from the topic, the time parsed."""

    register: str
    seq: int
    sku: str
    kind: str
    qty: int
    at: datetime
    ref: str | None = None
    basis: tuple[tuple[str, int], ...] = ()

    @property
    def key(self) -> Key:
        return (self.register, self.seq)

    @property
    def order(self) -> tuple[datetime, str, int]:
        return (self.at, self.register, self.seq)

    @property
    def content(self) -> tuple[str, str, int, str, str, tuple[tuple[str, int], ...]]:
        """What must agree for the same key to be a duplicate; its order picks the winner of a conflict."""
        return (self.sku, self.kind, self.qty, iso_utc(self.at), self.ref or "", self.basis)


def delta_from(register: str, doc: DeltaDoc) -> Delta:
    return Delta(register=register, seq=doc.seq, sku=doc.sku, kind=doc.kind, qty=doc.qty,
                 at=parse_iso_utc(doc.at), ref=doc.ref, basis=tuple(sorted((doc.basis or {}).items())))


@dataclass(frozen=True)
class StockConflict:
    """Two different deltas under one (register, seq); `held` counts, `other` is kept aside."""

    store: str
    register: str
    seq: int
    held: Delta
    other: Delta


@dataclass(frozen=True)
class Oversell:
    """The level of `sku` went below zero through sales of two or more registers (in the period after the count
    `since`, None: before any count). Keyed by (store, sku, since) for an upsert: a late delta may change the
    rest."""

    store: str
    sku: str
    since: Key | None
    first_negative: Key
    at: datetime
    lowest: int
    sold: tuple[tuple[str, int], ...]  # per register: stock units sold in the period up to the lowest point

    @property
    def registers(self) -> tuple[str, ...]:
        return tuple(register for register, _ in self.sold)


# ---- one sku --------------------------------------------------------------------------------------------

def absorbs(count: Delta, delta: Delta) -> bool:
    """Whether `count` (a stock-take) already shows `delta` on the shelf it counted (see the module doc)."""
    if delta.register == count.register:
        return delta.seq < count.seq
    seen = dict(count.basis).get(delta.register, 0)
    return delta.seq <= seen or delta.at < count.at


def _periods(deltas: Iterable[Delta]) -> tuple[list[Delta], list[list[Delta]]]:
    """The sku's counts in order, and its other deltas by period: period i ends at count i, the last is open."""
    held = list(deltas)
    counts = sorted((d for d in held if d.kind == "count"), key=lambda d: d.order)
    periods: list[list[Delta]] = [[] for _ in range(len(counts) + 1)]
    for delta in held:
        if delta.kind == "count":
            continue
        index = next((i for i, count in enumerate(counts) if absorbs(count, delta)), len(counts))
        periods[index].append(delta)
    return counts, periods


def _tracked(deltas: Iterable[Delta]) -> bool:
    return any(d.kind in ("count", "adjust") for d in deltas)


def sku_level(deltas: Iterable[Delta]) -> int | None:
    """One sku's level from all its deltas (each key once), or None while it is untracked."""
    held = list(deltas)
    if not _tracked(held):
        return None
    counts, periods = _periods(held)
    base = counts[-1].qty if counts else 0
    return base + sum(d.qty for d in periods[-1])


def sku_oversells(store: str, sku: str, deltas: Iterable[Delta]) -> list[Oversell]:
    """The oversells of one sku, one per period at most (see the module doc)."""
    held = list(deltas)
    if not _tracked(held):
        return []
    counts, periods = _periods(held)
    found = []
    for index, period in enumerate(periods):
        base = counts[index - 1] if index else None
        level = base.qty if base else 0
        sold: dict[str, int] = {}
        first: Delta | None = None
        lowest = 0
        lowest_sold: dict[str, int] = {}
        for delta in sorted(period, key=lambda d: d.order):
            level += delta.qty
            if delta.kind == "sale":
                sold[delta.register] = sold.get(delta.register, 0) - delta.qty
                if first is None and level < 0 and len(sold) >= 2:
                    first, lowest, lowest_sold = delta, level, dict(sold)
            if first is not None and level < lowest:
                lowest, lowest_sold = level, dict(sold)
        if first is not None:
            found.append(Oversell(store=store, sku=sku, since=base.key if base else None,
                                  first_negative=first.key, at=first.at, lowest=lowest,
                                  sold=tuple(sorted(lowest_sold.items()))))
    return found


def contiguous(seqs: Iterable[int]) -> int:
    """The highest n such that seqs 1..n are all present (0: seq 1 is missing)."""
    have = set(seqs)
    n = 0
    while n + 1 in have:
        n += 1
    return n


# ---- the store, in memory -------------------------------------------------------------------------------

@dataclass(frozen=True)
class StoreStock:
    """Every delta of one store, by key; `others` holds the losers of conflicts. Treat as immutable."""

    store: str
    deltas: Mapping[Key, Delta] = field(default_factory=dict)
    others: Mapping[Key, tuple[Delta, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Ingested:
    state: StoreStock
    added: tuple[Key, ...]
    duplicates: int
    conflicts: tuple[StockConflict, ...]
    touched: frozenset[str]  # skus whose level or flags may have changed


def ingest(state: StoreStock, register: str, batch: StockDeltas | Iterable[DeltaDoc]) -> Ingested:
    """`state` with one register's deltas added (register from the authenticated topic, never the payload)."""
    docs = batch.deltas if isinstance(batch, StockDeltas) else list(batch)
    deltas = dict(state.deltas)
    others = dict(state.others)
    added: list[Key] = []
    found: list[StockConflict] = []
    duplicates = 0
    touched: set[str] = set()
    for doc in docs:
        delta = delta_from(register, doc)
        held = deltas.get(delta.key)
        if held is None:
            deltas[delta.key] = delta
            added.append(delta.key)
            touched.add(delta.sku)
            continue
        known = others.get(delta.key, ())
        if held.content == delta.content or any(o.content == delta.content for o in known):
            duplicates += 1
            continue
        winner, loser = (held, delta) if held.content <= delta.content else (delta, held)
        deltas[delta.key] = winner
        others[delta.key] = tuple(sorted((*known, loser), key=lambda d: d.content))
        touched |= {held.sku, delta.sku}
        found.append(StockConflict(state.store, register, delta.seq, winner, loser))
    return Ingested(StoreStock(state.store, deltas, others), tuple(added), duplicates, tuple(found),
                    frozenset(touched))


def _by_sku(deltas: Iterable[Delta]) -> dict[str, list[Delta]]:
    out: dict[str, list[Delta]] = {}
    for delta in deltas:
        out.setdefault(delta.sku, []).append(delta)
    return out


def levels(state: StoreStock) -> dict[str, int]:
    """The live level of every tracked sku, from all deltas held (gaps or not)."""
    out = {}
    for sku, held in _by_sku(state.deltas.values()).items():
        level = sku_level(held)
        if level is not None:
            out[sku] = level
    return out


def upto(state: StoreStock) -> dict[str, int]:
    """Per register, the seq up to which every delta arrived."""
    seqs: dict[str, list[int]] = {}
    for register, seq in state.deltas:
        seqs.setdefault(register, []).append(seq)
    return {register: contiguous(held) for register, held in sorted(seqs.items())}


def oversells(state: StoreStock) -> list[Oversell]:
    out = []
    for sku, held in sorted(_by_sku(state.deltas.values()).items()):
        out += sku_oversells(state.store, sku, held)
    return out


def conflicts(state: StoreStock) -> list[StockConflict]:
    return [StockConflict(state.store, key[0], key[1], state.deltas[key], other)
            for key, held in sorted(state.others.items()) for other in held]


def build_snapshot(state: StoreStock, version: int, at: datetime, *, policy: StockPolicyDoc | None = None,
                   item_policies: Mapping[str, StockPolicyDoc] | None = None) -> StockSnapshot:
    """The next snapshot: levels of the deltas up to each register's contiguous `upto`, no later one."""
    marks = upto(state)
    prefix = [d for d in state.deltas.values() if d.seq <= marks.get(d.register, 0)]
    found = {}
    for sku, held in sorted(_by_sku(prefix).items()):
        level = sku_level(held)
        if level is not None:
            found[sku] = level
    return StockSnapshot(version=version, store=state.store, at=iso_utc(at), upto=marks, levels=found,
                         policy=policy, item_policies=dict(item_policies) if item_policies is not None else None)
