"""State records are written behind by the journal writer: read back at once, said when on disk, put back on failure."""

from __future__ import annotations

import queue

from firmware.clock import ManualClock
from firmware.journal import Journal
from firmware.register.committer import Committer, StateSaved
from firmware.register.core.commands import Recall
from firmware.register.states import PendingStates
from tests.firmware.register.conftest import PENCIL, login_cashier
from tests.firmware.register.test_register_disk_full import fill
from tests.support.tmpfs import tiny_tmpfs


def settle_all(events: queue.Queue, states: PendingStates, committer: Committer,
               told: list[tuple[str, bool, str]]) -> list[StateSaved]:
    """Settle every finished write; each `then` it hands back is told with the write's result."""
    assert committer.wait_idle(10)
    saved = []
    while not events.empty():
        event = events.get_nowait()
        then = states.settle(event)
        if then is not None:
            told.append((then, event.ok, event.reason))
        saved.append(event)
    return saved


def test_a_park_is_listed_at_once_and_said_when_it_is_on_disk(rig):
    reg = login_cashier(rig.register)
    reg.scan(PENCIL)
    out = reg.park()
    assert out.ok and out.message == f"Parking the cart as {out.data}"
    assert [p.park_id for p in reg.parked()] == [out.data]  # before the writer has run: read back from memory
    reg.wait_idle()
    assert reg.view().message.text == f"Cart parked as {out.data}"
    assert set(reg.journal.states("parked")) == {out.data}
    assert reg.handle(Recall(out.data)).ok and reg.parked() == []  # the delete reads back at once as well
    reg.wait_idle()
    assert reg.journal.states("parked") == {}


def test_writes_read_back_in_order_and_a_failed_write_falls_back_to_the_disk(tmp_path):
    with tiny_tmpfs(tmp_path / "small", "1m") as mnt:
        events: queue.Queue = queue.Queue()
        journal = Journal.open(mnt / "data", store="S001", register="R1", clock=ManualClock())
        committer = Committer(journal, "R1", events)
        committer.start()
        states = PendingStates(journal, committer)
        told: list[tuple[str, bool, str]] = []
        try:
            states.write([("shift", "current", {"float": 100})])
            states.write([("shift", "current", {"float": 150})], "150 saved")
            assert states.get("shift", "current") == {"float": 150}
            settle_all(events, states, committer, told)
            assert told == [("150 saved", True, "")] and journal.get_state("shift", "current") == {"float": 150}

            fill(mnt / "filler")
            states.write([("shift", "current", {"float": 200, "pad": "x" * 200_000})], "200 saved")
            assert states.get("shift", "current")["float"] == 200
            [saved] = settle_all(events, states, committer, told)
            assert not saved.ok and "full" in saved.reason
            assert told[-1] == ("200 saved", False, saved.reason)
            assert states.get("shift", "current") == {"float": 150}  # what is really on disk
        finally:
            committer.stop()
            journal.close()
