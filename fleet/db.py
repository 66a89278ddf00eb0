"""The fleet's database: receipts deduped by receipt_id, reports, device status, gaps, commands.

SQLite by default (WAL, synchronous=FULL: a commit is on disk before any
MQTT ack is sent). `receipt_id` is the primary key, so a re-sent receipt is an
`INSERT OR IGNORE` no-op. Several workers may share one file (busy timeout).

Gap checks run every few seconds on the ingest's thread, so they must not
read every receipt ever stored: `streams` keeps, per register epoch, the seq
up to which every receipt is present (`contiguous`), and a check reads only
the receipts above it (through the `receipts_by_seq` index).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fleet.errors import FleetUsageError

SCHEMA = """
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
    receipt_id: str
    store: str
    register: str
    epoch: str
    seq: int
    kind: str
    created_at: str
    total: int
    body: str


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
            had_streams = self.conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='streams'").fetchone() is not None
            self.conn.executescript(SCHEMA)
            if not had_streams:  # a database from before `streams`: list its register epochs once
                self.conn.execute("INSERT OR IGNORE INTO streams (store, register, epoch) "
                                  "SELECT DISTINCT store, register, epoch FROM receipts")
        except sqlite3.Error as exc:
            raise FleetUsageError(f"--db {url}: cannot open the database ({exc})") from None

    def close(self) -> None:
        self.conn.close()

    def store_batch(self, receipts: Sequence[ReceiptRow], reports: Iterable[tuple[str, str, str, str, int | None, str]],
                    results: Iterable[tuple[str, bool, str]], rejects: Iterable[tuple[str, str, int]],
                    statuses: Iterable[tuple[str, str, dict[str, Any]]], at: str) -> int:
        """Write one batch in one transaction (durable on return); returns how many receipts were new."""
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            before = c.total_changes
            c.executemany(
                "INSERT OR IGNORE INTO receipts VALUES (?,?,?,?,?,?,?,?,?,?)",
                [(r.receipt_id, r.store, r.register, r.epoch, r.seq, r.kind, r.created_at, r.total, r.body, at)
                 for r in receipts])
            new = c.total_changes - before
            c.executemany("INSERT OR IGNORE INTO streams (store, register, epoch) VALUES (?,?,?)",
                          {(r.store, r.register, r.epoch) for r in receipts})
            c.executemany("INSERT OR IGNORE INTO reports VALUES (?,?,?,?,?,?,?)", [(*r, at) for r in reports])
            c.executemany("UPDATE commands SET ok=?, detail=?, answered_at=? WHERE command_id=?",
                          [(int(ok), detail, at, cid) for cid, ok, detail in results])
            c.executemany("INSERT INTO rejects (topic, reason, size, at) VALUES (?,?,?,?)",
                          [(*r, at) for r in rejects])
            for store, register, status in statuses:
                self.upsert_status(store, register, status, at)
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        return new

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
            "INSERT OR REPLACE INTO devices VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (store, register, status["state"], status.get("at"), status.get("pending"), status.get("quarantined"),
             status.get("oldest_pending_at"), status.get("last_sync_at"), status.get("firmware_version"),
             json.dumps(hardware) if hardware is not None else None, at))

    def record_command(self, command_id: str, store: str, register: str, command: str, args: dict[str, Any],
                       at: str) -> None:
        self.conn.execute("INSERT INTO commands (command_id, store, register, command, args, sent_at) "
                          "VALUES (?,?,?,?,?,?)", (command_id, store, register, command, json.dumps(args), at))

    def devices(self) -> list[dict[str, Any]]:
        cur = self.conn.execute("SELECT * FROM devices ORDER BY store, register")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    def receipt_counts(self) -> dict[tuple[str, str], int]:
        rows = self.conn.execute("SELECT store, register, COUNT(*) FROM receipts GROUP BY store, register")
        return {(s, r): n for s, r, n in rows}

    def epochs(self) -> list[tuple[str, str, str]]:
        return list(self.conn.execute("SELECT store, register, epoch FROM streams ORDER BY store, register, epoch"))

    def gaps(self, store: str | None = None, register: str | None = None, *, remember: bool = True) -> list[Gap]:
        """Missing seq ranges per register epoch, between 1 and the highest seq seen.

        Reads only the receipts above each epoch's `contiguous` mark; with `remember` the mark moves up to
        the first gap (the ingest does; `kassa-fleet status` only reads).
        """
        found: list[Gap] = []
        advanced: list[tuple[int, str, str, str]] = []
        streams = self.conn.execute("SELECT store, register, epoch, contiguous FROM streams "
                                    "ORDER BY store, register, epoch").fetchall()
        for s, r, e, mark in streams:
            if (store and s != store) or (register and r != register):
                continue
            contiguous = last = mark
            broken = False
            for (seq,) in self.conn.execute("SELECT seq FROM receipts WHERE store=? AND register=? AND epoch=? "
                                            "AND seq>? ORDER BY seq", (s, r, e, mark)):
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
