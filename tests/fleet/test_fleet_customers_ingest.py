"""Customer edits in the real ingest (SQLite and PostgreSQL) from bare MQTT devices (docs/customers.md): receive
order, duplicates idempotent, another edit under a held id kept aside and alarmed, the leader's signed retained
list, and `kassa-fleet publish-customers`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from firmware.contract import DeviceTopics, decode
from firmware.contract.customers import CustomerList
from firmware.contract.signing import Signer, Verifier, parse_private_key
from fleet.customerdb import customer_conflicts
from fleet.db import FleetDb
from fleet.ingest import IngestOptions
from fleet.keys import keygen
from fleet.report import status_rows
from tests.fleet.kassa_fleet_support import BareDevice, db_query, ingest_thread, wait_for
from tests.fleet.test_fleet_accounts_ingest import cli, retained

pytestmark = pytest.mark.slow  # real broker, real ingest, both databases

EPOCH = "ab12cd34"


def edit(seq: int, customer: str, changes: dict[str, Any], *, create: bool = False, minute: int = 0,
         register: str = "R1") -> dict[str, Any]:
    doc = {"customer_id": customer, "epoch": EPOCH, "seq": seq, "at": f"2026-12-01T08:{minute:02d}:00Z",
           "changes": changes}
    return {**doc, "create": True} if create else doc


def batch(register: str, edits: list[dict[str, Any]]) -> str:
    return json.dumps({"store": "S001", "register": register, "edits": edits})


ANNA = f"S001:R1:{EPOCH}:1"


def test_receive_order_duplicates_conflicts_and_the_signed_list(mosquitto, fleet_url, tmp_path):
    private, public, _fp = keygen(tmp_path / "keys")
    signer = Signer(parse_private_key(private.read_bytes()))
    options = IngestOptions(client_id="ingest-customers", gap_check_every=0.2, customers_every=0.2,
                            signer=signer.wrap)
    r1, r2 = BareDevice(mosquitto.url, register="R1"), BareDevice(mosquitto.url, register="R2")
    with ingest_thread(mosquitto.url, fleet_url, options) as worker:
        created = batch("R1", [edit(1, ANNA, {"name": "Anna", "code": "CARD1001"}, create=True),
                               edit(2, ANNA, {"phone": "+49 151 2345678"}, minute=1)])
        r1.publish(r1.topics.customers, created)
        wait_for(lambda: worker.stats.customer_edits == 2, what="R1's edits")
        r2.publish(r2.topics.customers, batch("R2", [edit(1, ANNA, {"phone": "0171 555 1234"}, minute=0)]))
        wait_for(lambda: worker.stats.customer_edits == 3, what="R2's edit")
        r1.publish(r1.topics.customers, created)  # a resend: nothing changes
        # R1 again under seq 2, other content (its log restored with its epoch): set aside, never merged
        r1.publish(r1.topics.customers, batch("R1", [edit(2, ANNA, {"phone": "+1 555 0100"}, minute=2)]))
        wait_for(lambda: worker.stats.messages >= 4, what="every batch")
        db = FleetDb(fleet_url, migrate=False)
        try:
            wait_for(lambda: customer_conflicts(db), what="the conflict")
            [conflict] = customer_conflicts(db)
            assert (conflict["register"], conflict["seq"], conflict["customer_id"]) == ("R1", 2, ANNA)
            rows = {r["register"]: r for r in status_rows(db)}
            assert rows["R1"]["alarms"] == [f"customer edit conflict: R1:{EPOCH}:2 (customer {ANNA}) sent 1x with "
                                            "other content than the edit held (set aside, not merged)"]
        finally:
            db.close()
        assert db_query(fleet_url, "SELECT register, seq, received FROM customer_edits ORDER BY received") == [
            ("R1", 1, 1), ("R1", 2, 2), ("R2", 1, 3)]
        # the leader publishes the list by itself: R2's phone came last in the fleet's receive order, it wins
        # (its register clock says earlier: clocks are never compared)
        topic = DeviceTopics("S001", "R1").customer_list
        # every arrival (2 + 1 + the resend's 2 + the conflict's 1) is covered by the last list
        wait_for(lambda: db_query(fleet_url, "SELECT arrivals FROM customer_lists") == [(6,)], what="the last list")
        [(version,)] = db_query(fleet_url, "SELECT version FROM customer_lists")
        verifier = Verifier.from_file(str(public))
        wait_for(lambda: decode(CustomerList, verifier.open(topic, retained(mosquitto.url, topic),
                                                            CustomerList.MAX_BYTES)).version == version,
                 what="the retained list of that version")
        listed = decode(CustomerList, verifier.open(topic, retained(mosquitto.url, topic), CustomerList.MAX_BYTES))
        assert [(c.customer_id, c.name, c.code, c.phone) for c in listed.customers] == [
            (ANNA, "Anna", "CARD1001", "0171 555 1234")]
        assert sorted((h.register, h.epoch, h.seq) for h in listed.heads) == [("R1", EPOCH, 2), ("R2", EPOCH, 1)]
    for device in (r1, r2):
        device.close()

    out = cli("publish-customers", "--store", "S001", "--db", fleet_url, "--broker", mosquitto.url, "--unsigned",
              "--state-file", str(tmp_path / "published.json"))
    assert out.returncode == 0, out.stderr
    assert f"published customer list version {listed.version + 1} for store S001 (replacing version " \
           f"{listed.version}), unsigned; 1 customer(s), 0 card number(s) held twice" in out.stdout
    again = decode(CustomerList, retained(mosquitto.url, topic))
    assert again.version == listed.version + 1 and again.customers == listed.customers
