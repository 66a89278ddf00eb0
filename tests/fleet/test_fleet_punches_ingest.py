"""Time clock punches through the fleet (docs/timeclock.md): a real Mosquitto, the real ingest on SQLite and
PostgreSQL, PunchAcks after the commit, duplicates confirmed again, conflicts and bad hashes never confirmed, and
`kassa-fleet hours` over what was stored."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.subscribeoptions import SubscribeOptions

from firmware.contract import DeviceTopics, decode
from firmware.contract.chain import GENESIS, canonical_json
from firmware.contract.timeclock import PunchAcks, punch_id, seal_punch
from fleet.db import FleetDb
from fleet.ingest import IngestOptions
from fleet.report import status_rows
from tests.fleet.kassa_fleet_support import ROOT, ingest_thread, wait_for

pytestmark = pytest.mark.slow  # real broker, real ingest, both databases

BERLIN = ZoneInfo("Europe/Berlin")


def chain(register: str, punches: list[tuple[str, str, str]], epoch: str = "e1") -> list[dict[str, Any]]:
    """(clerk, kind, local Berlin time) in order, sealed as register `register` would journal them."""
    out, prev = [], GENESIS
    for seq, (clerk, kind, local) in enumerate(punches, 1):
        at = datetime.fromisoformat(local).replace(tzinfo=BERLIN).astimezone(ZoneInfo("UTC"))
        doc = seal_punch({"punch_id": punch_id("S001", register, epoch, seq), "store": "S001", "register": register,
                          "seq": seq, "clerk_id": clerk, "kind": kind, "clock_trusted": True,
                          "at": at.strftime("%Y-%m-%dT%H:%M:%S.000Z")}, prev)
        prev = doc["hash"]
        out.append(doc)
    return out


class PunchDevice:
    """A register's punch link with bare paho: publishes punches, records its punch_acks."""

    def __init__(self, url: str, register: str) -> None:
        host, port = url.removeprefix("mqtt://").split(":")
        self.topics = DeviceTopics("S001", register)
        self.acked: set[str] = set()
        self.conflicts: set[str] = set()
        self.lock = threading.Lock()
        ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"punch-{register}", protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, *_a: c.subscribe([(self.topics.punch_acks, SubscribeOptions(qos=1))])
        self.client.on_subscribe = lambda *_a: ready.set()
        self.client.on_message = self._on_message
        self.client.connect(host, int(port))
        self.client.loop_start()
        assert ready.wait(10)

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        acks = decode(PunchAcks, msg.payload)
        with self.lock:
            self.acked.update(acks.punch_ids)
            self.conflicts.update(acks.conflict_ids)

    def send(self, docs: list[dict[str, Any]]) -> None:
        for doc in docs:
            self.client.publish(self.topics.punches, canonical_json(doc), qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def worker(mosquitto, fleet_url):
    with ingest_thread(mosquitto.url, fleet_url, IngestOptions(client_id="ingest-punches")) as w:
        yield w


def test_punches_are_stored_confirmed_and_reported_as_hours_across_registers(mosquitto, worker):
    r1, r2 = PunchDevice(mosquitto.url, "R1"), PunchDevice(mosquitto.url, "R2")
    one = chain("R1", [("c7", "clock_in", "2026-11-25 22:00"), ("m1", "clock_in", "2026-11-25 09:00"),
                       ("m1", "clock_out", "2026-11-25 17:00")])
    two = chain("R2", [("c7", "break_start", "2026-11-26 01:00"), ("c7", "break_end", "2026-11-26 01:30"),
                       ("c7", "clock_out", "2026-11-26 06:00")])
    r1.send(one)
    r2.send(two)
    wait_for(lambda: r1.acked == {d["punch_id"] for d in one} and r2.acked == {d["punch_id"] for d in two},
             what="punch acks")
    # a re-send is confirmed again and stored once
    before = worker.stats.punches
    r1.send(one[:1])
    wait_for(lambda: worker.stats.punches == before + 1, what="the duplicate's confirmation")
    url = worker.db.url
    out = subprocess.run([sys.executable, "-m", "fleet.cli", "hours", "--db", url, "--store", "S001",
                          "--from", "2026-11-25", "--to", "2026-11-26", "--tz", "Europe/Berlin", "--z", "--json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert [(r["day"], r["clerk_id"], r["worked_seconds"] / 3600, r["break_seconds"] / 3600)
            for r in payload["days"]] == [("2026-11-25", "c7", 2.0, 0.0), ("2026-11-25", "m1", 8.0, 0.0),
                                          ("2026-11-26", "c7", 5.5, 0.5)]
    table = subprocess.run([sys.executable, "-m", "fleet.cli", "hours", "--db", url, "--store", "S001",
                            "--from", "2026-11-26", "--to", "2026-11-26", "--tz", "Europe/Berlin", "--z"],
                           cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert table.returncode == 0, table.stderr
    assert "5:30    0:30" in table.stdout and "m1" not in table.stdout
    r1.close()
    r2.close()


def test_a_conflicting_punch_and_a_bad_hash_are_never_confirmed(mosquitto, worker):
    device = PunchDevice(mosquitto.url, "R1")
    held = chain("R1", [("c7", "clock_in", "2026-11-25 08:00")])
    device.send(held)
    wait_for(lambda: held[0]["punch_id"] in device.acked, what="the first punch's ack")
    other = chain("R1", [("m1", "clock_in", "2026-11-25 08:05")])  # same key, another punch
    device.send(other)
    wait_for(lambda: other[0]["punch_id"] in device.conflicts, what="the conflict answer")
    forged = dict(chain("R1", [("c7", "clock_out", "2026-11-25 17:00")])[0], seq=2,
                  punch_id=punch_id("S001", "R1", "e1", 2))  # fields changed after sealing: hash does not match
    device.send([forged])
    wait_for(lambda: worker.stats.rejected == 1, what="the bad hash's reject")
    assert forged["punch_id"] not in device.acked
    db = FleetDb(worker.db.url, migrate=False)
    try:
        [row] = [r for r in status_rows(db) if r["register"] == "R1"]
        assert [c["punch_id"] for c in row["punch_conflicts"]] == [other[0]["punch_id"]]
        assert any(a.startswith("punch conflict: S001:R1:e1:1") for a in row["alarms"])
        assert len(db.punch_bodies("S001")) == 1
    finally:
        db.close()
    # another register's name on this register's topic is refused
    forged_identity = chain("R2", [("c7", "clock_in", "2026-11-25 08:00")])[0]
    device.client.publish(device.topics.punches, canonical_json(forged_identity), qos=1).wait_for_publish(10)
    wait_for(lambda: worker.stats.rejected == 2, what="the forged identity's reject")
    device.close()
