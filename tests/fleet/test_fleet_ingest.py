"""The ingest worker against a real Mosquitto: dedupe, confirm after commit, status, gaps, shared subscription."""

from __future__ import annotations

import json
import threading
import time

import pytest

from firmware.chain import canonical_json
from fleet.broker import BrokerSettings
from fleet.db import FleetDb
from fleet.ingest import IngestOptions, IngestWorker
from tests.contract.kassa_recorder import SchemaRecorder
from tests.contract.kassa_samples import make_chain
from tests.fleet.kassa_fleet_support import BareDevice, IngestProcess, assert_exactly_once, db_query

pytestmark = pytest.mark.slow  # real brokers and kassa-fleet processes


@pytest.fixture
def recorder(mosquitto):
    rec = SchemaRecorder(mosquitto.url)
    yield rec
    rec.close()
    assert rec.problems == []


@pytest.fixture
def worker(mosquitto, tmp_path):
    """An in-process ingest worker on its own thread, with quick gap checks."""
    db = FleetDb(f"sqlite:///{tmp_path / 'fleet.db'}")
    w = IngestWorker(BrokerSettings(mosquitto.url), db,
                     IngestOptions(client_id="ingest-t", gap_check_every=0.2, gap_grace=0.5, resend_every=2.0))
    stop = threading.Event()
    thread = threading.Thread(target=w.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not w._connected:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.2)  # SUBACK
    w.db_path = tmp_path / "fleet.db"
    yield w
    stop.set()
    thread.join(10)


def test_each_receipt_stored_once_and_confirmed_after_commit(mosquitto, worker, recorder):
    device = BareDevice(mosquitto.url)
    receipts = make_chain(500)
    device.send(receipts)
    device.send(receipts[100:200])  # duplicates, as after a reconnect
    assert device.wait_acked({r["receipt_id"] for r in receipts}) == set()
    deadline = time.monotonic() + 10
    while worker.stats.messages < 600 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert_exactly_once(worker.db_path, 500)
    assert worker.stats.receipts_new == 500 and worker.stats.receipts_duplicate == 100
    device.close()


def test_malformed_receipts_are_recorded_as_rejects_and_never_stop_ingest(mosquitto, worker, recorder):
    device = BareDevice(mosquitto.url)
    topic = device.topics.receipts
    recorder.ignore.add(topic)
    tampered = make_chain(1)[0] | {"totals": {"subtotal": 1, "tax": 0, "total": 1, "rounding": 0}}
    other_register = make_chain(1, register="R9")[0]
    for junk in (b"not json", b"[]", b'{"receipt_id": 5}', b"x" * (256 * 1024 + 1), canonical_json(tampered),
                 canonical_json(other_register)):
        device.publish(topic, junk)
    good = make_chain(3)
    device.send(good)
    assert device.wait_acked({r["receipt_id"] for r in good}) == set()
    reasons = [r[0] for r in db_query(worker.db_path, "SELECT reason FROM rejects ORDER BY id")]
    assert len(reasons) == 6
    assert any("hash does not match" in r for r in reasons)
    assert any("not the topic's" in r for r in reasons)
    assert any("over the limit" in r for r in reasons)
    assert_exactly_once(worker.db_path, 3)
    device.close()


def test_status_reports_and_command_results_are_recorded(mosquitto, worker, recorder):
    device = BareDevice(mosquitto.url)
    device.client.publish(device.topics.status, json.dumps(
        {"state": "online", "at": "2026-11-25T14:03:11.250Z", "pending": 4, "last_sync_at": None,
         "oldest_pending_at": "2026-11-25T14:00:00.000Z", "firmware_version": "0.1.0", "hardware": {"printer": "ok"}}),
        qos=1, retain=True).wait_for_publish(5)
    device.publish(device.topics.reports, json.dumps(
        {"report_id": "Z-1", "kind": "z", "z_number": 1, "first_seq": 1, "last_seq": 4, "tenders": {"cash": 10}}))
    device.client.publish(device.topics.status, b'{"state":"offline"}', qos=1, retain=True).wait_for_publish(5)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = db_query(worker.db_path, "SELECT state, pending FROM devices")
        reports = db_query(worker.db_path, "SELECT report_id, kind, z_number FROM reports")
        if rows == [("offline", 4)] and reports:
            break
        time.sleep(0.05)
    assert rows == [("offline", 4)], "a bare last will keeps the last known pending count"
    assert reports == [("Z-1", "z", 1)]
    device.client.publish(device.topics.status, b"", qos=1, retain=True).wait_for_publish(5)
    device.close()


def test_gap_open_past_grace_asks_the_device_to_resend(mosquitto, worker, recorder):
    device = BareDevice(mosquitto.url)
    receipts = make_chain(10)
    device.send(receipts[:4] + receipts[5:])
    deadline = time.monotonic() + 10
    while not device.commands and time.monotonic() < deadline:
        time.sleep(0.05)
    assert device.commands, "no resend command for the gap"
    command = device.commands[0]
    assert command["command"] == "resend" and command["args"] == {"from_seq": 5, "to_seq": 5, "epoch": "7f3a9c2e"}
    device.send([receipts[4]])
    device.publish(device.topics.command_results,
                   json.dumps({"command_id": command["command_id"], "ok": True, "detail": "1 receipt queued"}))
    assert device.wait_acked({receipts[4]["receipt_id"]}) == set()
    assert_exactly_once(worker.db_path, 10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        answered = db_query(worker.db_path, "SELECT ok, detail FROM commands WHERE command_id=?", command["command_id"])
        if answered and answered[0][0] is not None:
            break
        time.sleep(0.05)
    assert answered == [(1, "1 receipt queued")]
    assert FleetDb(f"sqlite:///{worker.db_path}").gaps() == []
    device.close()


def test_two_workers_share_the_load_and_survive_one_being_killed(mosquitto, tmp_path, recorder):
    db = tmp_path / "fleet.db"
    FleetDb(f"sqlite:///{db}").close()
    workers = [IngestProcess(mosquitto.url, db, tmp_path, client_id=f"ingest-{i}", args=("--unsigned",)).start()
               for i in (1, 2)]
    device = BareDevice(mosquitto.url)
    receipts = make_chain(3000)
    for i in range(0, 3000, 300):
        device.send(receipts[i:i + 300])
        if i == 1200:
            workers[0].kill()
    # what the register does for delivered-but-unconfirmed receipts: send them again
    ids = {r["receipt_id"] for r in receipts}
    for _round in range(5):
        missing = device.wait_acked(ids, timeout=3)
        if not missing:
            break
        device.send([r for r in receipts if r["receipt_id"] in missing])
    assert device.wait_acked(ids, timeout=1) == set()
    assert_exactly_once(db, 3000)
    per_worker = db_query(db, "SELECT COUNT(*) FROM receipts")
    assert per_worker == [(3000,)]
    assert "subscribed" in workers[1].log()
    assert workers[1].stop() == 0
    device.close()
