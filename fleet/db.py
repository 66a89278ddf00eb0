"""The fleet's ledger: receipts keyed by (store, register, epoch, seq), and every alarm about them.

SQLite by default (WAL, synchronous=FULL: a commit is on disk before any
MQTT ack is sent). Several workers may share one file (busy timeout).
The rules (docs/ledger-integrity.md):

- **Identity.** A receipt's key is (store, register, epoch, seq), store and
  register taken from the topic the broker authenticated (the ingest refuses
  a payload that names another). The same key with the same hash is a
  duplicate and confirmed again; with another hash it is a **conflict**:
  kept in `conflicts`, never confirmed.
- **Chain.** Each stored receipt's `prev_hash` is checked against the hash
  of seq-1 of its epoch, and its own hash against seq+1's `prev_hash`, so
  receipts may arrive in any order; a mismatch goes to `chain_breaks`.
- **Rollback and loss.** A device's status names its epoch and head seq. A
  status whose head is below receipts the fleet already holds of that epoch
  (created before the status), or whose head hash differs, is a
  **rollback**. An epoch the device has left is **ended**; seqs up to its
  last reported head that never arrived are **lost**, and an epoch that
  starts from the genesis hash while the device had others is a journal
  **restart**.
- **Plausibility.** Flags on the row (fleet.plausibility); a `seq_bound` row
  is left out of gap checks.

Gap checks must not read every receipt ever stored: `streams` keeps, per
epoch, the seq up to which every receipt is present (`contiguous`), and a
check reads only the receipts above it. Schema changes are numbered
migrations recorded in `PRAGMA user_version`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from firmware.chain import GENESIS
from firmware.clock import parse_iso_utc
from fleet.errors import FleetUsageError
from fleet.plausibility import SEQ_JUMP

SCHEMA_VERSION = 2

# Version 1: the first release (receipts keyed by receipt_id `register:epoch:seq`).
SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS receipts (
    receipt_id TEXT PRIMARY KEY,
    store TEXT NOT NULL, register TEXT NOT NULL, epoch TEXT NOT NULL, seq INTEGER NOT NULL,
    kind TEXT NOT NULL, created_at TEXT NOT NULL, total INTEGER NOT NULL,
    body TEXT NOT NULL, ingested_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS receipts_by_seq ON receipts (store, register, epoch, seq);
CREATE TABLE IF NOT EXISTS reports (
    report_id TEXT NOT NULL, store TEXT NOT NULL, register TEXT NOT NULL,
    kind TEXT NOT NULL, z_number INTEGER, body TEXT NOT NULL, ingested_at TEXT NOT NULL,
    PRIMARY KEY (store, register, report_id)
);
CREATE TABLE IF NOT EXISTS devices (
    store TEXT NOT NULL, register TEXT NOT NULL, state TEXT NOT NULL,
    at TEXT, pending INTEGER, quarantined INTEGER, oldest_pending_at TEXT, last_sync_at TEXT,
    firmware_version TEXT, hardware TEXT, updated_at TEXT NOT NULL,
    PRIMARY KEY (store, register)
);
CREATE TABLE IF NOT EXISTS commands (
    command_id TEXT PRIMARY KEY, store TEXT NOT NULL, register TEXT NOT NULL,
    command TEXT NOT NULL, args TEXT NOT NULL, sent_at TEXT NOT NULL,
    ok INTEGER, detail TEXT, answered_at TEXT
);
CREATE TABLE IF NOT EXISTS streams (
    store TEXT NOT NULL, register TEXT NOT NULL, epoch TEXT NOT NULL,
    contiguous INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (store, register, epoch)
);
CREATE TABLE IF NOT EXISTS rejects (
    id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, reason TEXT NOT NULL,
    size INTEGER NOT NULL, at TEXT NOT NULL
);
"""

# Version 2: the ledger-integrity release (contract 1.1).
MIGRATE_V2 = """
ALTER TABLE receipts RENAME TO receipts_v1;
DROP INDEX IF EXISTS receipts_by_seq;
CREATE TABLE receipts (
    store TEXT NOT NULL, register TEXT NOT NULL, epoch TEXT NOT NULL, seq INTEGER NOT NULL,
    receipt_id TEXT NOT NULL, kind TEXT NOT NULL, created_at TEXT NOT NULL, total INTEGER NOT NULL,
    hash TEXT NOT NULL, prev_hash TEXT NOT NULL, flags TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL, ingested_at TEXT NOT NULL,
    PRIMARY KEY (store, register, epoch, seq)
);
INSERT INTO receipts
    SELECT store, register, epoch, seq, receipt_id, kind, created_at, total,
           COALESCE(json_extract(body, '$.hash'), ''), COALESCE(json_extract(body, '$.prev_hash'), ''), '',
           body, ingested_at
    FROM receipts_v1 ORDER BY store, register, epoch, seq;
DROP TABLE receipts_v1;
CREATE INDEX receipts_flagged ON receipts (store, register) WHERE flags != '';
ALTER TABLE streams ADD COLUMN first_seq INTEGER NOT NULL DEFAULT 1;
ALTER TABLE streams ADD COLUMN head_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE streams ADD COLUMN top INTEGER NOT NULL DEFAULT 0;
ALTER TABLE streams ADD COLUMN ended INTEGER NOT NULL DEFAULT 0;
ALTER TABLE streams ADD COLUMN restarted INTEGER NOT NULL DEFAULT 0;
UPDATE streams SET top = COALESCE((SELECT MAX(seq) FROM receipts r WHERE r.store = streams.store
    AND r.register = streams.register AND r.epoch = streams.epoch), 0);
ALTER TABLE devices ADD COLUMN epoch TEXT;
ALTER TABLE devices ADD COLUMN head_seq INTEGER;
ALTER TABLE devices ADD COLUMN conflicts INTEGER;
ALTER TABLE devices ADD COLUMN rollbacks INTEGER;
CREATE TABLE conflicts (
    store TEXT NOT NULL, register TEXT NOT NULL, epoch TEXT NOT NULL, seq INTEGER NOT NULL,
    receipt_id TEXT NOT NULL, hash TEXT NOT NULL, held_hash TEXT NOT NULL, body TEXT NOT NULL,
    first_at TEXT NOT NULL, last_at TEXT NOT NULL, times INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (store, register, epoch, seq, hash)
);
CREATE TABLE chain_breaks (
    store TEXT NOT NULL, register TEXT NOT NULL, epoch TEXT NOT NULL, seq INTEGER NOT NULL,
    detail TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (store, register, epoch, seq)
);
CREATE TABLE rollbacks (
    store TEXT NOT NULL, register TEXT NOT NULL, epoch TEXT NOT NULL, device_seq INTEGER NOT NULL,
    fleet_seq INTEGER NOT NULL, detail TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (store, register, epoch, device_seq)
);
"""

MIGRATIONS: tuple[tuple[int, str], ...] = ((1, SCHEMA_V1), (2, MIGRATE_V2))


@dataclass(frozen=True)
class Gap:
    """Receipts `from_seq..to_seq` of one register epoch are missing at the fleet."""

    store: str
    register: str
    epoch: str
    from_seq: int
    to_seq: int


@dataclass(frozen=True)
class ReceiptRow:
    """One receipt as the ingest read it; `flags` are its content flags (seq_bound is added on store)."""

    receipt_id: str
    store: str
    register: str
    epoch: str
    seq: int
    kind: str
    created_at: str
    total: int
    body: str
    hash: str = ""
    prev_hash: str = ""
    flags: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.store, self.register, self.epoch, self.seq)


@dataclass(frozen=True)
class DeviceStatus:
    """A device's retained status (the fields the ledger uses, plus the rest for the devices table)."""

    store: str
    register: str
    fields: dict[str, Any]

    def get(self, name: str) -> Any:
        return self.fields.get(name)


@dataclass(frozen=True)
class Head:
    """The fleet's highest seq of one device epoch (0: none) and its hash: the answer to a status."""

    store: str
    register: str
    epoch: str
    seq: int
    hash: str | None


@dataclass
class BatchOutcome:
    """What one committed batch means for the devices: confirm, refuse as conflict, answer heads."""

    new: int = 0
    confirmed: list[ReceiptRow] = field(default_factory=list)
    conflicts: list[ReceiptRow] = field(default_factory=list)
    heads: list[Head] = field(default_factory=list)
    chain_breaks: int = 0
    rollbacks: int = 0


@dataclass(frozen=True)
class Loss:
    """An ended epoch whose reported head was never fully received."""

    store: str
    register: str
    epoch: str
    head_seq: int
    missing: int


def sqlite_path(url: str) -> Path:
    """`sqlite:///rel.db`, `sqlite:////abs.db` or a plain path; other schemes are refused with the fix."""
    if "://" not in url:
        return Path(url)
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else ""
        if not path:
            raise FleetUsageError(f"--db {url}: write sqlite:///relative/path.db or sqlite:////absolute/path.db")
        return Path(path)
    if parts.scheme.startswith("postgres"):
        raise FleetUsageError(f"--db {url}: PostgreSQL is not available in this build (no psycopg); "
                              "use sqlite:///fleet.db, one file per worker when running several")
    raise FleetUsageError(f"--db {url}: unknown database scheme {parts.scheme!r}; use sqlite:///fleet.db")


def _later(a: str, b: str) -> bool:
    """True when timestamp `a` is after `b` (ISO 8601; unreadable counts as not later)."""
    try:
        return parse_iso_utc(a) > parse_iso_utc(b)
    except ValueError:
        return False


class FleetDb:
    """One connection to the fleet database; used by one thread at a time."""

    def __init__(self, url: str) -> None:
        self.path = sqlite_path(url)
        if self.path.parent and not self.path.parent.exists():
            raise FleetUsageError(f"--db {url}: directory {self.path.parent} does not exist; create it first")
        try:
            self.conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.migrate()
        except sqlite3.Error as exc:
            raise FleetUsageError(f"--db {url}: cannot open the database ({exc})") from None

    def migrate(self) -> int:
        """Apply every numbered migration above the database's version, each in its own transaction."""
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            version = c.execute("PRAGMA user_version").fetchone()[0]
            if version == 0 and c.execute(
                    "SELECT 1 FROM sqlite_master WHERE type='table' AND name='receipts'").fetchone():
                version = 1  # a database of the first release, from before numbered migrations
                if not c.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='streams'").fetchone():
                    c.execute("CREATE TABLE streams (store TEXT NOT NULL, register TEXT NOT NULL, epoch TEXT NOT NULL,"
                              " contiguous INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (store, register, epoch))")
                    c.execute("INSERT OR IGNORE INTO streams (store, register, epoch) "
                              "SELECT DISTINCT store, register, epoch FROM receipts")
            if version > SCHEMA_VERSION:
                raise FleetUsageError(f"database {self.path} has schema {version}, newer than this kassa-fleet "
                                      f"({SCHEMA_VERSION}): upgrade kassa-fleet")
            for number, script in MIGRATIONS:
                if number > version:
                    for statement in script.split(";"):
                        if statement.strip():
                            c.execute(statement)
                    version = number
            c.execute(f"PRAGMA user_version = {int(version)}")
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        return version

    def close(self) -> None:
        self.conn.close()

    # ---- the batch ----

    def store_batch(self, receipts: Sequence[ReceiptRow], reports: Iterable[tuple[str, str, str, str, int | None, str]],
                    results: Iterable[tuple[str, bool, str]], rejects: Iterable[tuple[str, str, int]],
                    statuses: Iterable[DeviceStatus | tuple[str, str, dict[str, Any]]], at: str) -> BatchOutcome:
        """Write one batch in one transaction (durable on return); say what to confirm and answer."""
        c = self.conn
        out = BatchOutcome()
        c.execute("BEGIN IMMEDIATE")
        try:
            for status in statuses:
                if not isinstance(status, DeviceStatus):
                    status = DeviceStatus(*status)
                self._status(status, at, out)
            for row in sorted(receipts, key=lambda r: r.key):
                self._receipt(row, at, out)
            c.executemany("INSERT OR IGNORE INTO reports VALUES (?,?,?,?,?,?,?)", [(*r, at) for r in reports])
            c.executemany("UPDATE commands SET ok=?, detail=?, answered_at=? WHERE command_id=?",
                          [(int(ok), detail, at, cid) for cid, ok, detail in results])
            c.executemany("INSERT INTO rejects (topic, reason, size, at) VALUES (?,?,?,?)",
                          [(*r, at) for r in rejects])
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        return out

    def _stream(self, store: str, register: str, epoch: str) -> tuple[int, int, int, int]:
        """(contiguous, first_seq, head_seq, top) of an epoch, created on first sight."""
        c = self.conn
        found = c.execute("SELECT contiguous, first_seq, head_seq, top FROM streams WHERE store=? AND register=? "
                          "AND epoch=?", (store, register, epoch)).fetchone()
        if found is None:
            c.execute("INSERT INTO streams (store, register, epoch) VALUES (?,?,?)", (store, register, epoch))
            return (0, 1, 0, 0)
        return found  # type: ignore[no-any-return]

    def _receipt(self, row: ReceiptRow, at: str, out: BatchOutcome) -> None:
        c = self.conn
        key = row.key
        held = c.execute("SELECT hash FROM receipts WHERE store=? AND register=? AND epoch=? AND seq=?",
                         key).fetchone()
        if held is not None:
            if held[0] == row.hash:
                out.confirmed.append(row)  # a duplicate: confirmed again, the device re-sends what it has not seen confirmed
            else:
                c.execute("INSERT INTO conflicts VALUES (?,?,?,?,?,?,?,?,?,?,1) ON CONFLICT DO UPDATE SET "
                          "last_at=excluded.last_at, times=times+1",
                          (*key, row.receipt_id, row.hash, held[0], row.body, at, at))
                out.conflicts.append(row)
            return
        contiguous, first_seq, head_seq, top = self._stream(row.store, row.register, row.epoch)
        flags = row.flags
        if row.seq > max(top, head_seq, contiguous, first_seq - 1) + SEQ_JUMP:
            flags = (*flags, "seq_bound")
        c.execute("INSERT INTO receipts VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                  (*key, row.receipt_id, row.kind, row.created_at, row.total, row.hash, row.prev_hash,
                   ",".join(flags), row.body, at))
        if "seq_bound" not in flags and row.seq > top:
            c.execute("UPDATE streams SET top=? WHERE store=? AND register=? AND epoch=?",
                      (row.seq, row.store, row.register, row.epoch))
        out.new += 1
        out.confirmed.append(row)
        self._check_links(row, first_seq, at, out)

    def _check_links(self, row: ReceiptRow, first_seq: int, at: str, out: BatchOutcome) -> None:
        c = self.conn
        s, r, e, seq = row.key
        if seq > first_seq:
            before = c.execute("SELECT hash FROM receipts WHERE store=? AND register=? AND epoch=? AND seq=?",
                               (s, r, e, seq - 1)).fetchone()
            if before is not None and before[0] != row.prev_hash:
                self._break(row.key, f"prev_hash does not match the hash of seq {seq - 1}", at, out)
        elif row.prev_hash == GENESIS and c.execute(
                "SELECT 1 FROM streams WHERE store=? AND register=? AND epoch!=? LIMIT 1", (s, r, e)).fetchone():
            # a device with earlier epochs started one from nothing: its journal was lost or replaced
            c.execute("UPDATE streams SET restarted=1 WHERE store=? AND register=? AND epoch=?", (s, r, e))
        after = c.execute("SELECT prev_hash FROM receipts WHERE store=? AND register=? AND epoch=? AND seq=?",
                          (s, r, e, seq + 1)).fetchone()
        if after is not None and after[0] != row.hash:
            self._break((s, r, e, seq + 1), f"prev_hash does not match the hash of seq {seq}", at, out)

    def _break(self, key: tuple[str, str, str, int], detail: str, at: str, out: BatchOutcome) -> None:
        self.conn.execute("INSERT OR IGNORE INTO chain_breaks VALUES (?,?,?,?,?,?)", (*key, detail, at))
        out.chain_breaks += 1

    def _status(self, status: DeviceStatus, at: str, out: BatchOutcome) -> None:
        """Record a device's retained status; with an epoch, check it against the ledger and answer its head."""
        self.upsert_status(status.store, status.register, status.fields, at)
        epoch = status.get("epoch")
        if not isinstance(epoch, str):
            return
        c = self.conn
        s, r = status.store, status.register
        first_seq = status.get("epoch_first_seq") or 1
        head_seq = status.get("head_seq") or 0
        self._stream(s, r, epoch)
        c.execute("UPDATE streams SET first_seq=?, head_seq=MAX(head_seq, ?), contiguous=MAX(contiguous, ?), ended=0 "
                  "WHERE store=? AND register=? AND epoch=?", (first_seq, head_seq, first_seq - 1, s, r, epoch))
        c.execute("UPDATE streams SET ended=1 WHERE store=? AND register=? AND epoch!=?", (s, r, epoch))
        top = c.execute("SELECT seq, hash FROM receipts WHERE store=? AND register=? AND epoch=? "
                        "AND instr(flags, 'seq_bound')=0 ORDER BY seq DESC LIMIT 1", (s, r, epoch)).fetchone()
        out.heads.append(Head(s, r, epoch, top[0] if top else 0, top[1] if top else None))
        if top is None:
            return
        said_at = status.get("at")
        detail = None
        if top[0] > head_seq and isinstance(said_at, str):
            ahead = c.execute("SELECT seq, created_at FROM receipts WHERE store=? AND register=? AND epoch=? "
                              "AND seq>? AND instr(flags, 'seq_bound')=0 ORDER BY seq", (s, r, epoch, head_seq))
            if any(not _later(created, said_at) for _seq, created in ahead):
                detail = (f"device reported head seq {head_seq} at {said_at}, but the fleet holds seq up to {top[0]} "
                          "made before then: its journal was rolled back")
        held = status.get("head_hash")
        if detail is None and head_seq and isinstance(held, str):
            mine = c.execute("SELECT hash FROM receipts WHERE store=? AND register=? AND epoch=? AND seq=?",
                             (s, r, epoch, head_seq)).fetchone()
            if mine is not None and mine[0] != held:
                detail = f"device's receipt seq {head_seq} is not the one the fleet holds: its journal diverged"
        if detail is not None:
            before = self.conn.total_changes
            c.execute("INSERT OR IGNORE INTO rollbacks VALUES (?,?,?,?,?,?,?)", (s, r, epoch, head_seq, top[0],
                                                                                 detail, at))
            out.rollbacks += self.conn.total_changes - before

    def upsert_status(self, store: str, register: str, status: dict[str, Any], at: str) -> None:
        """Record a device's retained status; a bare last will changes only the state."""
        if set(status) <= {"state"}:
            self.conn.execute(
                "INSERT INTO devices (store, register, state, updated_at) VALUES (?,?,?,?) "
                "ON CONFLICT (store, register) DO UPDATE SET state=excluded.state, updated_at=excluded.updated_at",
                (store, register, status["state"], at))
            return
        hardware = status.get("hardware")
        self.conn.execute(
            "INSERT OR REPLACE INTO devices VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (store, register, status["state"], status.get("at"), status.get("pending"), status.get("quarantined"),
             status.get("oldest_pending_at"), status.get("last_sync_at"), status.get("firmware_version"),
             json.dumps(hardware) if hardware is not None else None, at, status.get("epoch"),
             status.get("head_seq"), status.get("conflicts"), status.get("rollbacks")))

    def record_command(self, command_id: str, store: str, register: str, command: str, args: dict[str, Any],
                       at: str) -> None:
        self.conn.execute("INSERT INTO commands (command_id, store, register, command, args, sent_at) "
                          "VALUES (?,?,?,?,?,?)", (command_id, store, register, command, json.dumps(args), at))

    # ---- reading ----

    def _dicts(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        cur = self.conn.execute(sql, args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    def devices(self) -> list[dict[str, Any]]:
        return self._dicts("SELECT * FROM devices ORDER BY store, register")

    def receipt_counts(self) -> dict[tuple[str, str], int]:
        rows = self.conn.execute("SELECT store, register, COUNT(*) FROM receipts GROUP BY store, register")
        return {(s, r): n for s, r, n in rows}

    def epochs(self) -> list[tuple[str, str, str]]:
        return list(self.conn.execute("SELECT store, register, epoch FROM streams ORDER BY store, register, epoch"))

    def conflicts(self) -> list[dict[str, Any]]:
        return self._dicts("SELECT store, register, epoch, seq, receipt_id, hash, held_hash, first_at, last_at, times "
                           "FROM conflicts ORDER BY store, register, epoch, seq")

    def chain_breaks(self) -> list[dict[str, Any]]:
        return self._dicts("SELECT store, register, epoch, seq, detail, at FROM chain_breaks "
                           "ORDER BY store, register, epoch, seq")

    def rollbacks(self) -> list[dict[str, Any]]:
        return self._dicts("SELECT store, register, epoch, device_seq, fleet_seq, detail, at FROM rollbacks "
                           "ORDER BY store, register, at")

    def restarts(self) -> list[tuple[str, str, str]]:
        return list(self.conn.execute("SELECT store, register, epoch FROM streams WHERE restarted=1 "
                                      "ORDER BY store, register, epoch"))

    def flag_counts(self) -> dict[tuple[str, str], dict[str, int]]:
        counts: dict[tuple[str, str], dict[str, int]] = {}
        for s, r, flags, n in self.conn.execute("SELECT store, register, flags, COUNT(*) FROM receipts "
                                                "WHERE flags != '' GROUP BY store, register, flags"):
            per = counts.setdefault((s, r), {})
            for flag in flags.split(","):
                per[flag] = per.get(flag, 0) + n
        return counts

    def reject_counts(self) -> list[tuple[str, int]]:
        return list(self.conn.execute("SELECT topic, COUNT(*) FROM rejects GROUP BY topic ORDER BY topic"))

    def losses(self) -> list[Loss]:
        """Ended epochs whose last reported head seq never fully arrived, with the count missing."""
        found = []
        for s, r, e, first, head in self.conn.execute(
                "SELECT store, register, epoch, first_seq, head_seq FROM streams WHERE ended=1 AND head_seq>0 "
                "ORDER BY store, register, epoch").fetchall():
            held = self.conn.execute("SELECT COUNT(*) FROM receipts WHERE store=? AND register=? AND epoch=? "
                                     "AND seq BETWEEN ? AND ?", (s, r, e, first, head)).fetchone()[0]
            missing = head - first + 1 - held
            if missing > 0:
                found.append(Loss(s, r, e, head, missing))
        return found

    def gaps(self, store: str | None = None, register: str | None = None, *, remember: bool = True,
             include_ended: bool = False, devices: Iterable[tuple[str, str]] | None = None) -> list[Gap]:
        """Missing seq ranges per register epoch, between the epoch's first seq and the highest seq seen.

        Reads only the receipts above each epoch's `contiguous` mark; with `remember` the mark moves up to
        the first gap (the ingest does; `kassa-fleet status` only reads). Rows flagged `seq_bound` are left
        out. Ended epochs are skipped unless `include_ended` (their holes are reported as losses).
        """
        found: list[Gap] = []
        advanced: list[tuple[int, str, str, str]] = []
        only = set(devices) if devices is not None else None
        streams = self.conn.execute("SELECT store, register, epoch, contiguous, ended FROM streams "
                                    "ORDER BY store, register, epoch").fetchall()
        for s, r, e, mark, ended in streams:
            if (store and s != store) or (register and r != register) or (ended and not include_ended):
                continue
            if only is not None and (s, r) not in only:
                continue
            contiguous = last = mark
            broken = False
            for (seq,) in self.conn.execute("SELECT seq FROM receipts WHERE store=? AND register=? AND epoch=? "
                                            "AND seq>? AND instr(flags, 'seq_bound')=0 ORDER BY seq",
                                            (s, r, e, mark)):
                if seq > last + 1:
                    found.append(Gap(s, r, e, last + 1, seq - 1))
                    broken = True
                if not broken:
                    contiguous = seq
                last = seq
            if contiguous > mark:
                advanced.append((contiguous, s, r, e))
        if remember and advanced:
            self.conn.executemany("UPDATE streams SET contiguous=? WHERE store=? AND register=? AND epoch=? "
                                  "AND contiguous<?", [(c, s, r, e, c) for c, s, r, e in advanced])
        return found
