"""Customer sync attacked (firmware/sync/customer_outbox.py, firmware/customers.py, fleet/customers.py,
fleet/customerdb.py; docs/customers.md): a register creating in another's name, an edit batch naming another
store or register on the wire, a flood of big edits, an edit of another store's customer, a list of another store,
an older list replayed. Each defence holds."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from firmware.contract import PayloadRejected, decode
from firmware.contract.customers import CustomerEdit, CustomerEdits
from firmware.domain.errors import Refused
from fleet.customers import CustomerMerge
from fleet.db import FleetDb
from fleet.ingest import IngestOptions
from tests.firmware.sync.test_sync_customer_outbox import list_doc, rig
from tests.fleet.kassa_fleet_support import BareDevice, ingest_thread, wait_for

AT = "2026-12-01T08:00:00Z"


def edit(customer_id: str, epoch: str = "e1", seq: int = 1, create: bool = False, **changes) -> dict:
    return {"customer_id": customer_id, "epoch": epoch, "seq": seq, "at": AT, "create": create, "changes": changes}


def test_a_register_cannot_create_a_customer_in_another_registers_or_stores_name():
    for forged in ("S001:R1:e1:1", "S002:R2:e1:1"):
        with pytest.raises(ValidationError, match="only in its own name"):
            CustomerEdits.model_validate({"store": "S001", "register": "R2",
                                          "edits": [edit(forged, create=True, name="Anna")]})


def test_an_edit_of_another_stores_customer_is_refused_by_the_merge_and_still_counts_for_heads():
    merge = CustomerMerge("S001")
    outcome = merge.apply("R1", CustomerEdit.model_validate(edit("S002:R9:e9:4", name="Mallory")))
    assert (outcome.result, outcome.reason) == ("refused", "customer S002:R9:e9:4 is not S001's")
    assert merge.customers == {} and [(h.register, h.seq) for h in merge.heads()] == [("R1", 1)]
    with pytest.raises(ValueError, match="refused"):  # a message of another store: nothing applied
        merge.apply_batch("S001", "R1", CustomerEdits.model_validate(
            {"store": "S002", "register": "R1", "edits": [edit("S002:R1:e1:1", create=True, name="Anna")]}))


def test_200_edits_carrying_4_kib_each_are_refused_whole_by_size_before_parsing():
    """Known fields are bounded (a name of 4 KiB is refused); unknown ones are tolerated, so 200 edits with 4 KiB
    of extra each (800 KiB) are refused by the payload's byte bound, not parsed."""
    with pytest.raises(ValidationError):
        CustomerEdit.model_validate(edit("S001:R1:e1:1", create=True, name="x" * 4096))
    edits = [{**edit(f"S001:R1:e1:{n}", seq=n, create=True, name="Anna"), "note": "x" * 4096}
             for n in range(1, 201)]
    payload = json.dumps({"store": "S001", "register": "R1", "edits": edits}).encode()
    assert len(payload) > CustomerEdits.MAX_BYTES
    with pytest.raises(PayloadRejected):
        decode(CustomerEdits, payload)


def test_the_till_refuses_a_4_kib_field_in_the_cashiers_words_and_batches_stay_under_the_bound(tmp_path):
    book, wire, _clock, outbox = rig(tmp_path)
    with pytest.raises(Refused) as refused:
        book.create({"name": "x" * 4096}, AT)
    assert "Traceback" not in str(refused.value) and len(str(refused.value)) < 200
    for n in range(200):  # every field at its longest
        book.create({"name": f"{n:03d}" + "N" * 97, "email": "e" * 64 + "@" + "d" * 60 + "." + "d" * 59 + ".example",
                     "phone": "+49 (151) 234-567 8901"}, AT)
    assert outbox.fill() == 200
    assert max(wire.payloads) <= CustomerEdits.MAX_BYTES


def test_a_list_of_another_store_is_rejected_and_an_older_list_replayed_changes_nothing(tmp_path):
    book, _wire, _clock, outbox = rig(tmp_path)
    for n in range(3):
        book.create({"name": f"Customer {n}"}, AT)
    with pytest.raises(PayloadRejected, match="store S002"):
        outbox.on_list("S001", list_doc(5, book, 3, store="S002"))
    assert len(book.pending()) == 3
    applied = outbox.on_list("S001", list_doc(5, book, 1))
    assert applied is not None and applied.pending == 2
    book.create({"name": "Customer 3"}, AT)
    assert outbox.on_list("S001", list_doc(4, book, 4)) is None  # an older version, replayed: not applied
    assert outbox.on_list("S001", list_doc(5, book, 4)) is None  # the same version again: not applied
    assert [e.seq for e in book.pending()] == [2, 3, 4]


@pytest.mark.slow
def test_edit_batches_naming_another_store_or_register_are_rejected_by_the_ingest(mosquitto, fleet_url):
    with ingest_thread(mosquitto.url, fleet_url, IngestOptions(client_id="ingest-attack-customers")) as worker:
        device = BareDevice(mosquitto.url, register="R1")
        try:
            for store, register in (("S002", "R1"), ("S001", "R2")):
                device.publish(device.topics.customers, json.dumps({"store": store, "register": register, "edits": [
                    edit(f"{store}:{register}:e1:1", create=True, name="Mallory")]}))
            device.publish(device.topics.customers, json.dumps({"store": "S001", "register": "R1", "edits": [
                edit("S001:R1:e1:1", create=True, name="Anna")]}))
            wait_for(lambda: worker.stats.messages >= 3, what="every batch")
            wait_for(lambda: worker.stats.customer_edits == 1, what="the one good edit")
            assert worker.stats.rejected == 2
            db = FleetDb(worker.db.url, migrate=False)
            try:
                with db.db.transaction() as tx:
                    rows = tx.rows("SELECT store, register, customer_id FROM customer_edits", ())
                assert [tuple(r) for r in rows] == [("S001", "R1", "S001:R1:e1:1")]
            finally:
                db.close()
        finally:
            device.close()
