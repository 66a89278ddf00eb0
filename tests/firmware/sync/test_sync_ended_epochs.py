"""Contract 1.2 on the device: the last will names epoch and head (as of each connect), and an epoch the journal
lost is read back from the register's own retained status and named in `ended_epochs` (firmware/sync/ended.py)."""

from __future__ import annotations

import json
import queue
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from firmware.chain import canonical_json
from firmware.clock import SystemClock
from firmware.contract import DeviceTopics
from firmware.contract.payloads import MAX_ENDED_EPOCHS
from firmware.sync import SyncService
from firmware.sync.ended import STATE, EndedEpochs
from tests.contract.kassa_recorder import SchemaRecorder
from tests.firmware.sync.kassa_sync_support import commit, device_config, open_journal, wait_for
from tests.support.proxy import TcpProxy

TOPICS = DeviceTopics("S001", "R1")


def status_bytes(epoch: str, head_seq: int, **fields: Any) -> bytes:
    return canonical_json({"state": "online", "at": "2026-11-25T10:00:00Z", "epoch": epoch, "epoch_first_seq": 1,
                           "head_seq": head_seq, **fields})


# ---- EndedEpochs on a real journal ----


def test_an_epoch_the_journal_does_not_hold_is_kept_in_the_journal(tmp_path):
    journal = open_journal(tmp_path / "dev")
    try:
        commit(journal, 2)
        ended = EndedEpochs(journal)
        assert ended.entries() is None
        assert ended.observe(status_bytes(journal.epoch, 2)) == []  # its own epoch: nothing ended
        found = ended.observe(status_bytes("0ld3p0ch", 3, head_hash="a" * 64))
        assert [(e.epoch, e.head_seq, e.head_hash) for e in found] == [("0ld3p0ch", 3, "a" * 64)]
        assert ended.observe(status_bytes("0ld3p0ch", 3)) == []  # said again: nothing new
        assert ended.observe(status_bytes("0ld3p0ch", 2)) == []  # a lower head: the head only grows
        grown = ended.observe(status_bytes("0ld3p0ch", 5))
        assert [(e.epoch, e.head_seq) for e in grown] == [("0ld3p0ch", 5)]
        assert set(journal.states(STATE)) == {"0ld3p0ch"}
    finally:
        journal.close()
    journal = open_journal(tmp_path / "dev")  # durable: a restart still knows it
    try:
        assert [(e.epoch, e.head_seq) for e in EndedEpochs(journal).entries() or []] == [("0ld3p0ch", 5)]
    finally:
        journal.close()


def test_the_ended_epochs_of_the_retained_status_are_taken_over_and_kept_bounded(tmp_path):
    journal = open_journal(tmp_path / "dev")
    try:
        ended = EndedEpochs(journal)
        # a journal lost twice before any fleet heard: the retained status of the second names the first
        ended.observe(status_bytes("second", 4, ended_epochs=[{"epoch": "first", "first_seq": 1, "head_seq": 9},
                                                              {"epoch": journal.epoch, "head_seq": 1}]))
        assert [(e.epoch, e.head_seq) for e in ended.entries() or []] == [("first", 9), ("second", 4)]
        for i in range(20):
            ended.observe(status_bytes(f"later{i:02d}", i))
        kept = [e.epoch for e in ended.entries() or []]
        assert kept == [f"later{i:02d}" for i in range(20 - MAX_ENDED_EPOCHS, 20)]  # the last 16
        assert sorted(journal.states(STATE)) == sorted(kept)
        assert ended.observe(b"not json") == [] and ended.observe(b"") == []
    finally:
        journal.close()


# ---- through a real broker ----


class StatusProbe:
    """A bare client on the register's status topic: puts a retained status there, records what arrives."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("mqtt://").split(":")
        self.seen: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="status-probe", protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, *_a: c.subscribe(TOPICS.status, qos=1)
        self.client.on_subscribe = lambda *_a: ready.set()
        self.client.on_message = self._on_message
        self.client.connect(host, int(port))
        self.client.loop_start()
        assert ready.wait(10)

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.payload:
            with self.lock:
                self.seen.append(json.loads(msg.payload))

    def retain(self, payload: bytes) -> None:
        self.client.publish(TOPICS.status, payload, qos=1, retain=True).wait_for_publish(5)

    def last(self) -> dict[str, Any]:
        with self.lock:
            return dict(self.seen[-1]) if self.seen else {}

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.slow
def test_a_lost_epoch_in_the_retained_status_goes_into_every_status(mosquitto, tmp_path):
    probe = StatusProbe(mosquitto.url)
    recorder = SchemaRecorder(mosquitto.url)
    probe.retain(status_bytes("0ld3p0ch", 3, head_hash="b" * 64))  # what the deleted journal said last
    journal = open_journal(tmp_path / "dev")
    service = SyncService(device_config(mosquitto.url, tmp_path / "dev"), journal, SystemClock(), queue.Queue(),
                          hello_timeout=0.5)
    service.start()
    try:
        wait_for(lambda: probe.last().get("ended_epochs"), 20, "a status naming the ended epoch")
        status = probe.last()
        assert status["epoch"] == journal.epoch and status["state"] == "online"
        assert status["ended_epochs"] == [{"epoch": "0ld3p0ch", "first_seq": 1, "head_seq": 3, "head_hash": "b" * 64}]
        assert set(journal.states(STATE)) == {"0ld3p0ch"}
        commit(journal, 1)  # later statuses still name it (an echo of its own status is not read back as news)
        wait_for(lambda: probe.last().get("head_seq") == 1, 20, "a later status")
        assert probe.last()["ended_epochs"] == status["ended_epochs"]
    finally:
        service.stop()
        journal.close()
        probe.close()
        recorder.close()
    assert probe.last()["state"] == "offline" and probe.last()["ended_epochs"] == status["ended_epochs"]
    assert recorder.problems == []


@pytest.mark.slow
def test_the_last_will_names_epoch_and_head_as_of_each_connect(mosquitto, tmp_path):
    probe = StatusProbe(mosquitto.url)
    proxy = TcpProxy(mosquitto.port)
    journal = open_journal(tmp_path / "dev")
    commit(journal, 2)
    service = SyncService(device_config(proxy.url, tmp_path / "dev"), journal, SystemClock(), queue.Queue(),
                          hello_timeout=0.5)
    service.start()
    try:
        wait_for(lambda: probe.last().get("state") == "online", 20, "online")
        commit(journal, 3)  # the will of this connection still says 2
        wait_for(lambda: probe.last().get("head_seq") == 5, 20, "the status with head 5")
        proxy.cut()  # no DISCONNECT: the broker publishes the will
        wait_for(lambda: probe.last().get("state") == "offline", 10, "the will")
        first = probe.last()
        assert first == {"state": "offline", "epoch": journal.epoch, "epoch_first_seq": 1, "head_seq": 2,
                         "head_hash": journal.get_seq(2)["hash"]}
        wait_for(lambda: probe.last().get("state") == "online", 30, "back online")
        time.sleep(0.5)
        proxy.close()  # the link goes and stays gone: the will set at the reconnect
        wait_for(lambda: probe.last().get("state") == "offline", 10, "the second will")
        assert probe.last()["head_seq"] == 5 and probe.last()["head_hash"] == journal.last_hash
        assert "at" not in probe.last()
    finally:
        service.stop()
        journal.close()
        probe.close()
