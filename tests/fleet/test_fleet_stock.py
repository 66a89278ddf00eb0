"""The store's stock on the fleet (fleet/stock.py): idempotent ingest, counts, oversells, the next snapshot.

Pure: no database, no broker. Includes the spec's scenario (issue 17): two registers sell the same last item
during an outage; on reconnecting the fleet flags the oversell and both tills converge on the new snapshot.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings, strategies as st

from firmware.contract.stock import StockDelta as Doc, StockDeltas, StockPolicyDoc, StockSnapshot as SnapshotDoc
from firmware.domain.stock import StockDelta, StockPolicy, StockSnapshot, check_sale, count_delta, on_hand
from fleet import stock

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def at(minutes: float) -> str:
    moment = T0 + timedelta(minutes=minutes)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def doc(seq, sku, kind, qty, minute, **extra):
    return Doc(seq=seq, sku=sku, kind=kind, qty=qty, at=at(minute), **extra)


def feed(state, batches):
    for register, docs in batches:
        state = stock.ingest(state, register, docs).state
    return state


def as_doc(delta: StockDelta) -> Doc:
    return Doc(seq=delta.seq, sku=delta.sku, kind=delta.kind, qty=delta.qty, at=delta.at, ref=delta.ref,
               basis=dict(delta.basis) if delta.kind == "count" else None)


def snapshot_for_till(doc: SnapshotDoc) -> StockSnapshot:
    return StockSnapshot(doc.version, dict(doc.levels), dict(doc.upto), doc.at)


# ---- the spec's scenario ---------------------------------------------------------------------------------

def test_two_registers_sell_the_last_item_offline_the_fleet_flags_it_and_both_tills_converge():
    state = stock.StoreStock("S001")
    # the back office counted 1 pencil (on R0, the office till); both registers took that snapshot
    state = feed(state, [("R0", [doc(1, "PENCIL", "count", 1, 0, basis={})])])
    snap1 = stock.build_snapshot(state, 1, T0)
    assert snap1.levels == {"PENCIL": 1} and snap1.upto == {"R0": 1}
    till_view = snapshot_for_till(snap1)
    policy = StockPolicy(past_zero="manager")

    # the network goes; each till sells the last pencil, each sees 1 on hand: not refused, only the last-one note
    local = {"R1": [], "R2": []}
    for register, minute in (("R1", 10), ("R2", 11)):
        assert check_sale(on_hand(till_view, local[register], "PENCIL"), 1, policy, name="Pencil") \
            .message == "Last of Pencil in stock: stock is now 0"
        local[register].append(StockDelta(register, 1, "PENCIL", "sale", -1, at(minute)))
    assert on_hand(till_view, local["R1"], "PENCIL") == 0 == on_hand(till_view, local["R2"], "PENCIL")

    # the network is back: both registers send their deltas (R2 first, and R1 twice: a re-send)
    state = feed(state, [("R2", [as_doc(d) for d in local["R2"]]), ("R1", [as_doc(d) for d in local["R1"]]),
                         ("R1", [as_doc(d) for d in local["R1"]])])
    assert stock.levels(state) == {"PENCIL": -1}
    [flag] = stock.oversells(state)
    assert (flag.sku, flag.lowest, flag.registers, flag.first_negative, flag.since) == (
        "PENCIL", -1, ("R1", "R2"), ("R2", 1), ("R0", 1))

    # the next snapshot holds both sales: both tills show the same, and now ask for a manager
    snap2 = stock.build_snapshot(state, 2, T0 + timedelta(hours=1))
    assert snap2.upto == {"R0": 1, "R1": 1, "R2": 1} and snap2.levels == {"PENCIL": -1}
    views = {register: on_hand(snapshot_for_till(snap2), local[register], "PENCIL") for register in local}
    assert views == {"R1": -1, "R2": -1}
    assert type(check_sale(views["R1"], 1, policy, name="Pencil")).__name__ == "NeedsManager"


# ---- rules, by example ----------------------------------------------------------------------------------

def test_duplicates_change_nothing_and_a_conflict_is_reported_whatever_came_first():
    a, b = doc(1, "P1", "sale", -1, 5), doc(1, "P1", "sale", -2, 5)
    adjust = ("R0", [doc(1, "P1", "adjust", 10, 0)])
    one = feed(stock.StoreStock("S"), [adjust, ("R1", [a]), ("R1", [b]), ("R1", [a])])
    two = feed(stock.StoreStock("S"), [adjust, ("R1", [b]), ("R1", [a, ])])
    assert stock.levels(one) == stock.levels(two)
    assert [(c.register, c.seq, c.held.qty, c.other.qty) for c in stock.conflicts(one)] == [("R1", 1, -2, -1)]
    assert stock.conflicts(one) == stock.conflicts(two)
    result = stock.ingest(one, "R1", [a])
    assert (result.duplicates, result.added, result.conflicts) == (1, (), ())


def test_untracked_skus_have_no_level_until_stock_is_entered():
    state = feed(stock.StoreStock("S"), [("R1", [doc(1, "P1", "sale", -1, 1)])])
    assert stock.levels(state) == {} and stock.oversells(state) == []
    state = feed(state, [("R0", [doc(1, "P1", "adjust", 5, 2)])])
    assert stock.levels(state) == {"P1": 4}


def test_deltas_racing_a_count_are_ordered_by_basis_then_time():
    count = doc(1, "P1", "count", 10, 30, basis={"R1": 1})
    state = feed(stock.StoreStock("S"), [
        ("R1", [doc(1, "P1", "sale", -1, 5),      # in the count's basis: absorbed
                doc(2, "P1", "sale", -2, 20),     # not seen, but made before the count: absorbed
                doc(3, "P1", "sale", -4, 40)]),   # made after the count: applied on top
        ("R0", [doc(1, "P1", "sale", -1, 25), count, doc(3, "P1", "sale", -3, 35)]),  # own seq order decides
    ])
    assert stock.levels(state) == {"P1": 10 - 4 - 3}


def test_the_snapshot_counts_only_deltas_up_to_each_registers_contiguous_seq():
    state = feed(stock.StoreStock("S"), [("R0", [doc(1, "P1", "adjust", 10, 0)]),
                                         ("R1", [doc(1, "P1", "sale", -1, 1), doc(3, "P1", "sale", -5, 3)])])
    snap = stock.build_snapshot(state, 7, T0)
    assert snap.upto == {"R0": 1, "R1": 1} and snap.levels == {"P1": 9}  # seq 2 is missing: 3 waits
    assert stock.levels(state) == {"P1": 4}  # the live level has it
    till = on_hand(snapshot_for_till(snap), [StockDelta("R1", s, "P1", "sale", q, at(s)) for s, q in
                                             ((1, -1), (2, -2), (3, -5))], "P1")
    assert till == 10 - 1 - 2 - 5  # the till adds 2 and 3 itself: nothing twice


def test_one_register_alone_below_zero_is_no_oversell_and_a_count_opens_a_new_period():
    state = feed(stock.StoreStock("S"), [
        ("R0", [doc(1, "P1", "count", 1, 0, basis={})]),
        ("R1", [doc(1, "P1", "sale", -2, 5)]),
    ])
    assert stock.oversells(state) == []
    state = feed(state, [("R0", [doc(2, "P1", "count", 1, 10, basis={"R1": 1})]),
                         ("R2", [doc(1, "P1", "sale", -1, 12)]), ("R1", [doc(2, "P1", "sale", -1, 13)])])
    [flag] = stock.oversells(state)
    assert (flag.since, flag.first_negative, flag.sold, flag.lowest) == (("R0", 2), ("R1", 2),
                                                                          (("R1", 1), ("R2", 1)), -1)


def test_batches_are_bounded_and_strict():
    batch = StockDeltas(store="S", register="R1", deltas=[doc(1, "P1", "sale", -1, 0)])
    assert stock.ingest(stock.StoreStock("S"), "R1", batch).added == (("R1", 1),)


# ---- properties -----------------------------------------------------------------------------------------

REGISTERS = ("R1", "R2", "R3")
kinds = st.sampled_from(["sale", "sale", "sale", "refund", "adjust", "count"])


@st.composite
def store_deltas(draw):
    """Per register, deltas 1..n with times that may interleave across registers."""
    out = []
    for register in REGISTERS:
        minute = 0
        for seq in range(1, draw(st.integers(0, 8)) + 1):
            minute += draw(st.integers(0, 5))
            kind, qty = draw(kinds), draw(st.integers(1, 6))
            signed = {"sale": -qty, "refund": qty, "adjust": qty, "count": qty}[kind]
            basis = {r: draw(st.integers(0, 4)) for r in REGISTERS if r != register} if kind == "count" else None
            out.append((register, doc(seq, draw(st.sampled_from(["A", "B"])), kind, signed, minute, basis=basis)))
    return out


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(store_deltas(), st.randoms(use_true_random=False), st.integers(1, 4))
def test_fleet_level_is_independent_of_arrival_order_and_idempotent_on_duplicates(deltas, rnd, chunk):
    ordered = feed(stock.StoreStock("S"), [(r, [d]) for r, d in deltas])
    shuffled = deltas + rnd.sample(deltas, len(deltas) // 2)
    rnd.shuffle(shuffled)
    batches = []
    for start in range(0, len(shuffled), chunk):
        for register in REGISTERS:  # a batch is one register's
            part = {d.seq: d for r, d in shuffled[start:start + chunk] if r == register}
            if part:
                batches.append((register, list(part.values())))
    other = feed(stock.StoreStock("S"), batches)
    assert stock.levels(other) == stock.levels(ordered)
    assert stock.oversells(other) == stock.oversells(ordered)
    assert stock.build_snapshot(other, 1, T0) == stock.build_snapshot(ordered, 1, T0)
    assert stock.conflicts(other) == []


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(st.integers(0, 12), st.lists(st.tuples(st.sampled_from(REGISTERS), st.integers(1, 4)), max_size=12),
       st.randoms(use_true_random=False))
def test_oversell_is_flagged_exactly_when_the_combined_sales_drove_the_level_below_zero(level, sales, rnd):
    # each till sells only what it could see (its own sales never exceed the counted level): no till alone
    # went below zero, so the level goes below zero exactly when the sales of all together exceed it
    taken = {r: 0 for r in REGISTERS}
    kept = []
    for register, qty in sales:
        if taken[register] + qty <= level:
            taken[register] += qty
            kept.append((register, qty))
    seqs = {r: 0 for r in REGISTERS}
    batches = [("R0", [doc(1, "X", "count", level, 0, basis={})])]
    for minute, (register, qty) in enumerate(kept, start=1):
        seqs[register] += 1
        batches.append((register, [doc(seqs[register], "X", "sale", -qty, minute)]))
    rnd.shuffle(batches)
    state = feed(stock.StoreStock("S"), batches)
    flags = stock.oversells(state)
    total = sum(taken.values())
    assert bool(flags) == (total > level)
    assert stock.levels(state) == {"X": level - total}
    if flags:
        assert len(flags[0].registers) >= 2 and flags[0].lowest == level - total


@settings(max_examples=100, deadline=None)
@given(store_deltas())
def test_every_till_converges_on_the_snapshot_whatever_it_still_holds(deltas):
    state = feed(stock.StoreStock("S"), [(r, [d]) for r, d in deltas])
    snap = snapshot_for_till(stock.build_snapshot(state, 1, T0))
    for register in REGISTERS:
        own = [StockDelta(register, d.seq, d.sku, d.kind, d.qty, d.at, basis=tuple((d.basis or {}).items()))
               for r, d in deltas if r == register]
        for sku in ("A", "B"):
            assert on_hand(snap, own, sku) == snap.level(sku)  # everything it made is in the snapshot
    assert count_delta("R1", 1, "A", 0, at(0), snap).basis == tuple(sorted(snap.upto.items()))


def test_the_built_snapshot_travels_and_the_till_reads_it():
    from firmware.contract import decode, encode
    from firmware.domain.stock import PolicyBook

    state = feed(stock.StoreStock("S001"), [("R1", [doc(1, "P1", "adjust", 5, 0), doc(2, "P1", "sale", -2, 1)])])
    snap = stock.build_snapshot(state, 3, T0, policy=StockPolicyDoc(low=2),
                                item_policies={"P1": StockPolicyDoc(past_zero="manager")})
    back = decode(SnapshotDoc, encode(snap))
    assert back == snap and back.levels == {"P1": 3} and back.upto == {"R1": 2}
    book = PolicyBook.from_doc(back.policy.model_dump(), {k: v.model_dump() for k, v in back.item_policies.items()})
    assert book.for_sku("P1").past_zero == "manager" and book.for_sku("P2").low == 2
