"""SyncService against a real Mosquitto and the real ingest: receipts arrive once, are confirmed, pending drops to 0."""

from __future__ import annotations

import queue
import threading

import pytest

from firmware.clock import SystemClock
from firmware.sync import LinkDown, LinkUp, ReceiptsConfirmed, ReceiptsDelivered, SyncService
from fleet.broker import BrokerSettings
from fleet.db import FleetDb
from fleet.ingest import IngestOptions, IngestWorker
from tests.contract.kassa_recorder import SchemaRecorder
from tests.firmware.sync.kassa_sync_support import commit, device_config, drain, open_journal, wait_for
from tests.fleet.kassa_fleet_support import assert_exactly_once, db_query
from tests.support.mosquitto import Mosquitto

pytestmark = pytest.mark.slow  # real brokers killed, restarted and cut off mid-drain


class Fleet:
    """An in-process ingest worker (thread) on the test database."""

    def __init__(self, url: str | BrokerSettings, db_path, *, wait_subscribed: bool = True, **opts) -> None:
        self.db_path = db_path
        settings = url if isinstance(url, BrokerSettings) else BrokerSettings(url)
        self.worker = IngestWorker(settings, FleetDb(f"sqlite:///{db_path}"),
                                   IngestOptions(**{"client_id": "ingest-test", **opts}))
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.worker.run, args=(self.stop,), daemon=True)
        self.thread.start()
        if wait_subscribed:  # messages published before the SUBACK would never reach it
            assert self.worker.subscribed.wait(15), "the ingest worker did not get its subscriptions"

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)


@pytest.fixture
def fleet(mosquitto, tmp_path):
    f = Fleet(mosquitto.url, tmp_path / "fleet.db")
    yield f
    f.close()


def test_offline_sales_arrive_once_when_the_broker_appears(tmp_path):
    broker = Mosquitto(tmp_path / "broker")  # not started yet: the shop is offline
    journal = open_journal(tmp_path / "dev")
    events: queue.Queue = queue.Queue()
    service = SyncService(device_config(broker.url, tmp_path / "dev"), journal, SystemClock(), events)
    service.start()
    commit(journal, 300)  # selling while offline
    wait_for(lambda: any(isinstance(e, LinkDown) for e in list(events.queue)), 10, "LinkDown")
    assert service.state().online is False
    wait_for(lambda: service.state().pending == 300, 5, "pending 300")
    broker.start()
    recorder = SchemaRecorder(broker.url)
    fleet = Fleet(broker.url, tmp_path / "fleet.db")
    try:
        wait_for(lambda: service.state().confirmed == 300, 30, "all confirmed")
        wait_for(lambda: service.state().pending == 0 and service.state().online, 5, "pending 0")
        assert_exactly_once(tmp_path / "fleet.db", 300)
        seen = drain(events)
        # the register hears of deliveries in rounds (a fleet ack may even come first): wait for the last one
        wait_for(lambda: seen.extend(drain(events)) or
                 sum(e.n for e in seen if isinstance(e, ReceiptsDelivered)) >= 300, 5, "300 delivered events")
        assert any(isinstance(e, LinkUp) for e in seen)
        assert sum(e.n for e in seen if isinstance(e, ReceiptsConfirmed)) >= 300
        # the retained status catches up: online, nothing pending
        wait_for(lambda: db_query(tmp_path / "fleet.db", "SELECT state, pending FROM devices") == [("online", 0)],
                 10, "status online/0 in the fleet db")
        offline = db_query(tmp_path / "fleet.db", "SELECT COUNT(*) FROM receipts WHERE body LIKE '%\"offline\":true%'")
        assert offline == [(300,)]
    finally:
        service.stop()
        fleet.close()
        recorder.close()
        broker.kill()
    assert recorder.problems == []
    assert recorder.counts.get("receipt", 0) >= 300 and recorder.counts.get("acks", 0) >= 1


def test_clean_stop_publishes_offline_and_a_crash_gets_the_last_will(mosquitto, fleet, tmp_path):
    journal = open_journal(tmp_path / "dev")
    service = SyncService(device_config(mosquitto.url, tmp_path / "dev"), journal, SystemClock(), queue.Queue())
    service.start()
    commit(journal, 5)
    wait_for(lambda: service.state().confirmed == 5, 20, "confirmed")
    wait_for(lambda: db_query(fleet.db_path, "SELECT state FROM devices") == [("online",)], 10, "online")
    service.stop()
    wait_for(lambda: db_query(fleet.db_path, "SELECT state FROM devices") == [("offline",)], 10, "offline")
    journal.close()
