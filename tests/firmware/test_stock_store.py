"""The till's stock index (firmware/stock_store.py) answers as the pure rule does, across snapshots and restarts."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from firmware.domain.stock import (
    NeedsManager,
    PolicyBook,
    StockDelta,
    StockPolicy,
    StockSnapshot,
    StockWarn,
    on_hand,
)
from firmware.stock_store import StockStore

AT = "2026-11-30T10:00:00.000Z"
SKUS = ("A", "B", "C")


def d(seq, sku="A", kind="sale", qty=-1):
    return StockDelta("R1", seq, sku, kind, qty, AT)


def test_on_hand_is_snapshot_plus_own_deltas_and_survives_a_restart(tmp_path):
    store = StockStore(tmp_path, "R1")
    assert store.on_hand("A") is None
    store.apply_snapshot(StockSnapshot(1, {"A": 10, "B": 0}, {"R1": 0, "R2": 4}))
    store.append([d(1), d(2, qty=-2), d(3, "B", "refund", 1)])
    assert (store.on_hand("A"), store.on_hand("B"), store.last_seq) == (7, 1, 3)
    store.append([d(4, "A", "count", 5), d(5)])
    assert store.on_hand("A") == 4
    again = StockStore(tmp_path, "R1")
    assert (again.on_hand("A"), again.on_hand("B"), again.last_seq, again.version) == (4, 1, 5, 1)
    assert again.unconfirmed() == (1, 5)


def test_a_snapshot_takes_over_the_deltas_it_holds(tmp_path):
    store = StockStore(tmp_path, "R1")
    store.apply_snapshot(StockSnapshot(1, {"A": 10}, {"R1": 0}))
    store.append([d(1), d(2, "A", "count", 20), d(3, qty=-3)])
    assert store.on_hand("A") == 17
    # the fleet holds seq 1 and 2 (the count) and says 19 (another till sold one after the count)
    assert store.apply_snapshot(StockSnapshot(2, {"A": 19}, {"R1": 2, "R2": 9}))
    assert store.on_hand("A") == 16 and store.unconfirmed() == (3, 3)
    assert not store.apply_snapshot(StockSnapshot(2, {"A": 0}, {"R1": 3}))  # not newer: ignored
    assert store.on_hand("A") == 16
    store.apply_snapshot(StockSnapshot(3, {"A": 16}, {"R1": 3}))
    assert store.on_hand("A") == 16 and StockStore(tmp_path, "R1").on_hand("A") == 16


def test_a_restored_till_takes_its_next_seq_above_what_the_fleet_holds(tmp_path):
    store = StockStore(tmp_path, "R1")
    store.append([d(1)])
    store.apply_snapshot(StockSnapshot(5, {"A": 3}, {"R1": 40}))
    assert store.last_seq == 40 and store.on_hand("A") == 3
    with pytest.raises(ValueError):
        store.append([d(40)])
    store.append([d(41)])
    assert StockStore(tmp_path, "R1").on_hand("A") == 2


def test_a_fleet_that_holds_fewer_of_ours_than_before_counts_them_again(tmp_path):
    store = StockStore(tmp_path, "R1")
    store.append([d(1), d(2), d(3)])
    store.apply_snapshot(StockSnapshot(1, {"A": 7}, {"R1": 3}))
    store.apply_snapshot(StockSnapshot(2, {"A": 9}, {"R1": 1}))  # its database was restored
    assert store.on_hand("A") == 7


def test_damaged_or_missing_state_is_rebuilt_from_the_log_and_a_torn_tail_is_cut(tmp_path):
    store = StockStore(tmp_path, "R1", checkpoint_every=2)
    store.apply_snapshot(StockSnapshot(1, {"A": 10, "B": 5}, {}))
    store.append([d(1), d(2, "B", "count", 2), d(3, "C", "adjust", 4), d(4)])
    expect = {s: store.on_hand(s) for s in SKUS}
    state = tmp_path / "state.bin"
    state.write_bytes(state.read_bytes()[:-1] + b"\x00")  # checksum fails
    assert {s: StockStore(tmp_path, "R1").on_hand(s) for s in SKUS} == expect
    state.unlink()
    assert {s: StockStore(tmp_path, "R1").on_hand(s) for s in SKUS} == expect
    with open(tmp_path / "deltas.bin", "ab") as log:
        log.write(b"\x01\x02\x03")  # half a record
    reopened = StockStore(tmp_path, "R1")
    assert {s: reopened.on_hand(s) for s in SKUS} == expect and reopened.last_seq == 4
    assert (tmp_path / "deltas.bin").stat().st_size == 4 * 24


def test_a_record_whose_sku_line_was_lost_is_cut_and_the_journal_refills_it(tmp_path):
    store = StockStore(tmp_path, "R1")
    store.apply_snapshot(StockSnapshot(1, {"A": 10}, {}))
    store.append([d(1), d(2, "NEW", "adjust", 3)])
    skus = tmp_path / "skus.txt"
    skus.write_text(skus.read_text().replace("NEW\n", "NE"))  # torn: the line never completed
    (tmp_path / "state.bin").unlink()
    reopened = StockStore(tmp_path, "R1")
    assert reopened.last_seq == 1 and reopened.on_hand("A") == 9
    reopened.append([d(2, "NEW", "adjust", 3)])  # what start-up does with the journal's deltas above last_seq
    assert skus.read_text() == "A\nNEW\n"
    assert StockStore(tmp_path, "R1").on_hand("NEW") is None  # untracked: the snapshot does not list it


def test_after_a_checkpoint_only_the_records_after_it_are_checked_and_cut(tmp_path):
    store = StockStore(tmp_path, "R1")
    store.apply_snapshot(StockSnapshot(1, {"A": 10}, {}))
    store.append([d(1)])
    store.checkpoint()
    store.append([d(2, "NEW", "adjust", 3), d(3)])
    skus = tmp_path / "skus.txt"
    skus.write_text(skus.read_text().replace("NEW\n", ""))  # the line never reached the disk
    reopened = StockStore(tmp_path, "R1")
    assert (reopened.last_seq, reopened.on_hand("A")) == (1, 9)
    assert (tmp_path / "deltas.bin").stat().st_size == 24


def test_check_uses_the_skus_policy(tmp_path):
    store = StockStore(tmp_path, "R1")
    store.apply_snapshot(StockSnapshot(1, {"A": 1, "B": 1}, {}),
                         PolicyBook(StockPolicy(low=2), {"B": StockPolicy(past_zero="manager")}))
    assert isinstance(store.check("A", 2, name="A"), StockWarn)
    assert isinstance(store.check("B", 2, name="B"), NeedsManager)
    assert StockStore(tmp_path, "R1").policy("B") == StockPolicy(past_zero="manager")


operations = st.lists(st.one_of(
    st.tuples(st.just("sale"), st.sampled_from(SKUS), st.integers(1, 5)),
    st.tuples(st.just("refund"), st.sampled_from(SKUS), st.integers(1, 5)),
    st.tuples(st.just("count"), st.sampled_from(SKUS), st.integers(0, 30)),
    st.tuples(st.just("snapshot"), st.integers(0, 100), st.integers(-5, 40)),
    st.tuples(st.just("reopen"), st.booleans(), st.just(0)),
), max_size=40)


@pytest.mark.slow
@settings(max_examples=120, deadline=None)
@given(operations, st.integers(1, 5))
def test_the_store_agrees_with_the_pure_rule_through_snapshots_and_restarts(ops, every):
    directory = Path(tempfile.mkdtemp(prefix="stock-store-"))
    try:
        store = StockStore(directory, "R1", checkpoint_every=every)
        deltas: list[StockDelta] = []
        snap = StockSnapshot()
        for op, a, b in ops:
            if op in ("sale", "refund", "count"):
                qty = -b if op == "sale" else b
                delta = StockDelta("R1", store.last_seq + 1, a, op, qty, AT)
                deltas.append(delta)
                store.append([delta])
            elif op == "snapshot":
                upto = max(snap.upto.get("R1", 0), min(a, store.last_seq))  # the fleet never loses ours here
                snap = StockSnapshot(snap.version + 1, {sku: b + i for i, sku in enumerate(SKUS[:2])}, {"R1": upto})
                store.apply_snapshot(snap)
            else:
                if a:
                    (directory / "state.bin").unlink(missing_ok=True)
                store = StockStore(directory, "R1", checkpoint_every=every)
            assert {s: store.on_hand(s) for s in SKUS} == {s: on_hand(snap, deltas, s) for s in SKUS}
    finally:
        shutil.rmtree(directory, ignore_errors=True)
