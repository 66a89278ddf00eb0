"""The fleet database's gap check: per register epoch, from the last unbroken seq up, remembered as it heals."""

from __future__ import annotations

import json
import sqlite3

import pytest

from fleet.db import SCHEMA_V1, SCHEMA_VERSION, FleetDb, Gap, ReceiptRow
from fleet.errors import FleetUsageError


def rows(register: str, epoch: str, *seqs: int) -> list[ReceiptRow]:
    return [ReceiptRow(f"{register}:{epoch}:{seq}", "S001", register, epoch, seq, "sale", "2026-11-25T10:00:00Z",
                       100, "{}") for seq in seqs]


def store(db: FleetDb, receipts: list[ReceiptRow]) -> None:
    db.store_batch(receipts, [], [], [], [], "2026-11-25T10:00:01Z")


def mark(db: FleetDb, register: str, epoch: str) -> int:
    return db.conn.execute("SELECT contiguous FROM streams WHERE register=? AND epoch=?", (register, epoch)).fetchone()[
        0
    ]


def test_gaps_are_found_per_epoch_and_the_unbroken_mark_moves_up_as_they_heal(tmp_path):
    db = FleetDb(f"sqlite:///{tmp_path / 'f.db'}")
    store(db, rows("R1", "e1", 1, 2, 3, 5, 6, 9) + rows("R1", "e2", 3, 4) + rows("R2", "e1", 1, 2))
    assert db.gaps() == [Gap("S001", "R1", "e1", 4, 4), Gap("S001", "R1", "e1", 7, 8), Gap("S001", "R1", "e2", 1, 2)]
    assert (mark(db, "R1", "e1"), mark(db, "R1", "e2"), mark(db, "R2", "e1")) == (3, 0, 2)
    store(db, rows("R1", "e1", 4))
    assert db.gaps(register="R1") == [Gap("S001", "R1", "e1", 7, 8), Gap("S001", "R1", "e2", 1, 2)]
    assert mark(db, "R1", "e1") == 6
    store(db, rows("R1", "e1", 7, 8) + rows("R1", "e2", 1, 2))
    assert db.gaps() == []
    assert (mark(db, "R1", "e1"), mark(db, "R1", "e2")) == (9, 4)
    store(db, rows("R1", "e1", 9, 10))  # a re-sent receipt and a new one
    assert db.gaps() == [] and mark(db, "R1", "e1") == 10


def test_a_read_only_check_does_not_move_the_mark(tmp_path):
    db = FleetDb(f"sqlite:///{tmp_path / 'f.db'}")
    store(db, rows("R1", "e1", 1, 2, 4))
    assert db.gaps(remember=False) == [Gap("S001", "R1", "e1", 3, 3)]
    assert mark(db, "R1", "e1") == 0
    assert db.gaps() == [Gap("S001", "R1", "e1", 3, 3)] and mark(db, "R1", "e1") == 2


def test_a_first_release_database_is_migrated_to_the_store_keyed_ledger(tmp_path):
    """Old fleet rows (keyed by `register:epoch:seq`, no streams table) move to (store, register, epoch, seq)."""
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(SCHEMA_V1)
    old.execute("DROP TABLE streams")  # what the very first version left behind
    for register, epoch, seq in (("R1", "e1", 1), ("R1", "e1", 3), ("R2", "e7", 2)):
        body = json.dumps({"receipt_id": f"{register}:{epoch}:{seq}", "hash": f"{seq:064x}", "prev_hash": "0" * 64})
        old.execute(
            "INSERT INTO receipts VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                f"{register}:{epoch}:{seq}",
                "S001",
                register,
                epoch,
                seq,
                "sale",
                "2026-11-25T10:00:00Z",
                100,
                body,
                "2026-11-25T10:00:01Z",
            ),
        )
    old.commit()
    old.close()
    db = FleetDb(f"sqlite:///{path}")
    assert db.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.epochs() == [("S001", "R1", "e1"), ("S001", "R2", "e7")]
    assert db.gaps() == [Gap("S001", "R1", "e1", 2, 2), Gap("S001", "R2", "e7", 1, 1)]
    pk = [r[1] for r in db.conn.execute("PRAGMA table_info(receipts)") if r[5]]
    assert pk == ["store", "register", "epoch", "seq"]
    assert db.conn.execute("SELECT hash FROM receipts WHERE register='R1' AND seq=3").fetchone() == (f"{3:064x}",)
    db.close()
    assert FleetDb(f"sqlite:///{path}").migrate() == SCHEMA_VERSION  # idempotent


def test_a_database_from_a_newer_fleet_is_refused(tmp_path):
    path = tmp_path / "new.db"
    FleetDb(f"sqlite:///{path}").conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(FleetUsageError, match="newer than this kassa-fleet"):
        FleetDb(f"sqlite:///{path}")
