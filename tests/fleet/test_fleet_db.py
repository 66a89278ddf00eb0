"""The fleet database's gap check: per register epoch, from the last unbroken seq up, remembered as it heals."""

from __future__ import annotations

import sqlite3

from fleet.db import FleetDb, Gap, ReceiptRow


def rows(register: str, epoch: str, *seqs: int) -> list[ReceiptRow]:
    return [ReceiptRow(f"{register}:{epoch}:{seq}", "S001", register, epoch, seq, "sale", "2026-11-25T10:00:00Z",
                       100, "{}") for seq in seqs]


def store(db: FleetDb, receipts: list[ReceiptRow]) -> None:
    db.store_batch(receipts, [], [], [], [], "2026-11-25T10:00:01Z")


def mark(db: FleetDb, register: str, epoch: str) -> int:
    return db.conn.execute("SELECT contiguous FROM streams WHERE register=? AND epoch=?", (register, epoch)).fetchone()[0]


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


def test_a_database_from_before_the_streams_table_is_upgraded_on_open(tmp_path):
    path = tmp_path / "old.db"
    db = FleetDb(f"sqlite:///{path}")
    store(db, rows("R1", "e1", 1, 3) + rows("R2", "e7", 2))
    db.conn.execute("DROP TABLE streams")  # what an older version of the fleet left behind
    db.close()
    assert "streams" not in {n for (n,) in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}
    db = FleetDb(f"sqlite:///{path}")
    assert db.epochs() == [("S001", "R1", "e1"), ("S001", "R2", "e7")]
    assert db.gaps() == [Gap("S001", "R1", "e1", 2, 2), Gap("S001", "R2", "e7", 1, 1)]
