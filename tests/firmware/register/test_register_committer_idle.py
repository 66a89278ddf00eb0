"""The committer's lifecycle: no thread before `start()`, and `wait_idle` returns only once the queued work is done."""

from __future__ import annotations

import queue
import sys
import threading
import time

import pytest

from firmware.register.committer import Committer, StateSaved

ROUNDS = 1500
SUBMITTERS = 4


class SlowJournal:
    """A journal stand-in whose state writes give up the GIL, as an fsync does."""

    def __init__(self) -> None:
        self.saved: set[str] = set()
        self._lock = threading.Lock()

    def put_states(self, changes) -> None:
        time.sleep(0)
        with self._lock:
            self.saved.update(key for _, key, _ in changes)


@pytest.mark.slow
def test_wait_idle_returns_only_after_every_earlier_submit_is_written_with_several_submitters():
    # The old committer cleared an "idle" flag and then queued, while its thread set the flag whenever it
    # found the queue empty: a submit landing between the two returned from wait_idle with its job still
    # queued. Run on the old code this loses a few of the 6000 round trips every time.
    journal = SlowJournal()
    committer = Committer(journal, "R1", queue.Queue())
    committer.start()
    missing: list[str] = []
    timeouts: list[str] = []
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so the window between two statements gets hit

    def hammer(name: str) -> None:
        for i in range(ROUNDS):
            key = f"{name}-{i}"
            committer.submit_state(i, [("test", key, {})])
            if not committer.wait_idle(5):
                timeouts.append(key)
            elif key not in journal.saved:
                missing.append(key)

    threads = [threading.Thread(target=hammer, args=(name,), name=f"test-hammer-{name}")
               for name in "abcd"[:SUBMITTERS]]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        sys.setswitchinterval(interval)
        committer.stop()
    assert timeouts == []
    assert missing == [], f"wait_idle returned before {len(missing)} submitted job(s) were written: {missing[:5]}"


def test_constructing_a_committer_starts_no_thread_and_start_writes_what_was_queued():
    before = {t.ident for t in threading.enumerate()}
    journal = SlowJournal()
    events: queue.Queue = queue.Queue()
    committer = Committer(journal, "R1", events)
    committer.submit_state(7, [("test", "early", {})])
    assert {t.ident for t in threading.enumerate()} == before
    assert committer.wait_idle(0.05) is False  # queued, nobody writing yet
    committer.start()
    committer.start()  # twice is harmless
    assert committer.wait_idle(5)
    assert journal.saved == {"early"} and events.get_nowait() == StateSaved(7, True)
    committer.stop()
    assert not any(t.name == "kassa-committer" for t in threading.enumerate())
    committer.stop()  # twice is harmless
