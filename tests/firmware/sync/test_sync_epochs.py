"""Contract 1.1 on the device, through a real broker: the hello (status first, receipts wait for the fleet's
head), rollback detection by the fleet's head, conflicts set aside for good, and resend by epoch."""

from __future__ import annotations

import json
import queue
import shutil
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.subscribeoptions import SubscribeOptions

from firmware.clock import SystemClock
from firmware.contract import DeviceTopics
from firmware.journal.delivery import CONFLICT
from firmware.sync import JournalRolledBack, ReceiptsConflicted, SyncService
from tests.contract.kassa_recorder import SchemaRecorder
from tests.firmware.sync.kassa_sync_support import commit, device_config, open_journal, wait_for

pytestmark = pytest.mark.slow  # real brokers killed, restarted and cut off mid-drain


class FleetProbe:
    """A bare client playing the fleet: records the device's status, receipts and answers; speaks on acks."""

    def __init__(self, url: str, store: str = "S001", register: str = "R1") -> None:
        host, port = url.removeprefix("mqtt://").split(":")
        self.topics = DeviceTopics(store, register)
        self.seen: list[tuple[float, str, dict[str, Any]]] = []  # (monotonic, leaf, payload)
        self.lock = threading.Lock()
        ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{store}-{register}",
                                  protocol=mqtt.MQTTv5)
        t = self.topics
        self.client.on_connect = lambda c, *_a: c.subscribe(
            [(t.status, SubscribeOptions(qos=1)), (t.receipts, SubscribeOptions(qos=1)),
             (t.command_results, SubscribeOptions(qos=1))])
        self.client.on_subscribe = lambda *_a: ready.set()
        self.client.on_message = self._on_message
        self.client.connect(host, int(port))
        self.client.loop_start()
        assert ready.wait(10)

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if not msg.payload:
            return
        with self.lock:
            self.seen.append((time.monotonic(), msg.topic.rsplit("/", 1)[1], json.loads(msg.payload)))

    def of(self, leaf: str) -> list[tuple[float, dict[str, Any]]]:
        with self.lock:
            return [(at, doc) for at, kind, doc in self.seen if kind == leaf]

    def statuses(self) -> list[dict[str, Any]]:
        return [doc for _at, doc in self.of("status") if doc.get("state") == "online"]

    def receipt_seqs(self) -> list[int]:
        return [doc["seq"] for _at, doc in self.of("receipts")]

    def acks(self, **body: Any) -> None:
        self.client.publish(self.topics.acks, json.dumps({"receipt_ids": [], **body}), qos=1).wait_for_publish(5)

    def command(self, body: dict[str, Any]) -> None:
        self.client.publish(self.topics.commands, json.dumps(body), qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def probe(mosquitto):
    p = FleetProbe(mosquitto.url)
    yield p
    p.close()


@pytest.fixture
def device(mosquitto, tmp_path):
    """device(n, hello_timeout=...) -> (service, journal, events), with n receipts committed before it starts."""
    started: list[tuple[SyncService, Any]] = []

    def make(n: int = 3, **kw: Any):
        journal = open_journal(tmp_path / "dev")
        commit(journal, n)
        events: queue.Queue = queue.Queue()
        service = SyncService(device_config(mosquitto.url, tmp_path / "dev"), journal, SystemClock(), events, **kw)
        started.append((service, journal))
        service.start()
        return service, journal, events

    yield make
    for service, journal in started:
        service.stop()
        journal.close()


def events_of(events: queue.Queue, kind: type) -> list[Any]:
    return [e for e in list(events.queue) if isinstance(e, kind)]


def test_status_goes_first_and_receipts_wait_for_the_fleets_head(device, probe, mosquitto):
    recorder = SchemaRecorder(mosquitto.url)
    try:
        service, journal, _events = device(3, hello_timeout=60)
        [hello] = wait_for(lambda: probe.statuses(), 10, "the status")
        assert hello["epoch"] == journal.epoch and hello["epoch_first_seq"] == 1
        assert (hello["head_seq"], hello["head_hash"]) == (3, journal.last_hash)
        assert (hello["conflicts"], hello["rollbacks"]) == (0, 0)
        time.sleep(2.0)  # well past a round trip: a device that did not wait would have sent all three
        assert probe.receipt_seqs() == [] and service.state().pending == 3
        probe.acks(head={"epoch": journal.epoch, "seq": 0})  # the fleet holds nothing of this epoch yet
        wait_for(lambda: sorted(probe.receipt_seqs()) == [1, 2, 3], 10, "receipts after the head")
        assert journal.epoch == hello["epoch"] and len(journal.epochs) == 1  # a head it agrees with: no new epoch
    finally:
        recorder.close()
    assert recorder.problems == []


def test_an_unanswered_status_is_sent_again_while_receipts_wait(device, probe):
    """The fleet answers one status per device every few seconds: the one sent on connect may go unanswered."""
    _service, journal, _events = device(2, hello_timeout=60)
    wait_for(lambda: len(probe.statuses()) >= 2, 8, "the status again")
    [(first_at, _a), (again_at, again)] = [(at, d) for at, d in probe.of("status")][:2]
    assert again_at - first_at >= 2.5 and again["head_seq"] == 2
    assert probe.receipt_seqs() == []
    probe.acks(head={"epoch": journal.epoch, "seq": 2, "hash": journal.last_hash})  # the answer to the second one
    wait_for(lambda: sorted(probe.receipt_seqs()) == [1, 2], 10, "receipts after the head")
    assert len(journal.epochs) == 1


def test_without_an_answer_receipts_go_out_after_the_hello_timeout(device, probe):
    _service, journal, _events = device(2, hello_timeout=2.5)
    [(status_at, _hello)] = wait_for(lambda: probe.of("status"), 10, "the status")
    wait_for(lambda: sorted(probe.receipt_seqs()) == [1, 2], 15, "receipts after the timeout")
    first_receipt_at = min(at for at, _doc in probe.of("receipts"))
    assert first_receipt_at - status_at >= 2.0  # held back for the timeout (less the status' own trip)
    assert len(journal.epochs) == 1


@pytest.mark.parametrize("why", ["fleet holds more", "fleet holds another receipt"])
def test_a_head_beyond_the_journal_opens_a_new_epoch_and_the_status_says_so(device, probe, why):
    service, journal, events = device(3, hello_timeout=60)
    old = journal.epoch
    wait_for(lambda: probe.statuses(), 10, "the status")
    head = {"epoch": old, "seq": 6, "hash": "ab" * 32} if why == "fleet holds more" else \
        {"epoch": old, "seq": 2, "hash": "cd" * 32}
    probe.acks(head=head)
    new = wait_for(lambda: journal.epoch if journal.epoch != old else None, 10, "a new epoch")
    [event] = wait_for(lambda: events_of(events, JournalRolledBack), 5, "the event")
    assert (event.old_epoch, event.new_epoch, event.fleet_seq, event.journal_seq) == (old, new, head["seq"], 3)
    assert journal.epoch_first_seq == 4
    assert journal.epochs[-1]["reason"].startswith(
        f"rolled back: fleet holds seq {head['seq']} of epoch {old}, journal ended at 3")
    status = wait_for(lambda: next((s for s in probe.statuses() if s.get("epoch") == new), None), 5,
                      "the status again, in the new epoch")
    assert (status["epoch_first_seq"], status["head_seq"], status["rollbacks"]) == (4, 3, 1)
    assert service.state().rollbacks == 1 and service.state().epoch == new
    wait_for(lambda: sorted(probe.receipt_seqs()) == [1, 2, 3], 10, "the old epoch's receipts still go out")
    commit(journal, 1)
    assert journal.get_seq(4)["receipt_id"] == f"S001:R1:{new}:4"
    wait_for(lambda: 4 in probe.receipt_seqs(), 10, "the new receipt")
    probe.acks(head={"epoch": old, "seq": 9, "hash": "ef" * 32})  # a late answer about the old epoch
    probe.acks(head={"epoch": new, "seq": 4, "hash": journal.last_hash})  # and one that agrees
    time.sleep(1.0)
    assert journal.epoch == new and len(journal.epochs) == 2 and len(events_of(events, JournalRolledBack)) == 1


def test_conflicting_ids_are_set_aside_and_never_sent_again(device, probe):
    service, journal, events = device(3, hello_timeout=60)
    wait_for(lambda: probe.statuses(), 10, "the status")
    probe.acks(head={"epoch": journal.epoch, "seq": 0})
    wait_for(lambda: sorted(probe.receipt_seqs()) == [1, 2, 3], 10, "receipts")
    ids = [journal.get_seq(s)["receipt_id"] for s in (1, 2, 3)]
    probe.acks(receipt_ids=[ids[0]], conflict_ids=[ids[1]] + [f"S001:R1:zz:{s}" for s in range(1, 500)])
    wait_for(lambda: service.state().conflicts == 1, 10, "the conflict counted")
    # the same acks message confirms seq 1 right after it sets seq 2 aside: wait for both, not one
    wait_for(lambda: journal.delivery(1)["state"] == "confirmed", 5, "seq 1 confirmed")
    assert (journal.delivery(2)["state"], journal.delivery(2)["error"]) == ("quarantined", CONFLICT)
    assert [e.seqs for e in events_of(events, ReceiptsConflicted)] == [(2,)]
    wait_for(lambda: any(s.get("conflicts") == 1 for s in probe.statuses()), 5, "the status with the conflict")
    service.retry_quarantined()  # the cashier presses "Retry": a conflict is not retried
    # seq 3 is delivered but never confirmed: it goes out again after resend_after (5 s); seq 2 never does
    wait_for(lambda: probe.receipt_seqs().count(3) >= 2, 20, "seq 3 sent again")
    time.sleep(1.0)
    assert probe.receipt_seqs().count(2) == 1 and probe.receipt_seqs().count(1) == 1
    assert journal.delivery(2)["state"] == "quarantined" and service.state().quarantined == 1


def test_resend_by_epoch_sends_only_that_epochs_receipts(device, probe):
    _service, journal, _events = device(3, hello_timeout=60)
    first = journal.epoch
    journal.open_epoch("test")
    commit(journal, 2)
    second = journal.epoch
    wait_for(lambda: any(s.get("epoch") == second for s in probe.statuses()), 10, "the status")
    probe.acks(head={"epoch": second, "seq": 5, "hash": journal.last_hash})
    wait_for(lambda: sorted(probe.receipt_seqs()) == [1, 2, 3, 4, 5], 10, "receipts")
    with probe.lock:
        probe.seen.clear()
    probe.command({"command_id": "a", "command": "resend", "args": {"from_seq": 1, "to_seq": 5, "epoch": first}})
    probe.command({"command_id": "b", "command": "resend", "args": {"from_seq": 1, "to_seq": 5, "epoch": "nope"}})
    answers = wait_for(lambda: {d["command_id"]: d for _a, d in probe.of("command_results")} if
                       len(probe.of("command_results")) == 2 else None, 10, "both answers")
    assert answers["a"]["ok"] and answers["a"]["detail"] == "3 receipts queued"
    assert not answers["b"]["ok"] and "nope" in answers["b"]["detail"]
    wait_for(lambda: sorted(probe.receipt_seqs()) == [1, 2, 3], 10, "the first epoch's receipts")
    time.sleep(0.5)
    assert sorted(probe.receipt_seqs()) == [1, 2, 3]


def test_a_restored_journal_against_the_real_fleet_never_reuses_an_id(mosquitto, tmp_path):
    """Sync 6 receipts, put back a copy of the data dir taken at 3, sell 2 more offline, reconnect: the fleet's
    head opens a new epoch, the 2 offline sales (ids the fleet holds other receipts under) are set aside as
    conflicts, and the next sale is confirmed under the new epoch."""
    from tests.firmware.sync.test_sync_drain import Fleet
    from tests.fleet.kassa_fleet_support import db_query

    data, copy, db = tmp_path / "dev", tmp_path / "copy", tmp_path / "fleet.db"
    journal = open_journal(data)
    epoch = journal.epoch
    commit(journal, 3)
    journal.close()
    shutil.copytree(data, copy)
    fleet = Fleet(mosquitto.url, db)
    try:
        journal = open_journal(data)
        commit(journal, 3)
        events: queue.Queue = queue.Queue()
        service = SyncService(device_config(mosquitto.url, data), journal, SystemClock(), events)
        service.start()
        wait_for(lambda: service.state().confirmed == 6, 30, "6 confirmed")
        service.stop()
        journal.close()
        shutil.rmtree(data)
        shutil.copytree(copy, data)  # the card is replaced by the backup

        journal = open_journal(data)
        assert journal.next_seq == 4 and journal.epoch == epoch
        offline = commit(journal, 2, pad=1)  # seq 4 and 5 again, other sales: the fleet holds different ones
        events = queue.Queue()
        service = SyncService(device_config(mosquitto.url, data), journal, SystemClock(), events)
        service.start()
        try:
            new = wait_for(lambda: journal.epoch if journal.epoch != epoch else None, 20, "a new epoch")
            assert journal.epoch_first_seq == 6
            wait_for(lambda: service.state().conflicts == 2, 30, "the offline sales set aside as conflicts")
            assert {journal.delivery(s)["error"] for s in (4, 5)} == {CONFLICT}
            [sale] = commit(journal, 1)
            assert sale["receipt_id"] == f"S001:R1:{new}:6"
            wait_for(lambda: journal.delivery(6)["state"] == "confirmed", 30, "the new sale confirmed")
        finally:
            service.stop()
            journal.close()
        rows = db_query(db, "SELECT receipt_id, hash FROM receipts WHERE register='R1' ORDER BY seq")
        ids = [r[0] for r in rows]
        assert len(ids) == len(set(ids)) == 7 and f"S001:R1:{new}:6" in ids
        assert {offline[0]["hash"], offline[1]["hash"]}.isdisjoint(r[1] for r in rows)
    finally:
        fleet.close()
