"""Faults injected for real during a drain: broker crashes, cut and blackholed links, a killed device, a killed worker.

Each test asserts on the fleet's database: every receipt exactly once, none
missing, seq gapless, and the device's pending count back to 0.
"""

from __future__ import annotations

import queue
import time

import pytest

from firmware.clock import SystemClock
from firmware.sync import LinkDown, SyncService
from fleet.db import FleetDb
from tests.contract.kassa_recorder import SchemaRecorder
from tests.firmware.sync.kassa_sync_support import DeviceProcess, commit, device_config, drain, open_journal, wait_for
from tests.firmware.sync.test_sync_drain import Fleet
from tests.fleet.kassa_fleet_support import IngestProcess, assert_exactly_once, db_query
from tests.support.proxy import TcpProxy

pytestmark = pytest.mark.slow


def fleet_count(db) -> int:
    return db_query(db, "SELECT COUNT(*) FROM receipts")[0][0]


def test_broker_sigkilled_repeatedly_during_a_drain_loses_nothing(mosquitto, tmp_path):
    db = tmp_path / "fleet.db"
    fleet = Fleet(mosquitto.url, db)
    journal = open_journal(tmp_path / "dev")
    commit(journal, 3000)
    service = SyncService(device_config(mosquitto.url, tmp_path / "dev"), journal, SystemClock(), queue.Queue())
    service.start()
    try:
        for threshold in (300, 1100, 2000):
            wait_for(lambda n=threshold: service.state().delivered + service.state().confirmed >= n, 60, f"{threshold}")
            mosquitto.restart(crash=True)  # forgets whatever it PUBACKed since its last autosave
        wait_for(lambda: service.state().confirmed == 3000, 90, "all 3000 confirmed")
        assert_exactly_once(db, 3000)
        assert service.state().pending == 0
    finally:
        service.stop()
        fleet.close()
        journal.close()


def test_cut_and_blackholed_links_are_survived(mosquitto, tmp_path):
    db = tmp_path / "fleet.db"
    fleet = Fleet(mosquitto.url, db)
    recorder = SchemaRecorder(mosquitto.url)
    proxy = TcpProxy(mosquitto.port)
    journal = open_journal(tmp_path / "dev")
    commit(journal, 2000)
    events: queue.Queue = queue.Queue()
    service = SyncService(device_config(proxy.url, tmp_path / "dev"), journal, SystemClock(), events)
    service.start()
    seen: list = []

    def link_downs() -> list[str]:
        seen.extend(drain(events))
        return [e.reason for e in seen if isinstance(e, LinkDown)]

    try:
        for threshold in (200, 600):
            wait_for(lambda n=threshold: service.state().online and
                     service.state().delivered + service.state().confirmed >= n, 60, "progress")
            downs = len(link_downs())
            proxy.cut()
            # the LinkDown event, not a poll of the state: the device may be back online before a poll looks
            wait_for(lambda n=downs: len(link_downs()) > n, 10, "LinkDown after the cut")
        wait_for(lambda: service.state().online and service.state().confirmed >= 1000, 60, "progress after cuts")
        proxy.blackhole(True)  # no FIN: only keepalive (5 s) can tell
        t0 = time.monotonic()
        wait_for(lambda: not service.state().online, 25, "keepalive to notice the blackhole")
        noticed = time.monotonic() - t0
        time.sleep(1.0)  # reconnects meanwhile get no CONNACK
        assert not service.state().online
        proxy.blackhole(False)
        proxy.cut()  # whatever half-dead link is left goes
        wait_for(lambda: service.state().confirmed == 2000, 60, "all confirmed")
        assert_exactly_once(db, 2000)
        assert 4.0 <= noticed <= 20.0
        reasons = link_downs()
        assert len(reasons) >= 3 and any("Keep alive" in r for r in reasons), reasons
    finally:
        service.stop()
        proxy.close()
        fleet.close()
        recorder.close()
        journal.close()
    assert recorder.problems == []


def test_device_sigkilled_mid_drain_and_restarted(mosquitto, tmp_path):
    db = tmp_path / "fleet.db"
    fleet = Fleet(mosquitto.url, db)
    device = DeviceProcess(mosquitto.url, tmp_path / "dev", commit_n=3000).start()
    try:
        wait_for(lambda: fleet_count(db) >= 800, 60, "drain under way")
        device.kill()
        killed_at = fleet_count(db)
        assert killed_at < 3000, "the drain finished before the kill; make it longer"
        device = DeviceProcess(mosquitto.url, tmp_path / "dev", commit_n=3000).start()
        wait_for(lambda: fleet_count(db) == 3000, 60, "the rest after restart")
        assert_exactly_once(db, 3000)
        wait_for(lambda: db_query(db, "SELECT state, pending FROM devices") == [("online", 0)], 20,
                 "device reports pending 0")
    finally:
        device.kill()
        fleet.close()
    journal = open_journal(tmp_path / "dev")
    assert journal.summary().pending == 0 and journal.next_seq == 3001
    journal.close()


def test_two_ingest_workers_one_killed_mid_stream(mosquitto, tmp_path):
    db = tmp_path / "fleet.db"
    FleetDb(f"sqlite:///{db}").close()
    workers = [IngestProcess(mosquitto.url, db, tmp_path, client_id=f"ingest-{i}", args=("--unsigned",)).start()
               for i in (1, 2)]
    journal = open_journal(tmp_path / "dev")
    commit(journal, 3000)
    service = SyncService(device_config(mosquitto.url, tmp_path / "dev"), journal, SystemClock(), queue.Queue())
    service.start()
    try:
        wait_for(lambda: fleet_count(db) >= 1000, 60, "both workers ingesting")
        workers[0].kill()
        wait_for(lambda: service.state().confirmed == 3000, 60, "all confirmed by the survivor")
        assert_exactly_once(db, 3000)
        assert "subscribed" in workers[1].log()
    finally:
        service.stop()
        for w in workers:
            w.kill()
        journal.close()
