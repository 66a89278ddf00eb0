"""The whole appliance with a real broker and the fleet's ingest: offline sales drain, get confirmed, prices arrive."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from firmware.bootstrap import bootstrap, demo_catalog_payload, demo_config, seed_demo
from tests.fleet.kassa_fleet_support import ROOT, IngestProcess, db_query
from tests.support.mosquitto import Mosquitto

pytestmark = pytest.mark.slow  # whole appliance: register, brokers and ingest in processes

PENCIL = "4006381333931"


def pump_until(reg, predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reg.pump()
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}; view: {reg.view().sync}")


def test_offline_sales_reach_the_fleet_once_and_catalog_updates_reach_the_register(tmp_path):
    broker = Mosquitto(tmp_path / "broker")  # port chosen now, broker not started: the shop is offline
    data = tmp_path / "data"
    pins = seed_demo(data)
    config = demo_config(
        data,
        broker_url=broker.url,
        hardware={"scanner": "simulated:memory"},
        broker={"url": broker.url, "resend_after": 5, "keepalive": 5, "backoff_cap": 1},
    )
    reg = bootstrap(config, demo_pins=pins)
    ingest = None
    try:
        assert reg.login("c1", "1111").ok
        for _ in range(3):
            reg.scan(PENCIL)
            assert reg.tender("cash", 200).ok
            reg.wait_idle()
            assert reg.view().last_receipt.to_doc()["offline"] is True
            reg.new_sale()
        pump_until(reg, lambda: reg.view().sync.pending == 3, what="3 pending receipts")
        assert not reg.view().sync.online

        broker.start()
        db = tmp_path / "fleet.db"
        ingest = IngestProcess(broker.url, db, tmp_path, args=("--unsigned",)).start()  # the register pins no key
        pump_until(reg, lambda: reg.view().sync.online, what="the link to come up")
        pump_until(reg, lambda: reg.view().sync.pending == 0, what="all receipts confirmed")
        rows = db_query(db, "SELECT receipt_id FROM receipts ORDER BY receipt_id")
        assert sorted(r[0] for r in rows) == sorted(r["receipt_id"] for r in reg.journal.iter_receipts())

        catalog = demo_catalog_payload()
        catalog["version"] = 2
        catalog["items"][0]["price"] = 149
        path = tmp_path / "catalog.json"
        path.write_text(json.dumps(catalog))
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "fleet.cli",
                "publish-catalog",
                str(path),
                "--broker",
                broker.url,
                "--store",
                "DEMO",
                "--unsigned",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        pump_until(reg, lambda: reg.catalog.version == 2, what="catalog version 2")
        reg.scan(PENCIL)
        assert reg.view().lines[0].unit_price == 149
    finally:
        if ingest is not None:
            ingest.kill()
        reg.shutdown()
        broker.kill()


def test_fleet_asks_for_an_x_report_and_gets_it_but_never_a_z(tmp_path):
    import threading

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    broker = Mosquitto(tmp_path / "broker").start()
    data = tmp_path / "data"
    pins = seed_demo(data)
    config = demo_config(data, broker_url=broker.url, hardware={"scanner": "simulated:memory"})
    reg = bootstrap(config, demo_pins=pins)
    got: dict[str, list[dict]] = {"command_results": [], "reports": []}
    arrived = threading.Event()

    def on_message(client, userdata, msg):
        got[msg.topic.rsplit("/", 1)[1]].append(json.loads(msg.payload))
        arrived.set()

    fleet = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    fleet.on_message = on_message
    fleet.connect("127.0.0.1", broker.port)
    fleet.loop_start()
    try:
        fleet.subscribe([("kassa/v1/DEMO/R1/command_results", 1), ("kassa/v1/DEMO/R1/reports", 1)])
        pump_until(reg, lambda: reg.view().sync.online, what="the link to come up")
        assert reg.login("c1", "1111").ok
        reg.scan(PENCIL)
        reg.tender("cash", 200)
        reg.wait_idle()
        for command_id, kind in (("cmd-x", "x"), ("cmd-z", "z")):
            fleet.publish(
                "kassa/v1/DEMO/R1/commands",
                json.dumps({"command_id": command_id, "command": "report", "args": {"kind": kind}}),
                qos=1,
            )
        pump_until(reg, lambda: len(got["command_results"]) == 2 and got["reports"], what="answers and the X report")
        answers = {a["command_id"]: a for a in got["command_results"]}
        assert answers["cmd-x"]["ok"] is True and answers["cmd-z"]["ok"] is False
        [report] = got["reports"]
        assert report["kind"] == "x" and report["sales"]["count"] == 1
        assert reg.journal.get_state("counters", "z") is None  # the day was not closed remotely
    finally:
        fleet.loop_stop()
        fleet.disconnect()
        reg.shutdown()
        broker.kill()
