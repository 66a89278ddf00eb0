"""Contract 1.2 at the fleet: a status's `ended_epochs` and the last will that names epoch and head.

A register whose journal was deleted before any fleet heard of it reads its old epoch back from its own retained
status and names it in `ended_epochs`; the fleet records each as an ended epoch with its head (idempotently, a head
only ever grows), so `losses()` and `kassa-fleet status` count the receipts that never arrived. Bounded: a hostile
device cannot make the fleet store more than a handful per status and MAX_UNHEARD_ENDED per device.

Each test runs on SQLite and PostgreSQL (`fleet_url`).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from firmware.contract import PayloadRejected, Status, decode
from fleet.db import MAX_ENDED_PER_STATUS, MAX_UNHEARD_ENDED, DeviceStatus, FleetDb, Loss, ReceiptRow
from fleet.report import status_rows
from tests.fleet.kassa_fleet_support import db_query

AT = "2026-11-26T08:00:00Z"


@pytest.fixture
def db(fleet_url):
    d = FleetDb(fleet_url)
    d.test_url = fleet_url  # type: ignore[attr-defined]
    yield d
    d.close()


def status(epoch: str, head_seq: int = 0, *, ended: list[dict[str, Any]] | None = None, register: str = "R1",
           **fields: Any) -> DeviceStatus:
    """A status as the ingest hands it to the database (`Status.model_dump(exclude_none=True)`)."""
    doc: dict[str, Any] = {"state": "online", "at": AT, "pending": 0, "epoch": epoch, "epoch_first_seq": 1,
                           "head_seq": head_seq, **fields}
    if ended is not None:
        doc["ended_epochs"] = ended
    return DeviceStatus("S001", register, doc)


def will(epoch: str, head_seq: int, *, ended: list[dict[str, Any]] | None = None) -> DeviceStatus:
    """A 1.2 last will: offline, no `at`, the epoch and head as of the connect."""
    doc: dict[str, Any] = {"state": "offline", "epoch": epoch, "epoch_first_seq": 1, "head_seq": head_seq}
    if ended is not None:
        doc["ended_epochs"] = ended
    return DeviceStatus("S001", "R1", doc)


def send(db: FleetDb, *statuses: DeviceStatus, receipts: list[ReceiptRow] | None = None) -> Any:
    return db.store_batch(receipts or [], [], [], [], list(statuses), AT)


def rows(epoch: str, *seqs: int, register: str = "R1") -> list[ReceiptRow]:
    return [ReceiptRow(f"S001:{register}:{epoch}:{seq}", "S001", register, epoch, seq, "sale", AT, 100, "{}")
            for seq in seqs]


def streams(db: FleetDb, register: str = "R1") -> dict[str, tuple[int, int, int]]:
    """epoch -> (first_seq, head_seq, ended) of one register."""
    return {e: (f, h, n) for e, f, h, n in db_query(
        db.test_url, "SELECT epoch, first_seq, head_seq, ended FROM streams WHERE register=?", register)}  # type: ignore[attr-defined]


def report(db: FleetDb) -> dict[str, Any]:
    return {r["register"]: r for r in status_rows(db)}


@pytest.mark.slow
def test_an_ended_epoch_the_fleet_never_heard_of_shows_as_lost_receipts(db):
    send(db, status("e2", 0, ended=[{"epoch": "e1", "head_seq": 3, "head_hash": "a" * 64}]))
    assert db.losses() == [Loss("S001", "R1", "e1", 3, 3)]
    assert streams(db) == {"e1": (1, 3, 1), "e2": (1, 0, 0)}
    row = report(db)["R1"]
    assert row["lost"] == [{"epoch": "e1", "head_seq": 3, "missing": 3}]
    assert "lost: 3 receipt(s) of epoch e1 up to seq 3 never arrived" in row["alarms"]
    assert row["epoch"] == "e2" and row["gaps"] == []


def test_ended_epochs_are_recorded_idempotently_and_a_head_only_grows(db):
    send(db, status("e2", ended=[{"epoch": "e1", "head_seq": 5, "first_seq": 2}]))
    send(db, status("e2", ended=[{"epoch": "e1", "head_seq": 5, "first_seq": 2}]))  # every status says it again
    send(db, status("e2", ended=[{"epoch": "e1", "head_seq": 3}]))  # an older word about it: the head stays
    assert streams(db)["e1"] == (2, 5, 1)
    assert db.losses() == [Loss("S001", "R1", "e1", 5, 4)]  # seqs 2..5
    send(db, status("e2", ended=[{"epoch": "e1", "head_seq": 7}]))
    assert db.losses() == [Loss("S001", "R1", "e1", 7, 6)]
    send(db, receipts=rows("e1", 2, 3, 4, 5, 6, 7))  # they arrive after all (a copy of the journal turned up)
    assert db.losses() == []
    assert report(db)["R1"]["alarms"] == []


def test_an_ended_epoch_the_fleet_knew_as_current_keeps_its_head_and_ends(db):
    send(db, status("e1", 4), receipts=rows("e1", 1, 2))
    send(db, status("e2", ended=[{"epoch": "e1", "head_seq": 6}]))
    assert streams(db)["e1"] == (1, 6, 1)
    assert db.losses() == [Loss("S001", "R1", "e1", 6, 4)]


def test_an_entry_naming_the_status_own_epoch_is_ignored(db):
    send(db, status("e1", 2, ended=[{"epoch": "e1", "head_seq": 900}]), receipts=rows("e1", 1, 2))
    assert streams(db) == {"e1": (1, 2, 0)}
    assert db.losses() == [] and report(db)["R1"]["alarms"] == []
    send(db, will("e1", 2, ended=[{"epoch": "e1", "head_seq": 900}]))
    assert streams(db) == {"e1": (1, 2, 0)}


def test_a_last_will_keeps_the_identity_and_leaves_the_rest_of_the_status(db):
    send(db, status("e1", 5, pending=4, firmware_version="1.2.0"))
    send(db, will("e1", 3))  # set at the connect, when the head was 3: a lower bound
    [device] = db.devices()
    assert (device["state"], device["epoch"], device["head_seq"]) == ("offline", "e1", 5)
    assert (device["pending"], device["firmware_version"], device["at"]) == (4, "1.2.0", AT)
    assert streams(db) == {"e1": (1, 5, 0)}
    send(db, DeviceStatus("S001", "R1", {"state": "offline"}))  # a 1.0 register's bare will: the state only
    assert db.devices()[0]["epoch"] == "e1" and db.devices()[0]["head_seq"] == 5


def test_a_last_will_from_a_register_the_fleet_never_heard_of_names_its_epoch(db):
    out = send(db, will("e1", 3, ended=[{"epoch": "e0", "head_seq": 2}]))
    assert out.heads == []  # nobody awaits an answer to a will
    [device] = db.devices()
    assert (device["state"], device["epoch"], device["head_seq"], device["pending"]) == ("offline", "e1", 3, None)
    assert streams(db) == {"e1": (1, 3, 0), "e0": (1, 2, 1)}
    assert db.losses() == [Loss("S001", "R1", "e0", 2, 2)]
    send(db, status("e2", ended=[{"epoch": "e1", "head_seq": 3}]))  # the journal went; the next one says so
    assert db.losses() == [Loss("S001", "R1", "e0", 2, 2), Loss("S001", "R1", "e1", 3, 3)]


def test_a_will_does_not_revive_an_epoch_the_register_left(db):
    send(db, status("e1", 2), receipts=rows("e1", 1, 2))
    send(db, status("e2", 0))  # a rollback opened e2; the will of the connection before still names e1
    send(db, will("e1", 2))
    assert streams(db) == {"e1": (1, 2, 1), "e2": (1, 0, 0)}


@pytest.mark.slow
def test_a_hostile_device_naming_10000_ended_epochs_is_bounded(db):
    flood = [{"epoch": f"x{i:05d}", "head_seq": 2**53} for i in range(10_000)]
    # on the wire a status cannot even carry them: over the size limit and the list's bound
    with pytest.raises(PayloadRejected):
        decode(Status, json.dumps({"state": "online", "epoch": "e1", "ended_epochs": flood}))
    with pytest.raises(PayloadRejected, match="ended_epochs"):
        decode(Status, json.dumps({"state": "online", "epoch": "e1", "ended_epochs": flood[:MAX_ENDED_PER_STATUS + 1]}))
    # handed to the database as they are, in one status: only the contract's bound per status is read
    send(db, status("e1", ended=flood))
    assert len(streams(db)) == 1 + MAX_ENDED_PER_STATUS
    # in statuses of 16 each, as the contract allows: at most MAX_UNHEARD_ENDED ended epochs it holds nothing of
    refused = 0
    said = [status("e1", ended=flood[j:j + MAX_ENDED_PER_STATUS]) for j in range(0, len(flood), MAX_ENDED_PER_STATUS)]
    for i in range(0, len(said), 50):  # batches of 50 statuses, as the ingest would take them
        refused += sum(n for _s, _r, n in send(db, *said[i:i + 50]).ended_refused)
    assert len(streams(db)) == 1 + MAX_UNHEARD_ENDED
    assert refused == 10_000 - MAX_UNHEARD_ENDED
    assert len(db.losses()) == MAX_UNHEARD_ENDED  # its own alarms only, and no more of them
    # another register is not held back by the flooding one
    send(db, status("f2", ended=[{"epoch": "f1", "head_seq": 3}], register="R2"))
    assert db.losses()[-1] == Loss("S001", "R2", "f1", 3, 3)
    # an epoch the fleet holds receipts of is not a stranger: its head still grows past the bound
    send(db, status("e1", 2), receipts=rows("e1", 1, 2))
    send(db, status("e9", ended=[{"epoch": "e1", "head_seq": 4}]))
    assert streams(db)["e1"] == (1, 4, 1)
