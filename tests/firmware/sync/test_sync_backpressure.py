"""Backpressure toward the device: at most `max_unconfirmed` receipts delivered but not confirmed, whatever the backlog.

So a broker never holds more than registers x that bound, even when the fleet's ingest is down for a day.
"""

from __future__ import annotations

import queue
import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from firmware.clock import SystemClock
from firmware.sync import SyncService
from firmware.sync.outbox import OutboxSender
from tests.firmware.sync.kassa_sync_support import commit, device_config, open_journal, wait_for
from tests.firmware.sync.test_sync_drain import Fleet
from tests.firmware.sync.test_sync_outbox import Link, Outbox
from tests.fleet.kassa_fleet_support import assert_exactly_once

pytestmark = pytest.mark.slow  # real Mosquitto brokers, waits on the network


def test_the_sender_stops_at_the_bound_and_goes_on_as_confirmations_come():
    journal, link, now = Outbox(100), Link(), [0.0]
    s = OutboxSender(journal, link.publish, lambda: now[0], window=10, max_unconfirmed=25)
    s.reset(10)
    s.fill()
    while s.inflight:  # every PUBACK tops the window up until 25 are out and unconfirmed
        s.on_puback(next(iter(s.inflight)), True, "Success")
    assert len(link.sent) == 25
    delivered = s.take_round().delivered
    s.outstanding = len(delivered)  # the journal now holds them as delivered
    assert s.fill() == 0
    s.outstanding = 15  # the fleet confirmed 10 of them
    assert s.fill() == 10 and len(link.sent) == 35
    forced_before = len(link.sent)
    s.forced.add(1, 3)  # the fleet's own resend requests are never held back
    for mid in list(s.inflight):
        s.on_puback(mid, True, "Success")
    assert len(link.sent) >= forced_before + 3


def test_a_backlog_waits_on_the_device_not_in_the_broker_while_the_fleet_is_away(mosquitto, tmp_path):
    received: list[bytes] = []
    got = threading.Event()
    watcher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="watcher", protocol=mqtt.MQTTv5)
    watcher.on_message = lambda _c, _u, m: (received.append(m.payload), got.set())
    watcher.connect("127.0.0.1", mosquitto.port)
    watcher.subscribe("kassa/v1/S001/R1/receipts", qos=1)
    watcher.loop_start()
    journal = open_journal(tmp_path / "dev")
    commit(journal, 400)  # a day offline
    events: queue.Queue = queue.Queue()
    config = device_config(mosquitto.url, tmp_path / "dev", max_unconfirmed=60)
    service = SyncService(config, journal, SystemClock(), events, hello_timeout=1.0)
    service.start()
    fleet = None
    try:
        wait_for(lambda: service.state().delivered >= 60, 30, "60 delivered")
        wait_for(lambda: len(received) >= 60, 10, "the watcher to see 60")
        got.clear()
        assert not got.wait(3.0)  # no fleet confirms: nothing more leaves the device
        assert len(received) == 60 and service.state().delivered == 60 and service.state().pending == 340
        fleet = Fleet(mosquitto.url, tmp_path / "fleet.db")  # the fleet comes back: the device re-sends and drains
        service.sync_now()
        wait_for(lambda: service.state().pending == 0 and service.state().delivered == 0, 60, "all confirmed")
        assert_exactly_once(tmp_path / "fleet.db", 400)
    finally:
        service.stop()
        if fleet is not None:
            fleet.close()
        watcher.loop_stop()
        journal.close()
