"""The time clock on a real register and journal (docs/timeclock.md): `Punch(kind)` for the logged-in clerk is
checked by the domain's TimeClock, sealed as the next link of the punches' chain by the journal writer and
journaled with the punch head in one record; the time clock is replayed from the journal at start-up."""

from __future__ import annotations

import os

import pytest

from firmware.contract import decode
from firmware.contract.chain import GENESIS, canonical_json, receipt_hash
from firmware.contract.timeclock import PunchMessage
from firmware.register.commands import BeginTender, Punch
from firmware.register.committer import Committer, PunchCommitted
from tests.firmware.register.conftest import PENCIL, RegisterRig, login_cashier
from tests.firmware.register.test_register_disk_full import fill
from tests.support.tmpfs import tiny_tmpfs


def punch(rig, kind: str, minutes: float = 0) -> str:
    """Punch after `minutes` on the register's clock; the screen's message once the journal writer answered."""
    reg = rig.register
    rig.clock.advance(minutes * 60)
    out = reg.handle(Punch(kind))
    assert out.ok, out.message
    reg.wait_idle()
    return reg.view().message.text


def chain(journal) -> list[dict]:
    """The journaled punches in seq order, checked to be one unbroken chain from GENESIS to the head."""
    punches = [doc for _key, doc in sorted(journal.states("punch").items())]
    prev = GENESIS
    for seq, doc in enumerate(punches, start=1):
        assert doc["seq"] == seq and doc["punch_id"].endswith(f":{seq}")
        assert doc["prev_hash"] == prev and receipt_hash(doc) == doc["hash"]
        assert decode(PunchMessage, canonical_json(doc)).hash_ok()  # the contract's shape, as the fleet checks it
        prev = doc["hash"]
    head = journal.get_state("punch_head", "head")
    assert head == ({"next_seq": len(punches) + 1, "last_hash": prev} if punches else None)
    return punches


def test_a_shift_of_punches_is_sealed_chained_journaled_and_replayed_after_a_restart(rig):
    reg = login_cashier(rig.register)
    assert punch(rig, "clock_in") == "Anna clocked in at 12:00"
    assert punch(rig, "break_start", 240) == "Anna is on a break since 16:00"
    assert punch(rig, "break_end", 30) == "Anna ended the break at 16:30"
    punches = chain(reg.journal)
    assert [p["kind"] for p in punches] == ["clock_in", "break_start", "break_end"]
    assert punches[0]["at"] == "2026-11-25T12:00:00.000Z" and punches[0]["clerk_id"] == "c1"
    assert {p["store"] for p in punches} == {"DEMO"} and punches[0]["punch_id"].startswith("DEMO:R1:")
    assert set(reg.journal.states("punch_pending")) == {f"{s:012d}" for s in (1, 2, 3)}  # to send, until acked

    reg = login_cashier(rig.restart())  # the time clock comes back from the journal
    state = reg._state.timeclock.state_of("c1")
    assert (state.state, state.since.isoformat(), state.shift_start.hour) == ("working", "2026-11-25T16:30:00+00:00",
                                                                              12)
    out = reg.handle(Punch("clock_in"))
    assert not out.ok and out.message == "Anna is already clocked in (since 16:30)"
    assert punch(rig, "clock_out", 90) == "Anna clocked out at 18:00"
    assert [p["kind"] for p in chain(reg.journal)][-1] == "clock_out"


def test_punches_out_of_turn_are_refused_in_words_and_nothing_is_journaled(rig):
    reg = rig.register
    out = reg.handle(Punch("clock_in"))
    assert not out.ok and out.message == "Log in first."
    login_cashier(reg)
    for kind, words in [("clock_out", "Anna is not clocked in: there is nothing to clock out of"),
                        ("break_end", "Anna is not clocked in, so there is no break to end"),
                        ("lunch", "Unknown punch 'lunch': use clock in, break start, break end or clock out")]:
        out = reg.handle(Punch(kind))
        assert (out.ok, out.message) == (False, words)
        assert reg.view().message.text == words
    punch(rig, "clock_in")
    out = reg.handle(Punch("clock_in"))  # punched in twice
    assert (out.ok, out.message) == (False, "Anna is already clocked in (since 12:00)")
    rig.clock.advance(-600)  # the register's clock went back
    out = reg.handle(Punch("break_start"))
    assert not out.ok and out.message.startswith("The register's clock says 11:50, before Anna's last punch at 12:00")
    rig.clock.advance(1200)
    assert reg.handle(Punch("break_start")).ok
    out = reg.handle(Punch("break_end"))  # asked again before the journal writer answered
    assert (out.ok, out.message) == (False, "The last punch is still being saved; try again in a moment.")
    reg.wait_idle()
    assert reg.scan(PENCIL).ok and reg.handle(BeginTender()).ok
    out = reg.handle(Punch("break_end"))
    assert (out.ok, out.message) == (False, "Finish the payment first.")
    assert [p["kind"] for p in chain(reg.journal)] == ["clock_in", "break_start"]  # only what was allowed


class RecordingJournal:
    """The real journal, with its state writes counted (what the committer asks of it)."""

    def __init__(self, journal) -> None:
        self.journal = journal
        self.writes: list[list[tuple]] = []

    def put_states(self, changes) -> None:
        changes = list(changes)
        self.writes.append(changes)
        self.journal.put_states(changes)

    def __getattr__(self, name):
        return getattr(self.journal, name)


def test_the_journal_writer_writes_each_punch_with_its_pending_mark_and_the_head_in_one_record(rig):
    import queue

    events: queue.Queue = queue.Queue()
    journal = RecordingJournal(rig.register.journal)
    committer = Committer(journal, "R1", events)
    committer.start()
    try:
        body = {"store": "DEMO", "register": "R1", "clerk_id": "c1", "kind": "clock_in",
                "at": "2026-11-25T12:00:00.000Z", "clock_trusted": True, "offline": False}
        for kind in ("clock_in", "break_start"):
            committer.submit_punch({**body, "kind": kind})
        assert committer.wait_idle(10)
    finally:
        committer.stop()
    done = [events.get_nowait() for _ in range(2)]
    assert all(isinstance(e, PunchCommitted) for e in done)
    assert [[(kind, key) for kind, key, _doc in w] for w in journal.writes] == [
        [("punch", "000000000001"), ("punch_pending", "000000000001"), ("punch_head", "head")],
        [("punch", "000000000002"), ("punch_pending", "000000000002"), ("punch_head", "head")]]
    assert done[1].punch["prev_hash"] == done[0].punch["hash"] == journal.get_state("punch", "000000000001")["hash"]
    chain(journal.journal)


def test_a_punch_the_full_disk_cannot_hold_is_said_changes_nothing_and_the_next_one_takes_its_seq(tmp_path):
    with tiny_tmpfs(tmp_path / "small", "1m") as mnt:
        rig = RegisterRig(mnt / "data")
        reg = login_cashier(rig.start())
        try:
            punch(rig, "clock_in")
            fill(mnt / "filler")
            for _ in range(200):  # the state log may still have room in its last block: punch until it has none
                rig.clock.advance(60)
                kind = reg._state.timeclock.allowed("c1")[0]
                assert reg.handle(Punch(kind)).ok
                reg.wait_idle()
                if reg.view().message.level == "error":
                    break
            else:
                pytest.fail("the journal never ran out of space on a full 1 MiB filesystem")
            said = reg.view().message.text
            assert said.startswith(f"The {kind.replace('_', ' ')} was not saved (") and "Free disk space" in said
            before = chain(reg.journal)
            assert reg._state.timeclock.allowed("c1")[0] == kind  # the time clock did not move
            os.unlink(mnt / "filler")
            assert punch(rig, kind, 1)  # the same punch again, now that there is room
            after = chain(reg.journal)
            assert len(after) == len(before) + 1 and after[-1]["kind"] == kind  # no gap, no fork
        finally:
            rig.stop()


def test_replay_leaves_out_a_punch_the_time_clock_cannot_take_and_still_starts(tmp_path):
    rig = RegisterRig(tmp_path / "data")
    reg = login_cashier(rig.start())
    try:
        punch(rig, "clock_in")
        doc = reg.journal.get_state("punch", "000000000001")
        reg.journal.put_state("punch", "000000000002", {**doc, "seq": 2})  # a second clock-in, as no till writes
        reg = login_cashier(rig.restart())
        assert reg._state.timeclock.state_of("c1").state == "working"
        assert reg.handle(Punch("break_start")).ok
    finally:
        rig.stop()
