"""A broker that PUBACKed receipts and then crashed before saving them: the unconfirmed-resend path recovers them.

Mosquitto writes its persistence only every `autosave_interval` (docs/pitfalls.md#mosquitto-20),
so receipts queued for an offline ingest session vanish with a SIGKILL even
though the device holds a PUBACK for each: only the fleet's confirmation
proves delivery, and delivered-but-unconfirmed receipts are sent again after
`broker.resend_after`.
"""

from __future__ import annotations

import queue
import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from firmware.clock import SystemClock
from firmware.contract import ingest_filters
from firmware.sync import SyncService
from tests.firmware.sync.kassa_sync_support import commit, device_config, open_journal, wait_for
from tests.firmware.sync.test_sync_drain import Fleet
from tests.fleet.kassa_fleet_support import assert_exactly_once, db_query
from tests.support.mosquitto import Mosquitto

pytestmark = pytest.mark.slow  # real brokers killed, restarted and cut off mid-drain

N = 1000


def leave_a_persistent_ingest_session(port: int) -> None:
    """An ingest worker that subscribed with a session expiry and went away: the broker queues for it."""
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="ingest-away", protocol=mqtt.MQTTv5)
    client.on_subscribe = lambda *_a: subscribed.set()
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    client.connect("127.0.0.1", port, clean_start=True, properties=props)
    client.loop_start()
    receipts = next(f for f in ingest_filters() if f.endswith("/receipts"))
    client.subscribe(receipts, qos=1)
    assert subscribed.wait(10), "no SUBACK"
    client.disconnect()
    client.loop_stop()


def test_receipts_the_broker_acked_then_forgot_reach_the_fleet_once(tmp_path):
    broker = Mosquitto(tmp_path / "broker", autosave_interval=3600)  # never saves on its own here
    config = device_config(broker.url, tmp_path / "dev", resend_after=5.0, max_unconfirmed=N)  # all out at once
    journal = open_journal(tmp_path / "dev")
    commit(journal, N)
    service = SyncService(config, journal, SystemClock(), queue.Queue())
    fleet = None
    try:
        broker.start()
        leave_a_persistent_ingest_session(broker.port)
        service.start()
        wait_for(lambda: service.state().delivered == N, 30, "all PUBACKed")
        journal.flush()
        states = {journal.delivery(seq)["state"] for seq in range(1, N + 1)}
        # PUBACKed, durably marked, nobody confirmed (drained well within resend_after)
        assert states == {"delivered"}, states
        assert service.state().confirmed == 0
        broker.kill()  # SIGKILL: the queue for the absent ingest session is gone with it
        broker.start()
        fleet = Fleet(broker.url, tmp_path / "fleet.db")
        wait_for(lambda: service.state().confirmed == N, 60, "all confirmed after the resend")
        assert_exactly_once(tmp_path / "fleet.db", N)
        assert db_query(tmp_path / "fleet.db", "SELECT COUNT(DISTINCT receipt_id) FROM receipts") == [(N,)]
        assert service.state().pending == 0 and service.state().delivered == 0
    finally:
        service.stop()
        if fleet:
            fleet.close()
        journal.close()
        broker.kill()
