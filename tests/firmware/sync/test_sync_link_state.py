"""What the cashier's top bar rests on: the link comes back soon after the broker does, a hung link is noticed
within two keepalives, and a broker that lost our session gets the unconfirmed receipts again at once.

Real Mosquitto, a real TCP proxy that blackholes the link, the real SyncService and ingest. The deadlines
below are the product's promises (issue: reconnect within 15 s, hung link within 2 x keepalive), each with
a second of slack for a loaded machine.
"""

from __future__ import annotations

import queue
import time

import pytest

from firmware.clock import SystemClock
from firmware.sync import SyncService
from tests.firmware.sync.kassa_sync_support import commit, device_config, open_journal, wait_for
from tests.firmware.sync.test_sync_drain import Fleet
from tests.fleet.kassa_fleet_support import assert_exactly_once
from tests.support.mosquitto import Mosquitto
from tests.support.proxy import TcpProxy

pytestmark = pytest.mark.slow  # brokers stay away long enough for the backoff to grow


def test_the_link_is_back_within_15_s_of_the_broker_even_after_a_long_outage(tmp_path):
    broker = Mosquitto(tmp_path / "broker")  # the port is chosen, nothing listens yet
    journal = open_journal(tmp_path / "dev")
    commit(journal, 3)
    service = SyncService(device_config(broker.url, tmp_path / "dev", backoff_cap=60.0), journal, SystemClock(),
                          queue.Queue(), hello_timeout=1.0)
    service.start()
    try:
        time.sleep(35)  # long enough that the backoff ceiling is past 15 s
        assert not service.state().online
        broker.start()
        wait_for(lambda: service.state().online, 16, "the link within 15 s of the broker returning")
    finally:
        service.stop()
        journal.close()
        broker.kill()


def test_a_hung_link_is_noticed_within_two_keepalives(mosquitto, tmp_path):
    proxy = TcpProxy(mosquitto.port)
    journal = open_journal(tmp_path / "dev")
    keepalive = 5
    service = SyncService(device_config(proxy.url, tmp_path / "dev", keepalive=keepalive), journal, SystemClock(),
                          queue.Queue(), hello_timeout=1.0)
    service.start()
    try:
        wait_for(lambda: service.state().online, 15, "online")
        proxy.blackhole(True)  # packets vanish: no FIN, no RST
        wait_for(lambda: not service.state().online, 2 * keepalive + 1, "the hung link to be noticed")
    finally:
        service.stop()
        journal.close()
        proxy.close()


def test_a_broker_that_lost_our_session_gets_the_unconfirmed_again_at_once(tmp_path):
    broker = Mosquitto(tmp_path / "broker", autosave_interval=3600)  # forgets everything on SIGKILL
    journal = open_journal(tmp_path / "dev")
    commit(journal, 50)
    config = device_config(broker.url, tmp_path / "dev", resend_after=3600.0)  # the old rule would wait an hour
    service = SyncService(config, journal, SystemClock(), queue.Queue(), hello_timeout=1.0)
    fleet = None
    try:
        broker.start()
        service.start()
        wait_for(lambda: service.state().delivered == 50, 30, "50 PUBACKed, nobody confirming")
        broker.kill()
        broker.start()  # no session, no queued messages: PUBACKed receipts went with it
        fleet = Fleet(broker.url, tmp_path / "fleet.db")
        wait_for(lambda: service.state().confirmed == 50, 30, "all confirmed without waiting resend_after")
        assert_exactly_once(tmp_path / "fleet.db", 50)
    finally:
        service.stop()
        if fleet is not None:
            fleet.close()
        journal.close()
        broker.kill()
