"""One lifecycle: building starts no thread, bootstrap starts every `kassa-*` thread, shutdown ends them all."""

from __future__ import annotations

import threading
import time

import pytest

from firmware.bootstrap import bootstrap, demo_config, seed_demo
from firmware.clock import ManualClock
from firmware.journal import Journal
from firmware.lifecycle import Lifecycle, join_thread, kassa_threads
from firmware.sync.events import CommandReceived

PENCIL = "4006381333931"


def new_kassa_threads(before: set[int]) -> list[str]:
    return sorted(t.name for t in kassa_threads() if t.ident not in before)


def settle(before: set[int], timeout: float = 5.0) -> list[str]:
    """The `kassa-*` threads started since `before` that are still alive after up to `timeout` s."""
    deadline = time.monotonic() + timeout
    while new_kassa_threads(before) and time.monotonic() < deadline:
        time.sleep(0.01)
    return new_kassa_threads(before)


class Recorder:
    def __init__(self, name: str, log: list[str], fail: bool = False) -> None:
        self.name, self.log, self.fail = name, log, fail

    def start(self) -> None:
        if self.fail:
            raise RuntimeError(f"{self.name} cannot start")
        self.log.append(f"start {self.name}")

    def stop(self) -> None:
        self.log.append(f"stop {self.name}")


def test_parts_start_in_order_and_stop_in_reverse_once():
    log: list[str] = []
    life = Lifecycle()
    for name in ("journal", "hardware", "sync"):
        life.add(name, Recorder(name, log))
    life.add("nothing", None)
    life.start()
    life.stop()
    life.stop()  # a second stop stops nothing twice
    assert log == ["start journal", "start hardware", "start sync", "stop sync", "stop hardware", "stop journal"]
    assert life.names == ["journal", "hardware", "sync"]


def test_a_part_that_fails_to_start_stops_those_already_started():
    log: list[str] = []
    life = Lifecycle()
    life.add("journal", Recorder("journal", log))
    life.add("hardware", Recorder("hardware", log, fail=True))
    life.add("sync", Recorder("sync", log))
    with pytest.raises(RuntimeError, match="hardware cannot start"):
        life.start()
    assert log == ["start journal", "stop journal"]


def test_a_thread_that_does_not_end_is_logged_by_name(caplog):
    release = threading.Event()
    stuck = threading.Thread(target=release.wait, name="kassa-test-stuck", daemon=True)
    stuck.start()
    try:
        assert join_thread(stuck, 0.05) is False
        assert "kassa-test-stuck did not end" in caplog.text
    finally:
        release.set()
        stuck.join()


def test_a_journal_opened_by_a_tool_starts_no_thread_and_still_reads_writes_and_closes(tmp_path):
    from tests.support.journal_sample import make_receipt

    before = {t.ident for t in threading.enumerate()}
    journal = Journal.open(tmp_path / "data", store="S001", register="R1", clock=ManualClock(), segment_records=4)
    try:
        assert {t.ident for t in threading.enumerate()} == before
        receipts = [journal.commit_receipt(make_receipt(journal, lines=1)) for _ in range(9)]  # seals two segments
        journal.mark_delivered([1, 2], ManualClock().now())
        journal.flush()  # written here: there is no writer thread
        assert journal.get_seq(9) == receipts[-1] and journal.delivery(2)["state"] == "delivered"
        assert {t.ident for t in threading.enumerate()} == before
    finally:
        journal.close()
    again = Journal.open(tmp_path / "data", store="S001", register="R1", clock=ManualClock(), segment_records=4)
    try:
        assert again.next_seq == 10 and again.delivery(1)["state"] == "delivered"
        assert sorted(p.name for p in (tmp_path / "data" / "journal").glob("*.idx"))  # close indexed what sealed
    finally:
        again.close()


class Unstarted(Lifecycle):
    """A lifecycle that is filled but never starts anything: what building alone does."""

    def start(self) -> None:
        pass


def test_building_a_whole_register_starts_no_thread(tmp_path):
    before = {t.ident for t in threading.enumerate()}
    config = demo_config(tmp_path / "data", broker_url="mqtt://127.0.0.1:9")
    life = Unstarted()
    register = bootstrap(config, clock=ManualClock(), demo_pins=seed_demo(tmp_path / "data"), lifecycle=life)
    try:
        assert life.names == ["journal", "hardware", "sync", "register housekeeping", "committer", "report worker",
                              "receipt finder"]
        assert {t.ident for t in threading.enumerate()} == before, [t.name for t in threading.enumerate()]
    finally:
        register.shutdown()  # stopping parts that never started is safe
    assert {t.ident for t in threading.enumerate()} == before


@pytest.mark.slow
def test_after_bootstrap_and_shutdown_of_a_real_register_no_kassa_thread_is_left(tmp_path, mosquitto):
    before = {t.ident for t in threading.enumerate()}
    config = demo_config(tmp_path / "data", broker_url=mosquitto.url,
                         hardware={"drawer": "simulated?auto_close=0.05"})
    register = bootstrap(config, demo_pins=seed_demo(tmp_path / "data"))
    try:
        running = new_kassa_threads(before)
        for name in ("kassa-committer", "kassa-housekeeping", "kassa-journal-delivery", "kassa-journal-housekeeper",
                     "kassa-printer", "kassa-reports", "kassa-finder", "kassa-scanner-pty", "kassa-sync"):
            assert name in running, running
        assert register.login("c1", "1111").ok
        assert register.scan(PENCIL).ok
        assert register.tender("cash", None).ok
        register.wait_idle()
        assert register.journal.next_seq == 2  # committed; the drawer kicked and the receipt printing on their threads
        register.events.put(CommandReceived("cmd-x", "report", {"kind": "x"}))  # a fleet X report, as sync queues it
        register.pump()
        assert register._reports.wait_idle(10)  # summed on the lifecycle's report worker, not a thread of its own
        register.pump()  # published and answered through sync
        assert "kassa-remote-report" not in new_kassa_threads(before)
    finally:
        register.shutdown()
    assert settle(before, timeout=0.5) == []
