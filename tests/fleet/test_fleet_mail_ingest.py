"""E-mail receipts through the fleet (docs/digital-receipts.md): a request over a real Mosquitto into the real
ingest (SQLite and PostgreSQL) lands in `mail_requests` and is confirmed on `mail_acks`; `kassa-fleet mailer`
sends it once to a real SMTP sink (aiosmtpd); a hostile address is refused on `mail_acks` and never stored."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.subscribeoptions import SubscribeOptions

from firmware.contract import DeviceTopics, decode
from firmware.contract.mail import MailAcks, message_id
from fleet.db import FleetDb
from fleet.ingest import IngestOptions
from fleet.report import status_rows
from tests.contract.kassa_samples import make_receipt
from tests.fleet.kassa_fleet_support import ROOT, BareDevice, ingest_thread, wait_for
from tests.fleet.test_fleet_mailer import Sink

pytestmark = pytest.mark.slow  # real broker, real ingest, real SMTP sink, both databases

DOMAIN = "fleet.example"


class MailAcksListener:
    def __init__(self, url: str, topics: DeviceTopics) -> None:
        host, port = url.removeprefix("mqtt://").split(":")
        self.acks: list[MailAcks] = []
        self.lock = threading.Lock()
        ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="mail-acks", protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, *_a: c.subscribe([(topics.mail_acks, SubscribeOptions(qos=1))])
        self.client.on_subscribe = lambda *_a: ready.set()
        self.client.on_message = lambda _c, _u, m: self._got(decode(MailAcks, m.payload))
        self.client.connect(host, int(port))
        self.client.loop_start()
        assert ready.wait(10)

    def _got(self, acks: MailAcks) -> None:
        with self.lock:
            self.acks.append(acks)

    def accepted(self) -> set[str]:
        with self.lock:
            return {i for a in self.acks for i in a.request_ids}

    def refused(self) -> dict[str, str]:
        with self.lock:
            return {k: v for a in self.acks for k, v in a.refused.items()}

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def worker(mosquitto, fleet_url):
    with ingest_thread(mosquitto.url, fleet_url, IngestOptions(client_id="ingest-mail", mail_domain=DOMAIN)) as w:
        yield w


def request(seq: int, receipt_id: str, address: str) -> dict[str, Any]:
    return {"request_id": f"S001:R1:7f3a9c2e:{seq}", "store": "S001", "register": "R1", "receipt_id": receipt_id,
            "address": address, "requested_at": "2026-11-25T14:05:00Z", "clerk_id": "c7"}


def test_a_mail_request_is_accepted_over_the_broker_and_mailed_once(mosquitto, worker, tmp_path):
    device = BareDevice(mosquitto.url)
    listener = MailAcksListener(mosquitto.url, device.topics)
    receipt = make_receipt(id_store="S001")
    device.send([receipt])
    assert device.wait_acked({receipt["receipt_id"]}) == set()
    ok = request(1, receipt["receipt_id"], "anna@example.com")
    hostile = request(2, receipt["receipt_id"], "anna@example.com\r\nBcc: all@example.com")
    for doc in (ok, hostile):
        device.publish(device.topics.mail_requests, json.dumps(doc))
    wait_for(lambda: ok["request_id"] in listener.accepted() and hostile["request_id"] in listener.refused(),
             what="the mail acks")
    assert hostile["request_id"] not in listener.accepted()
    device.publish(device.topics.mail_requests, json.dumps(ok))  # a re-send is confirmed again, stored once
    wait_for(lambda: worker.stats.mail_requests == 2, what="the re-send's confirmation")
    url = worker.db.url
    with Sink() as sink:
        config = tmp_path / "fleet.toml"
        config.write_text(f"""
[mail]
sender = "Papier & Co <receipts@papier.example>"
message_id_domain = "{DOMAIN}"
receipt_page = "https://receipts.example"
default_time_zone = "Europe/Berlin"
worker = "w1"
[mail.smtp]
host = "127.0.0.1"
port = {sink.port}
starttls = false
timeout = 10
[mail.headers]
S001 = ["Papier & Co", "Hauptstr. 1, 10115 Berlin"]
""", encoding="utf-8")
        for _ in range(2):  # the second pass finds nothing due: sent once
            out = subprocess.run([sys.executable, "-m", "fleet.cli", "mailer", "--db", url, "--config", str(config),
                                  "--once"], cwd=ROOT, capture_output=True, text=True, timeout=60)
            assert out.returncode == 0, out.stderr
        [mail] = sink.messages
    assert mail["To"] == "anna@example.com"
    assert mail["Message-ID"] == message_id(ok["request_id"], DOMAIN)
    assert "Pencil HB" in mail.get_content()
    db = FleetDb(url, migrate=False)
    try:
        [row] = [r for r in status_rows(db) if r["register"] == "R1"]
        assert row["mail"] == {"sent": 1}
    finally:
        db.close()
    listener.close()
    device.close()
