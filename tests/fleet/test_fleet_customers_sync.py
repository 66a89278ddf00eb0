"""Customer edits from two real registers through a real Mosquitto and the real ingest (SQLite and PostgreSQL) to
one merged, signed, retained customer list and back (docs/customers.md).

The registers are whole: `bootstrap` with the real journal, customer book and sync service, pinning the fleet's
key; the cashier's `SaveCustomer` is the only way an edit is made. The fleet merges per field in its receive
order, so a phone changed on one register and an e-mail changed on the other while both were offline both win;
the list's `heads` drop the registers' pending edits, and their books end up equal. A batch on R1's topic naming
R2 is rejected into `rejects`. A register SIGKILLed right after `SaveCustomer` returned sends the edit after its
restart.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from firmware.bootstrap import bootstrap, demo_config, seed_demo
from firmware.contract import DeviceTopics
from firmware.contract.signing import Signer, parse_private_key
from firmware.register.commands import SaveCustomer
from fleet.customerdb import customer_conflicts
from fleet.db import FleetDb
from fleet.ingest import IngestOptions
from fleet.keys import keygen
from fleet.report import status_rows
from tests.fleet.kassa_fleet_support import ROOT, db_query, ingest_thread, wait_for

pytestmark = pytest.mark.slow  # real broker, real ingest, real registers, both databases

FAST = {"keepalive": 5, "resend_after": 5.0, "status_interval": 5.0, "backoff_cap": 1.0}


@pytest.fixture
def fleet_key(tmp_path) -> tuple[Signer, Path]:
    private, public, _fp = keygen(tmp_path / "fleet-keys")
    return Signer(parse_private_key(private.read_bytes())), public


def start_register(data: Path, broker_url: str, register: str, public: Path) -> Any:
    """A whole register (journal, customer book, sync pinning the fleet key) with Anna (c1) logged in."""
    pins = seed_demo(data)
    config = demo_config(data, broker_url=broker_url, device={"register": register},
                         broker={**FAST, "fleet_key_file": str(public)}, hardware={"scanner": "simulated:memory"})
    reg = bootstrap(config, with_sync=True, demo_pins=pins, ntp_synced=lambda: True)
    assert reg.login("c1", "1111").ok
    return reg


def save(reg: Any, fields: dict[str, Any], customer_id: str = "") -> Any:
    out = reg.handle(SaveCustomer(tuple(fields.items()), customer_id))
    assert out.ok, out.message
    return out.data


def book_of(reg: Any) -> list[tuple[Any, ...]]:
    return sorted((c.customer_id, c.code, c.name, c.phone, c.email, c.consent_email, c.consent_sms)
                  for c in reg.customers.iter_all())


def options(signer: Signer) -> IngestOptions:
    return IngestOptions(gap_check_every=0.2, customers_every=0.2, backoff_cap=0.5, signer=signer.wrap)


def test_edits_on_two_registers_offline_merge_per_field_and_both_books_agree(mosquitto, fleet_url, fleet_key,
                                                                             tmp_path):
    signer, public = fleet_key
    with ingest_thread(mosquitto.url, fleet_url, options(signer)):
        r1 = start_register(tmp_path / "r1", mosquitto.url, "R1", public)
        r2 = start_register(tmp_path / "r2", mosquitto.url, "R2", public)
        try:
            anna = save(r1, {"name": "Anna Schmidt", "code": "card1001", "phone": "+49 151 2345678"})
            wait_for(lambda: r2.customers.get(anna.customer_id) is not None and not r1.customers.pending(), 30,
                     "Anna in the fleet's list on both registers")
            assert r2.customers.get(anna.customer_id).phone == "+49 151 2345678"

            mosquitto.stop()  # both registers offline
            wait_for(lambda: not r1.sync.state().online and not r2.sync.state().online, 20, "both offline")
            save(r1, {"phone": "0171 555 1234"}, anna.customer_id)
            save(r2, {"email": "anna.s@example.org", "consent_email": True}, anna.customer_id)
            bert = save(r1, {"name": "Bert Otto"})
            carla = save(r2, {"name": "Carla Diaz", "code": "CARD1001"})  # Anna's card number, handed out twice
            assert len(r1.customers.pending()) == 2 and len(r2.customers.pending()) == 2
            assert r1.customers.get(anna.customer_id).email == ""  # each register sees only its own edit offline

            mosquitto.start()
            wait_for(lambda: not r1.customers.pending() and not r2.customers.pending()
                     and r1.customers.get(carla.customer_id) is not None
                     and r2.customers.get(bert.customer_id) is not None
                     and book_of(r1) == book_of(r2), 40, "the merged list on both registers, pending edits dropped")
            for reg in (r1, r2):
                merged = reg.customers.get(anna.customer_id)
                # per field: R1's phone and R2's e-mail both win, the rest stays as created
                assert (merged.name, merged.code, merged.phone, merged.email, merged.consent_email) == (
                    "Anna Schmidt", "CARD1001", "0171 555 1234", "anna.s@example.org", True)
                assert [c.customer_id for c in reg.customers.by_code("card1001")] and \
                    {c.customer_id for c in reg.customers.by_code("card1001")} == {anna.customer_id, carla.customer_id}
            assert r1.customers.version == r2.customers.version >= 2
            assert (tmp_path / "r1" / "customer-edits.jsonl").read_text().count("\n") == 1  # header only
        finally:
            r1.shutdown()
            r2.shutdown()

        db = FleetDb(fleet_url)
        try:
            edits = db_query_all(db, "SELECT register, seq, received FROM customer_edits ORDER BY received")
            assert [(r, s) for r, s, _n in edits if r == "R1"] == [("R1", 1), ("R1", 2), ("R1", 3)]
            assert [(r, s) for r, s, _n in edits if r == "R2"] == [("R2", 1), ("R2", 2)]
            assert [n for _r, _s, n in edits] == list(range(1, 6))  # one receive order per store
            assert not customer_conflicts(db)
            alarms = [a for row in status_rows(db) for a in row["alarms"]]
            assert any("card number CARD1001 held twice" in a and anna.customer_id in a and carla.customer_id in a
                       for a in alarms), alarms
        finally:
            db.close()


def db_query_all(db: FleetDb, sql: str) -> list[tuple[Any, ...]]:
    with db.db.transaction() as tx:
        return [tuple(r) for r in tx.rows(sql)]


def test_a_batch_naming_another_register_is_rejected_and_never_merged(mosquitto, fleet_url, fleet_key):
    signer, _public = fleet_key
    forged = ('{"store":"DEMO","register":"R2","edits":[{"customer_id":"DEMO:R2:ab12cd34:1","epoch":"ab12cd34",'
              '"seq":1,"at":"2026-12-01T08:00:00Z","create":true,"changes":{"name":"Mallory"}}]}')
    with ingest_thread(mosquitto.url, fleet_url, options(signer)) as worker:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="forger", protocol=mqtt.MQTTv5)
        client.connect("127.0.0.1", mosquitto.port)
        client.loop_start()
        try:
            client.publish(DeviceTopics("DEMO", "R1").customers, forged, qos=1).wait_for_publish(10)
            wait_for(lambda: worker.stats.rejected >= 1, 20, "the forged batch rejected")
        finally:
            client.disconnect()
            client.loop_stop()
    db = FleetDb(fleet_url)
    try:
        rejects = db_query_all(db, "SELECT topic, reason FROM rejects")
        assert rejects == [("kassa/v1/DEMO/R1/customers",
                            "customer edits name DEMO/R2, not the topic's DEMO/R1")]
        assert db_query_all(db, "SELECT COUNT(*) FROM customer_edits") == [(0,)]
        row = next(r for r in status_rows(db) if (r["store"], r["register"]) == ("DEMO", "R1"))
        assert any(a.startswith("rejected: 1 message") for a in row["alarms"])
    finally:
        db.close()


def test_a_register_killed_right_after_saving_a_customer_sends_it_after_its_restart(mosquitto, fleet_key, tmp_path):
    signer, public = fleet_key
    data = tmp_path / "r1"
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("customer_kill_main.py")), str(data), "R1",
                             "Dora Kill"], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("saved "), line
        os.kill(proc.pid, signal.SIGKILL)  # right after SaveCustomer returned: no shutdown, no flush
    finally:
        proc.kill()
        proc.wait(10)
    customer_id = line.split()[1]
    fleet = f"sqlite:///{tmp_path / 'fleet.db'}"
    with ingest_thread(mosquitto.url, fleet, options(signer)):
        reg = start_register(data, mosquitto.url, "R1", public)
        try:
            assert [e.customer_id for e in reg.customers.pending()] == [customer_id]  # still there after the kill
            wait_for(lambda: not reg.customers.pending() and reg.customers.version >= 1, 30,
                     "the edit sent, merged and its list back")
            dora = reg.customers.get(customer_id)
            assert dora is not None and dora.name == "Dora Kill" and dora.phone == "+49 30 1234567"
        finally:
            reg.shutdown()
    assert db_query(tmp_path / "fleet.db", "SELECT customer_id FROM customer_edits") == [(customer_id,)]
