"""Pacing the drain while the screen is in use: the link thread's CPU stays under its share, an idle screen (or no
UI at all) leaves the drain unpaced, and a paced drain still completes."""

from __future__ import annotations

import queue
import threading
import time

import pytest

from firmware.clock import SystemClock
from firmware.sync import SyncService
from firmware.sync.service import PACE_CPU_SHARE, PACE_MAX_SLEEP, CpuPacer
from firmware.sync.state import SCREEN, ScreenActivity
from fleet.broker import BrokerSettings
from fleet.db import FleetDb
from fleet.ingest import IngestOptions, IngestWorker
from tests.firmware.sync.kassa_sync_support import commit, device_config, open_journal, wait_for
from tests.fleet.kassa_fleet_support import assert_exactly_once


class FakeThread:
    """A thread's CPU clock and the wall clock, advanced by hand: work costs CPU and wall time, sleep only wall."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.wall = 100.0
        self.sleeps: list[float] = []

    def work(self, seconds: float) -> None:
        self.cpu += seconds
        self.wall += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.wall += seconds

    def pacer(self, share: float, active: list[bool], burst: float = 0.002) -> CpuPacer:
        return CpuPacer(share, lambda: active[0], burst=burst, thread_time=lambda: self.cpu,
                        monotonic=lambda: self.wall, sleep=self.sleep)


@pytest.mark.parametrize("share", [0.02, PACE_CPU_SHARE, 0.5])
@pytest.mark.parametrize("unit", [0.0001, 0.001, 0.004])
def test_while_the_screen_is_active_the_thread_keeps_under_its_share(share, unit):
    t = FakeThread()
    pacer = t.pacer(share, [True])
    start_cpu, start_wall = t.cpu, t.wall
    for _ in range(5000):
        t.work(unit)
        pacer.check()
    used, wall = t.cpu - start_cpu, t.wall - start_wall
    # over the whole run, and in any window: at most the share, plus one burst and one unit of work between checks
    assert used <= share * wall + pacer.burst + unit
    assert t.sleeps and pacer.pauses == len(t.sleeps)
    assert pacer.slept == pytest.approx(sum(t.sleeps))


def test_every_window_of_a_cfs_period_stays_under_the_share():
    """Not just on average: in bursts of about `burst` CPU, so no 100 ms window gets much more than its share."""
    t = FakeThread()
    pacer = t.pacer(0.08, [True])
    marks = []
    for _ in range(20000):
        t.work(0.0002)
        pacer.check()
        marks.append((t.wall, t.cpu))
    period = 0.1
    j = 0
    for i, (wall, cpu) in enumerate(marks):
        while marks[j][0] < wall - period:
            j += 1
        if i > j:
            assert cpu - marks[j][1] <= 0.08 * period + pacer.burst + 0.0004


def test_an_idle_screen_costs_the_drain_nothing():
    t = FakeThread()
    calls = []
    pacer = CpuPacer(0.05, lambda: False, thread_time=lambda: calls.append(1) or t.cpu, monotonic=lambda: t.wall,
                     sleep=t.sleep)
    for _ in range(10000):
        t.work(0.001)
        pacer.check()
    assert t.sleeps == [] and pacer.pauses == 0
    assert calls == []  # not even the thread's CPU clock is read


def test_cpu_spent_while_idle_or_quiet_is_no_debt_and_no_credit():
    t = FakeThread()
    active = [False]
    pacer = t.pacer(0.1, active)
    t.work(5.0)  # a full-speed drain while nobody used the screen
    pacer.check()
    active[0] = True  # the cashier touches the screen
    pacer.check()
    t.work(0.001)
    pacer.check()
    assert t.sleeps == []  # the idle drain left no debt
    t.wall += 60.0  # a quiet minute: no credit piles up beyond one burst
    pacer.check()
    t.work(0.01)
    pacer.check()
    assert t.sleeps, "a burst longer than `burst` after a quiet spell is paced at once"
    # it had one burst of credit (-burst), spent 0.01 s in 0.01 s of wall: it sleeps until a burst under again
    assert t.sleeps[-1] == pytest.approx((0.01 - 0.1 * 0.01) / 0.1)


def test_one_long_burst_is_slept_off_in_bounded_pauses():
    t = FakeThread()
    pacer = t.pacer(0.05, [True])
    pacer.check()
    t.work(0.2)  # one network round that took long (a big batch of acks)
    pacer.check()
    assert t.sleeps == [PACE_MAX_SLEEP]
    for _ in range(10):
        pacer.check()
    assert all(s <= PACE_MAX_SLEEP for s in t.sleeps)
    used, wall = 0.2, t.wall - 100.0
    assert used <= 0.05 * wall + pacer.burst  # the debt was paid in full, pause by pause


def test_screen_activity_counts_recent_frames_only():
    now = [0.0]
    screen = ScreenActivity(monotonic=lambda: now[0], for_seconds=0.5)
    assert not screen.active()
    screen.frame()
    now[0] = 0.4
    assert screen.active()
    now[0] = 0.6
    assert not screen.active()


def test_a_bad_share_is_refused():
    with pytest.raises(ValueError):
        CpuPacer(0.0, lambda: True)
    with pytest.raises(ValueError):
        CpuPacer(1.5, lambda: True)


@pytest.mark.slow
def test_the_real_thread_clock_holds_the_share():
    """With the real clocks a busy thread that checks in keeps under its share (load on the machine only lowers it)."""
    share = 0.1
    pacer = CpuPacer(share, lambda: True)
    box: dict[str, float] = {}

    def busy() -> None:
        pacer.check()
        c0, w0 = time.thread_time(), time.monotonic()
        while time.monotonic() - w0 < 1.0:
            x = 0
            for i in range(2000):
                x += i
            pacer.check()
        box["cpu"], box["wall"] = time.thread_time() - c0, time.monotonic() - w0

    thread = threading.Thread(target=busy)
    thread.start()
    thread.join(30)
    assert pacer.pauses > 0
    assert box["cpu"] <= share * box["wall"] + pacer.burst + 0.02  # + one check's work and the clock's granularity


# ---- the service against a real broker and fleet ---------------------------------------------------------------


class Fleet:
    def __init__(self, url: str, db_path) -> None:
        self.worker = IngestWorker(BrokerSettings(url), FleetDb(f"sqlite:///{db_path}"),
                                   IngestOptions(client_id="ingest-pacing"))
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.worker.run, args=(self.stop,), daemon=True)
        self.thread.start()
        assert self.worker.subscribed.wait(15)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)


def link_cpu(service: SyncService) -> float:
    """CPU seconds the service's link thread (`kassa-sync`) has used so far."""
    thread = service.link._thread
    assert thread is not None and thread.ident is not None
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


def run_drain(tmp_path, broker, n: int, screen: ScreenActivity, share: float, frames: bool):
    journal = open_journal(tmp_path / "dev")
    commit(journal, n)
    fleet = Fleet(broker.url, tmp_path / "fleet.db")
    service = SyncService(device_config(broker.url, tmp_path / "dev"), journal, SystemClock(), queue.Queue(),
                          screen=screen, pace_share=share)
    stop = threading.Event()

    def frame_loop() -> None:  # what the pygame loop does: a frame every 1/60 s
        while not stop.is_set():
            screen.frame()
            time.sleep(1 / 60)

    loop = threading.Thread(target=frame_loop, daemon=True)
    if frames:
        loop.start()
    try:
        service.start()
        wait_for(lambda: service.link._thread is not None and service.state().online, 15, "online")
        cpu0, wall0 = link_cpu(service), time.monotonic()
        wait_for(lambda: service.state().confirmed == n, 120, f"all {n} confirmed")
        used, wall = link_cpu(service) - cpu0, time.monotonic() - wall0
    finally:
        stop.set()
        service.stop()
        fleet.close()
        journal.close()
    assert_exactly_once(tmp_path / "fleet.db", n)
    return service, used, wall


@pytest.mark.slow
def test_a_drain_while_the_screen_draws_frames_keeps_the_link_thread_under_its_share_and_completes(tmp_path,
                                                                                                    mosquitto):
    share = 0.05
    service, used, wall = run_drain(tmp_path, mosquitto, 1500, ScreenActivity(), share, frames=True)
    assert service.pacer is not None and service.pacer.pauses > 0
    assert used <= share * wall + 0.05  # a burst, the first check after connecting, the clock's granularity


@pytest.mark.slow
def test_with_no_frames_drawn_the_drain_is_not_paced(tmp_path, mosquitto):
    service, _, _ = run_drain(tmp_path, mosquitto, 1500, ScreenActivity(), 0.05, frames=False)
    assert service.pacer is not None and service.pacer.pauses == 0 and service.pacer.slept == 0


def test_pacing_can_be_turned_off_and_the_process_screen_is_the_default(tmp_path):
    journal = open_journal(tmp_path / "dev")
    try:
        config = device_config("mqtt://127.0.0.1:9", tmp_path / "dev")
        off = SyncService(config, journal, SystemClock(), queue.Queue(), pace_share=0)
        assert off.pacer is None
        default = SyncService(config, journal, SystemClock(), queue.Queue())
        assert default.pacer is not None and default.pacer.share == PACE_CPU_SHARE
        assert default.pacer.active == SCREEN.active
    finally:
        journal.close()
