"""The fleet's ledger: receipts keyed by (store, register, epoch, seq), and every alarm about them.

SQLite by default (WAL, synchronous=FULL: a commit is on disk before any
MQTT ack is sent; several workers may share one file), or PostgreSQL for
many workers (`postgresql://...`, psycopg 3). The SQL is the same on both
(fleet.sql); a batch is loaded into a scratch table (COPY on PostgreSQL when
large) and stored with set-based statements, in key order, so concurrent
workers cannot deadlock.
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
  **restart**. A status's `ended_epochs` (contract 1.2: epochs the device
  announced that its journal lost) end those epochs at their heads, bounded
  per status and per device; a last will only records its epoch and head.
- **Plausibility.** Flags on the row (fleet.plausibility); a `seq_bound` row
  is left out of gap checks.

Gap checks must not read every receipt ever stored: `streams` keeps, per
epoch, the seq up to which every receipt is present (`contiguous`), and a
check reads only the receipts above it. Schema changes are numbered
migrations (fleet.schema).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from firmware.contract.chain import GENESIS
from firmware.contract.clock import parse_iso_utc
from fleet.plausibility import SEQ_JUMP
from fleet.schema import (
    SCHEMA_VERSION,  # noqa: F401 - re-exported
    SQLITE_V1 as SCHEMA_V1,  # noqa: F401 - tests build first-release files
)
from fleet.sql import Connection, DatabaseUnavailable, Tx, connect, is_postgres, sqlite_path

__all__ = ["FleetDb", "Gap", "ReceiptRow", "PunchRow", "DeviceStatus", "Head", "BatchOutcome", "Loss",
           "DatabaseUnavailable", "sqlite_path", "is_postgres"]

KEY = "store=? AND register=? AND epoch=?"
JOIN_KEY = "{a}.store={b}.store AND {a}.register={b}.register AND {a}.epoch={b}.epoch"
NOT_BOUND = "{strpos}(flags, 'seq_bound')=0"
# A status's `ended_epochs` (contract 1.2): at most this many read from one status (the contract's own bound), and
# per device at most MAX_UNHEARD_ENDED ended epochs the fleet holds no receipt of; past that a device's word about
# more is not stored (counted in BatchOutcome.ended_refused), so a hostile device cannot fill the database.
MAX_ENDED_PER_STATUS = 16
MAX_UNHEARD_ENDED = 64


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
    # its `accounts` entries (docs/accounts.md) as (type, account, entry JSON), stored with it when it is new
    accounts: tuple[tuple[str, str, str], ...] = ()
    # the single-use coupon codes a sale consumed (docs/promotions.md#on-the-fleet), stored with it when it is new
    coupons: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.store, self.register, self.epoch, self.seq)


@dataclass(frozen=True)
class PunchRow:
    """One time clock punch as the ingest read it (docs/timeclock.md), keyed like a receipt."""

    punch_id: str
    store: str
    register: str
    epoch: str
    seq: int
    clerk_id: str
    kind: str
    at: str
    clock_trusted: bool
    hash: str
    prev_hash: str
    body: str

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
    punches_new: int = 0
    punches_confirmed: list[PunchRow] = field(default_factory=list)
    punch_conflicts: list[PunchRow] = field(default_factory=list)
    stock_new: int = 0
    stock_conflicts: int = 0
    customers_new: int = 0
    customer_conflicts: int = 0
    ended_refused: list[tuple[str, str, int]] = field(default_factory=list)  # (store, register, n) not stored


@dataclass(frozen=True)
class Loss:
    """An ended epoch whose reported head was never fully received."""

    store: str
    register: str
    epoch: str
    head_seq: int
    missing: int


def _is_will(status: dict[str, Any]) -> bool:
    """A last will: offline and no `at` (a bare `{"state": "offline"}`, or contract 1.2's with epoch and head).
    A register going offline cleanly publishes a whole status, with `at`."""
    return status.get("state") == "offline" and status.get("at") is None


def _later(a: str, b: str) -> bool:
    """True when timestamp `a` is after `b` (ISO 8601; unreadable counts as not later)."""
    try:
        return parse_iso_utc(a) > parse_iso_utc(b)
    except ValueError:
        return False


def _on(a: str, b: str) -> str:
    return JOIN_KEY.format(a=a, b=b)


def _values(tx: Tx, sql: str, keys: Sequence[tuple[Any, ...]], types: tuple[str, ...] = ("text",) * 3 + ("bigint",),
            chunk: int = 500) -> list[tuple[Any, ...]]:
    """Run `sql` with `{values}` standing for a table `v` of the key tuples (columns v.column1, v.column2, ...).

    SQLite: `(VALUES (?,..), ...) AS v`, in chunks. PostgreSQL: `unnest` of one typed array per column, so the
    statement text never changes (psycopg prepares it) and it is planned as index lookups, unlike
    `(a, b) IN (VALUES ...)`. Returns the rows."""
    if not keys:
        return []
    width = len(keys[0])
    if tx.dialect == "postgresql":
        columns = ", ".join(f"column{n + 1}" for n in range(width))
        arrays = ", ".join(f"CAST(? AS {types[n]}[])" for n in range(width))
        table = f"unnest({arrays}) AS v({columns})"
        return tx.rows(sql.replace("{values}", table),
                       [_array_literal([key[n] for key in keys], types[n] != "text") for n in range(width)])
    found: list[tuple[Any, ...]] = []
    for i in range(0, len(keys), chunk):
        part = keys[i:i + chunk]
        marks = "(" + ",".join("?" * width) + ")"
        values = "(VALUES " + ",".join([marks] * len(part)) + ") AS v"
        found += tx.rows(sql.replace("{values}", values), [v for key in part for v in key])
    return found


def _array_literal(values: list[Any], numbers: bool) -> str:
    """One PostgreSQL array literal for a column of keys (`{"a","b"}`, `{1,2}`): sent as one text parameter
    and cast: psycopg dumps a list element by element (a regex per string), which was a large share of the
    store's Python time per receipt in a storm. Keys are never NULL."""
    if numbers:
        return "{" + ",".join(str(int(v)) for v in values) + "}"
    return "{" + ",".join('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


V_KEY3 = "t.store=v.column1 AND t.register=v.column2 AND t.epoch=v.column3"
V_KEY4 = V_KEY3 + " AND t.seq=CAST(v.column4 AS BIGINT)"


class FleetDb:
    """The ledger on one database; one FleetDb per thread (a SQLite connection, or a PostgreSQL pool)."""

    def __init__(self, url: str, *, pool_size: int = 2, migrate: bool = True) -> None:
        self.url = url
        self.db: Connection = connect(url, pool_size=pool_size)
        self.dialect = self.db.dialect
        self.path = Path(self.db.where) if self.dialect == "sqlite" else None
        if migrate:
            try:
                self.migrate()
            except BaseException:
                self.db.close()
                raise

    @property
    def conn(self) -> Any:
        """The SQLite connection (tests and tools that read SQLite directly)."""
        return getattr(self.db, "conn")  # noqa: B009 - only SQLite's Connection has .conn, the protocol does not

    def migrate(self) -> int:
        """Apply every numbered migration above the database's version, in one transaction."""
        return self.db.migrate()

    def try_lead(self, name: str = "gaps") -> bool:
        """Become (or stay) the one worker that runs `name`; another takes over when this process dies."""
        return self.db.try_lead(name)

    def close(self) -> None:
        self.db.close()

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.db.transaction() as tx:
            return tx.rows(sql, args)

    # ---- the batch ----

    def store_batch(self, receipts: Sequence[ReceiptRow], reports: Iterable[tuple[str, str, str, str, int | None, str]],
                    results: Iterable[tuple[str, bool, str]], rejects: Iterable[tuple[str, str, int]],
                    statuses: Iterable[DeviceStatus | tuple[str, str, dict[str, Any]]], at: str, *,
                    punches: Sequence[PunchRow] = (), mail: Sequence[tuple[Any, ...]] = (),
                    stock: Sequence[Any] = (), customers: Sequence[Any] = ()) -> BatchOutcome:
        """Write one batch in one transaction (durable on return); say what to confirm and answer.

        Raises DatabaseUnavailable when the database went away: nothing of the batch was kept."""
        out = BatchOutcome()
        with self.db.transaction() as tx:
            for status in sorted((s if isinstance(s, DeviceStatus) else DeviceStatus(*s) for s in statuses),
                                 key=lambda s: (s.store, s.register)):
                self._status(tx, status, at, out)
            if receipts:
                self._receipts(tx, receipts, at, out)
            if punches:
                self._punches(tx, punches, at, out)
            if mail:  # e-mail receipt requests, accepted (fleet.mailer.accept_request), as fleet.mailstore.add_args
                from fleet.mailstore import ADD_SQL

                tx.many(ADD_SQL, sorted(mail))
            if stock:  # stock deltas (docs/stock.md): (store, register, deltas) per message, fleet.stockdb
                from fleet.stockdb import store_stock

                found = store_stock(tx, stock, at)
                out.stock_new += found["new"]
                out.stock_conflicts += found["conflicts"]
            if customers:  # customer edits (docs/customers.md): (store, register, CustomerEdits), fleet.customerdb
                from fleet.customerdb import store_customers

                edits = store_customers(tx, customers, at)
                out.customers_new += edits["new"]
                out.customer_conflicts += edits["conflicts"]
            tx.many("INSERT INTO reports VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                    sorted((*r, at) for r in reports))
            tx.many("UPDATE commands SET ok=?, detail=?, answered_at=? WHERE command_id=?",
                    [(int(ok), detail, at, cid) for cid, ok, detail in results])
            tx.many("INSERT INTO rejects (topic, reason, size, at) VALUES (?,?,?,?)", [(*r, at) for r in rejects])
        return out

    def _receipts(self, tx: Tx, receipts: Sequence[ReceiptRow], at: str, out: BatchOutcome) -> None:
        """Store a batch with a handful of statements whatever its size (a storm's batch touches ~200 streams):
        one upsert and one read of its streams, a bulk load, one INSERT ... RETURNING, and one read of the
        neighbours its links need; the rest is decided here."""
        rows = sorted(enumerate(receipts), key=lambda p: (p[1].key, p[0]))
        streams = sorted({(r.store, r.register, r.epoch) for _i, r in rows})
        _values(tx, "INSERT INTO streams (store, register, epoch) SELECT v.column1, v.column2, v.column3 FROM {values} "
                    "WHERE 1=1 ON CONFLICT DO NOTHING", streams, ("text",) * 3)
        known = {tuple(k[:3]): k[3:] for k in _values(
            tx, "SELECT t.store, t.register, t.epoch, t.first_seq, t.top, t.head_seq, t.contiguous FROM {values} "
            f"JOIN streams t ON {V_KEY3}", streams, ("text",) * 3)}
        flags: dict[int, tuple[str, ...]] = {}
        for i, r in rows:
            first_seq, top, head_seq, contiguous = known[(r.store, r.register, r.epoch)]
            # a seq far beyond what the stream is known to hold: stored, flagged, left out of gap checks
            bound = r.seq > max(top, head_seq, contiguous, first_seq - 1) + SEQ_JUMP
            flags[i] = (*r.flags, "seq_bound") if bound else r.flags
        tx.load_incoming([(*r.key, r.receipt_id, r.kind, r.created_at, r.total, r.hash, r.prev_hash,
                           ",".join(flags[i]), r.body, i) for i, r in rows])
        inserted = {tuple(k) for k in tx.rows(
            "INSERT INTO receipts SELECT store, register, epoch, seq, receipt_id, kind, created_at, total, hash, "
            "prev_hash, flags, body, ? FROM incoming WHERE 1=1 ORDER BY store, register, epoch, seq, ord "
            "ON CONFLICT DO NOTHING RETURNING store, register, epoch, seq", (at,))}
        held: dict[tuple[str, str, str, int], str] = {}
        if len(inserted) < len(rows):  # duplicates or conflicts: what does the fleet hold under those keys?
            others = sorted({r.key for _i, r in rows if r.key not in inserted})
            held = {tuple(k[:4]): k[4] for k in _values(  # type: ignore[misc]
                tx, f"SELECT t.store, t.register, t.epoch, t.seq, t.hash FROM {{values}} JOIN receipts t ON {V_KEY4}",
                others)}
        conflicts, stored = [], []
        for i, row in rows:
            if row.key in inserted:
                inserted.discard(row.key)  # the first of its key in this batch is the one stored
                held[row.key] = row.hash
                out.new += 1
                out.confirmed.append(row)
                stored.append((row, flags[i]))
            elif held.get(row.key) == row.hash:
                # a duplicate: confirmed again, the device re-sends what it has not seen confirmed
                out.confirmed.append(row)
            else:
                conflicts.append((*row.key, row.receipt_id, row.hash, held.get(row.key, ""), row.body, at, at))
                out.conflicts.append(row)
        tx.many("INSERT INTO conflicts VALUES (?,?,?,?,?,?,?,?,?,?,1) ON CONFLICT (store, register, epoch, seq, hash) "
                "DO UPDATE SET last_at=excluded.last_at, times=conflicts.times+1", conflicts)
        # account movements of the receipts stored now, in the same transaction (a conflict's never: docs/accounts.md)
        tx.many("INSERT INTO account_movements VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                sorted((row.store, row.register, row.seq, idx, kind, account, body, at)
                       for row, _f in stored for idx, (kind, account, body) in enumerate(row.accounts)))
        # single-use coupons the new sales consumed (docs/promotions.md#on-the-fleet); a conflict's never count
        tx.many("INSERT INTO coupon_uses VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                sorted((code, *row.key, row.receipt_id, row.created_at, at)
                       for row, _f in stored for code in row.coupons))
        tops: dict[tuple[str, str, str], int] = {}
        for row, row_flags in stored:
            stream = (row.store, row.register, row.epoch)
            if "seq_bound" not in row_flags and row.seq > max(tops.get(stream, 0), known[stream][1]):
                tops[stream] = row.seq
        if tops:
            _values(tx, "UPDATE streams SET top=CAST(v.column4 AS BIGINT) FROM {values} WHERE streams.store=v.column1 "
                        "AND streams.register=v.column2 AND streams.epoch=v.column3 AND streams.top<CAST(v.column4 AS "
                        "BIGINT)", [(*k, t) for k, t in sorted(tops.items())])
        self._check_links(tx, [row for row, _f in stored], known, at, out)

    def _punches(self, tx: Tx, punches: Sequence[PunchRow], at: str, out: BatchOutcome) -> None:
        """Store new punches; the same key with the same hash is a duplicate (confirmed again), with another hash
        a conflict (kept in punch_conflicts, never confirmed): fleet.timeclock.classify's rule."""
        held: dict[tuple[str, str, str, int], str] = {tuple(k[:4]): k[4] for k in _values(  # type: ignore[misc]
            tx, f"SELECT t.store, t.register, t.epoch, t.seq, t.hash FROM {{values}} JOIN punches t ON {V_KEY4}",
            sorted({p.key for p in punches}))}
        new, conflicts = [], []
        for p in sorted(punches, key=lambda p: p.key):
            had = held.get(p.key)
            if had is None:
                held[p.key] = p.hash
                new.append((*p.key, p.punch_id, p.clerk_id, p.kind, p.at, int(p.clock_trusted), p.hash, p.prev_hash,
                            p.body, at))
                out.punches_confirmed.append(p)
            elif had == p.hash:
                out.punches_confirmed.append(p)
            else:
                conflicts.append((*p.key, p.punch_id, p.hash, had, p.body, at, at))
                out.punch_conflicts.append(p)
        tx.many("INSERT INTO punches VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING", new)
        tx.many("INSERT INTO punch_conflicts VALUES (?,?,?,?,?,?,?,?,?,?,1) ON CONFLICT (store, register, epoch, seq, "
                "hash) DO UPDATE SET last_at=excluded.last_at, times=punch_conflicts.times+1", conflicts)
        out.punches_new += len(new)

    def punch_bodies(self, store: str, first_at: str | None = None, last_at: str | None = None) -> list[str]:
        """The store's punches (as sent) with `at` in [first_at, last_at] (text compare of UTC timestamps)."""
        where, args = ["store=?"], [store]
        if first_at is not None:
            where.append("at>=?")
            args.append(first_at)
        if last_at is not None:
            where.append("at<=?")
            args.append(last_at)
        return [b for (b,) in self._read(f"SELECT body FROM punches WHERE {' AND '.join(where)} "
                                         "ORDER BY clerk_id, at, register, epoch, seq", args)]

    def mail_counts(self) -> dict[tuple[str, str], dict[str, int]]:
        """E-mail receipt requests per register and state (queued, sending, sent, failed)."""
        out: dict[tuple[str, str], dict[str, int]] = {}
        for store, register, state, n in self._read("SELECT store, register, state, COUNT(*) FROM mail_requests "
                                                     "GROUP BY store, register, state"):
            out.setdefault((store, register), {})[state] = int(n)
        return out

    def stock_oversells(self) -> list[dict[str, Any]]:
        """Oversell flags not yet acknowledged (docs/stock.md)."""
        names = ("store", "sku", "since_register", "since_seq", "first_register", "first_seq", "at", "lowest", "sold",
                 "first_seen", "updated_at")
        rows = self._dicts(f"SELECT {', '.join(names)} FROM stock_oversells WHERE acknowledged_at IS NULL "
                           "ORDER BY store, sku, since_register, since_seq", names)
        for row in rows:
            row["sold"] = json.loads(row["sold"])
        return rows

    def stock_conflicts(self) -> list[dict[str, Any]]:
        names = ("store", "register", "seq", "body", "first_at", "last_at", "times")
        return self._dicts(f"SELECT {', '.join(names)} FROM stock_conflicts ORDER BY store, register, seq", names)

    def stock_levels(self, store: str) -> dict[str, int]:
        return {sku: int(level) for sku, level in self._read("SELECT sku, level FROM stock_levels WHERE store=? "
                                                             "ORDER BY sku", (store,))}

    def stock_upto(self, store: str) -> dict[str, int]:
        return {r: int(c) for r, c in self._read("SELECT register, contiguous FROM stock_streams WHERE store=? "
                                                 "ORDER BY register", (store,))}

    def stock_rows(self, store: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self._read("SELECT register, seq, sku, kind, qty, at, ref, basis FROM stock_deltas "
                                             "WHERE store=? ORDER BY register, seq", (store,))]

    def stock_policies(self, store: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self._read("SELECT sku, low, past_zero, track FROM stock_policies WHERE store=? "
                                             "ORDER BY sku", (store,))]

    def set_stock_policy(self, store: str, sku: str, *, low: int, past_zero: str, track: bool) -> None:
        """Record (replace) the stock policy of an sku, or the shop's default (`sku` ""); the next snapshot
        carries it to the tills (docs/stock.md)."""
        if past_zero not in ("warn", "manager") or not 0 <= low <= 10**9:
            raise ValueError(f"stock policy: low {low}, past_zero {past_zero!r}")
        with self.db.transaction() as tx:
            tx.run("INSERT INTO stock_policies VALUES (?,?,?,?,?) ON CONFLICT (store, sku) DO UPDATE SET "
                   "low=excluded.low, past_zero=excluded.past_zero, track=excluded.track",
                   (store, sku, low, past_zero, int(track)))

    def last_stock_version(self, store: str) -> int | None:
        found = self._read("SELECT version FROM stock_snapshots WHERE store=?", (store,))
        return int(found[0][0]) if found else None

    def record_stock_snapshot(self, store: str, version: int, at: str, body: str) -> None:
        with self.db.transaction() as tx:
            tx.run("INSERT INTO stock_snapshots VALUES (?,?,?,?) ON CONFLICT (store) DO UPDATE SET "
                   "version=excluded.version, at=excluded.at, body=excluded.body", (store, version, at, body))

    def punch_stores(self) -> list[str]:
        return [s for (s,) in self._read("SELECT DISTINCT store FROM punches ORDER BY store")]

    def punch_conflicts(self) -> list[dict[str, Any]]:
        names = ("store", "register", "epoch", "seq", "punch_id", "hash", "held_hash", "first_at", "last_at", "times")
        return self._dicts(f"SELECT {', '.join(names)} FROM punch_conflicts ORDER BY store, register, epoch, seq",
                           names)

    def _check_links(self, tx: Tx, stored: list[ReceiptRow], known: dict[tuple[str, ...], tuple[int, ...]],
                     at: str, out: BatchOutcome) -> None:
        """Links of every receipt this batch stored, both ways, so receipts may arrive in any order: to its
        neighbours in the batch here, to those already held in one read."""
        mine = {row.key: row for row in stored}
        wanted = sorted({(*r.key[:3], r.seq - 1) for r in stored if (*r.key[:3], r.seq - 1) not in mine}
                        | {(*r.key[:3], r.seq + 1) for r in stored if (*r.key[:3], r.seq + 1) not in mine})
        near = {tuple(k[:4]): (k[4], k[5]) for k in _values(
            tx, f"SELECT t.store, t.register, t.epoch, t.seq, t.hash, t.prev_hash FROM {{values}} JOIN receipts t ON "
            f"{V_KEY4}", wanted)} if wanted else {}
        near.update({key: (row.hash, row.prev_hash) for key, row in mine.items()})
        breaks = []
        restarts = []
        for row in stored:
            stream = row.key[:3]
            first_seq = known[stream][0]
            before = near.get((*stream, row.seq - 1))
            if row.seq > first_seq and before is not None and before[0] != row.prev_hash:
                breaks.append((*row.key, f"prev_hash does not match the hash of seq {row.seq - 1}", at))
            after = near.get((*stream, row.seq + 1))
            if after is not None and after[1] != row.hash and (*stream, row.seq + 1) not in mine:
                breaks.append((*stream, row.seq + 1, f"prev_hash does not match the hash of seq {row.seq}", at))
            if row.seq == first_seq and row.prev_hash == GENESIS:
                restarts.append(stream)
        if breaks:
            before_count = len(breaks)
            tx.many("INSERT INTO chain_breaks VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING", breaks)
            out.chain_breaks += before_count
        for s, r, e in restarts:
            # a device with earlier epochs started one from nothing: its journal was lost or replaced
            tx.run("UPDATE streams SET restarted=1 WHERE store=? AND register=? AND epoch=? AND restarted=0 AND "
                   "EXISTS (SELECT 1 FROM streams o WHERE o.store=? AND o.register=? AND o.epoch!=?)",
                   (s, r, e, s, r, e))

    def _status(self, tx: Tx, status: DeviceStatus, at: str, out: BatchOutcome) -> None:
        """Record a device's retained status; with an epoch, check it against the ledger and answer its head.

        A last will (offline, no `at`; contract 1.2 names the epoch and the head as of the connect) only records
        that epoch and raises its head: it says nothing about which epoch is current, and nobody awaits an answer.
        Its `ended_epochs`, like a status's, are recorded as ended with their heads (`_ended`)."""
        self._upsert_device(tx, status.store, status.register, status.fields, at)
        epoch = status.get("epoch")
        if not isinstance(epoch, str):
            return
        s, r = status.store, status.register
        first_seq = status.get("epoch_first_seq") or 1
        head_seq = status.get("head_seq") or 0
        tx.run("INSERT INTO streams (store, register, epoch) VALUES (?,?,?) ON CONFLICT DO NOTHING", (s, r, epoch))
        if _is_will(status.fields):
            tx.run(f"UPDATE streams SET first_seq=?, head_seq={{greatest}}(head_seq, ?) WHERE {KEY}",
                   (first_seq, head_seq, s, r, epoch))
            self._ended(tx, s, r, epoch, status.get("ended_epochs"), out)
            return
        tx.run("UPDATE streams SET first_seq=?, head_seq={greatest}(head_seq, ?), "
               "contiguous={greatest}(contiguous, ?), "
               f"ended=0 WHERE {KEY}", (first_seq, head_seq, first_seq - 1, s, r, epoch))
        tx.run("UPDATE streams SET ended=1 WHERE store=? AND register=? AND epoch!=? AND ended=0", (s, r, epoch))
        self._ended(tx, s, r, epoch, status.get("ended_epochs"), out)
        top = tx.rows(f"SELECT seq, hash FROM receipts WHERE {KEY} AND {NOT_BOUND} ORDER BY seq DESC LIMIT 1",
                      (s, r, epoch))
        out.heads.append(Head(s, r, epoch, top[0][0] if top else 0, top[0][1] if top else None))
        if not top:
            return
        top_seq = top[0][0]
        said_at = status.get("at")
        detail = None
        if top_seq > head_seq and isinstance(said_at, str):
            ahead = tx.rows(f"SELECT created_at FROM receipts WHERE {KEY} AND seq>? AND {NOT_BOUND}",
                            (s, r, epoch, head_seq))
            if any(not _later(created, said_at) for (created,) in ahead):
                detail = (f"device reported head seq {head_seq} at {said_at}, but the fleet holds seq up to {top_seq} "
                          "made before then: its journal was rolled back")
        held = status.get("head_hash")
        if detail is None and head_seq and isinstance(held, str):
            mine = tx.rows(f"SELECT hash FROM receipts WHERE {KEY} AND seq=?", (s, r, epoch, head_seq))
            if mine and mine[0][0] != held:
                detail = f"device's receipt seq {head_seq} is not the one the fleet holds: its journal diverged"
        if detail is not None:
            out.rollbacks += tx.run("INSERT INTO rollbacks VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                                    (s, r, epoch, head_seq, top_seq, detail, at))

    def _ended(self, tx: Tx, s: str, r: str, current: str, entries: Any, out: BatchOutcome) -> None:
        """Record a status's `ended_epochs` (contract 1.2): each an ended epoch of this device with the head it
        announced, idempotently (a head only ever grows). An entry naming the status's own epoch is ignored;
        one status gives at most MAX_ENDED_PER_STATUS, and epochs the fleet knows nothing else of (no receipt)
        are stored while the device has fewer than MAX_UNHEARD_ENDED such ended epochs."""
        if not isinstance(entries, list):
            return
        wanted: dict[str, tuple[int, int]] = {}  # epoch -> (first_seq, head_seq)
        for entry in entries[:MAX_ENDED_PER_STATUS]:
            if not isinstance(entry, dict):
                continue
            epoch, head, first = entry.get("epoch"), entry.get("head_seq"), entry.get("first_seq")
            if not isinstance(epoch, str) or epoch == current or type(head) is not int or head < 0:
                continue
            first = first if type(first) is int and first >= 1 else 1
            if head > wanted.get(epoch, (first, -1))[1]:
                wanted[epoch] = (first, head)
        if not wanted:
            return
        keys = sorted((s, r, epoch) for epoch in wanted)
        known = {row[0]: (int(row[1]), int(row[2])) for row in _values(
            tx, f"SELECT t.epoch, t.head_seq, t.ended FROM {{values}} JOIN streams t ON {V_KEY3}", keys,
            ("text",) * 3)}
        new = [k for k in keys if k[2] not in known]
        if new:
            unheard = tx.rows("SELECT COUNT(*) FROM (SELECT 1 FROM streams WHERE store=? AND register=? AND ended=1 "
                              "AND top=0 LIMIT ?) AS unheard", (s, r, MAX_UNHEARD_ENDED))[0][0]
            room = max(0, MAX_UNHEARD_ENDED - int(unheard))
            if len(new) > room:
                out.ended_refused.append((s, r, len(new) - room))
                new = new[:room]
            tx.many("INSERT INTO streams (store, register, epoch, first_seq, head_seq, contiguous, ended) "
                    "VALUES (?,?,?,?,?,?,1) ON CONFLICT DO NOTHING",
                    [(*k, wanted[k[2]][0], wanted[k[2]][1], wanted[k[2]][0] - 1) for k in new])
        grow = [(wanted[e][1], s, r, e) for _s, _r, e in keys
                if e in known and (known[e][0] < wanted[e][1] or not known[e][1])]
        tx.many(f"UPDATE streams SET head_seq={{greatest}}(head_seq, ?), ended=1 WHERE {KEY}", grow)

    def _upsert_device(self, tx: Tx, store: str, register: str, status: dict[str, Any], at: str) -> None:
        """Record a device's retained status. A last will changes the state; its epoch and head (contract 1.2)
        only where the fleet knows no epoch of the device yet: the rest of what the device said stays."""
        if _is_will(status):
            epoch, head = status.get("epoch"), status.get("head_seq")
            tx.run("INSERT INTO devices (store, register, state, updated_at, epoch, head_seq) VALUES (?,?,?,?,?,?) "
                   "ON CONFLICT (store, register) DO UPDATE SET state=excluded.state, updated_at=excluded.updated_at, "
                   "head_seq=CASE WHEN devices.epoch IS NULL THEN excluded.head_seq ELSE devices.head_seq END, "
                   "epoch=COALESCE(devices.epoch, excluded.epoch)",
                   (store, register, status["state"], at, epoch if isinstance(epoch, str) else None,
                    head if type(head) is int else None))
            return
        hardware = status.get("hardware")
        columns = ("state", "at", "pending", "quarantined", "oldest_pending_at", "last_sync_at", "firmware_version",
                   "hardware", "updated_at", "epoch", "head_seq", "conflicts", "rollbacks")
        values = {**{c: status.get(c) for c in columns}, "hardware": json.dumps(hardware) if hardware is not None
                  else None, "updated_at": at}
        tx.run(f"INSERT INTO devices (store, register, {', '.join(columns)}) VALUES "
               f"({','.join('?' * (len(columns) + 2))}) ON CONFLICT (store, register) DO UPDATE SET "
               + ", ".join(f"{c}=excluded.{c}" for c in columns), (store, register, *(values[c] for c in columns)))

    def upsert_status(self, store: str, register: str, status: dict[str, Any], at: str) -> None:
        with self.db.transaction() as tx:
            self._upsert_device(tx, store, register, status, at)

    def record_command(self, command_id: str, store: str, register: str, command: str, args: dict[str, Any],
                       at: str) -> None:
        with self.db.transaction() as tx:
            tx.run("INSERT INTO commands (command_id, store, register, command, args, sent_at) VALUES (?,?,?,?,?,?)",
                   (command_id, store, register, command, json.dumps(args), at))

    # ---- reading ----

    def _dicts(self, sql: str, names: Sequence[str], args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        # strict=False: `names` is given next to the SQL, not derived from it; zip as before
        return [dict(zip(names, row, strict=False)) for row in self._read(sql, args)]

    def devices(self) -> list[dict[str, Any]]:
        names = ("store", "register", "state", "at", "pending", "quarantined", "oldest_pending_at", "last_sync_at",
                 "firmware_version", "hardware", "updated_at", "epoch", "head_seq", "conflicts", "rollbacks")
        return self._dicts(f"SELECT {', '.join(names)} FROM devices ORDER BY store, register", names)

    def receipt_counts(self) -> dict[tuple[str, str], int]:
        return {(s, r): n for s, r, n in self._read("SELECT store, register, COUNT(*) FROM receipts "
                                                    "GROUP BY store, register")}

    def epochs(self) -> list[tuple[str, str, str]]:
        return [tuple(r) for r in self._read("SELECT store, register, epoch FROM streams "  # type: ignore[misc]
                                             "ORDER BY store, register, epoch")]

    def conflicts(self) -> list[dict[str, Any]]:
        names = ("store", "register", "epoch", "seq", "receipt_id", "hash", "held_hash", "first_at", "last_at", "times")
        return self._dicts(f"SELECT {', '.join(names)} FROM conflicts ORDER BY store, register, epoch, seq", names)

    def chain_breaks(self) -> list[dict[str, Any]]:
        names = ("store", "register", "epoch", "seq", "detail", "at")
        return self._dicts(f"SELECT {', '.join(names)} FROM chain_breaks ORDER BY store, register, epoch, seq", names)

    def rollbacks(self) -> list[dict[str, Any]]:
        names = ("store", "register", "epoch", "device_seq", "fleet_seq", "detail", "at")
        return self._dicts(f"SELECT {', '.join(names)} FROM rollbacks ORDER BY store, register, at", names)

    def restarts(self) -> list[tuple[str, str, str]]:
        return [tuple(r) for r in self._read("SELECT store, register, epoch FROM streams "  # type: ignore[misc]
                                             "WHERE restarted=1 ORDER BY store, register, epoch")]

    def flag_counts(self) -> dict[tuple[str, str], dict[str, int]]:
        counts: dict[tuple[str, str], dict[str, int]] = {}
        for s, r, flags, n in self._read("SELECT store, register, flags, COUNT(*) FROM receipts WHERE flags != '' "
                                         "GROUP BY store, register, flags"):
            per = counts.setdefault((s, r), {})
            for flag in flags.split(","):
                per[flag] = per.get(flag, 0) + n
        return counts

    def reject_counts(self) -> list[tuple[str, int]]:
        return [(t, n) for t, n in self._read("SELECT topic, COUNT(*) FROM rejects GROUP BY topic ORDER BY topic")]

    # ---- accounts (docs/accounts.md) ----

    def account_movements(self) -> list[tuple[str, str, int, int, str]]:
        """Every stored account movement as (store, register, seq, index, entry JSON), in key order."""
        return [tuple(r) for r in self._read(  # type: ignore[misc]
            "SELECT store, register, seq, idx, body FROM account_movements ORDER BY store, register, seq, idx")]

    def receipt_seqs(self) -> list[tuple[str, str, int]]:
        """(store, register, seq) of every receipt held (seqs run on across epochs), flagged seq_bound left out."""
        return [tuple(r) for r in self._read(  # type: ignore[misc]
            f"SELECT DISTINCT store, register, seq FROM receipts WHERE {NOT_BOUND} ORDER BY store, register, seq")]

    def coupon_reuses(self) -> list[dict[str, Any]]:
        """Single-use coupon codes redeemed by more than one stored sale (two registers during an outage, or one
        register twice): one dict per code with every use (store, register, receipt_id, created_at), oldest first."""
        rows = self._read(
            "SELECT code, store, register, receipt_id, created_at, ingested_at FROM coupon_uses WHERE code IN "
            "(SELECT code FROM coupon_uses GROUP BY code HAVING COUNT(*) > 1) "
            "ORDER BY code, created_at, store, register, epoch, seq")
        found: dict[str, list[dict[str, Any]]] = {}
        for code, store, register, receipt_id, created_at, ingested_at in rows:
            found.setdefault(code, []).append({"store": store, "register": register, "receipt_id": receipt_id,
                                               "created_at": created_at, "ingested_at": ingested_at})
        return [{"code": code, "uses": uses} for code, uses in found.items()]

    def account_book(self) -> list[dict[str, Any]]:
        names = ("ledger", "account", "balance", "last4", "credit_limit", "card_limit", "blocked")
        return self._dicts(f"SELECT {', '.join(names)} FROM account_book ORDER BY ledger, account", names)

    def set_book_entry(self, ledger: str, account: str, *, balance: int = 0, last4: str | None = None,
                       credit_limit: int | None = None, card_limit: int | None = None, blocked: bool = False) -> None:
        """Record (replace) one account of the book: `ledger` is loyalty, gift_cards or on_account."""
        if ledger not in ("loyalty", "gift_cards", "on_account"):
            raise ValueError(f"unknown ledger {ledger!r}")
        with self.db.transaction() as tx:
            tx.run("INSERT INTO account_book VALUES (?,?,?,?,?,?,?) ON CONFLICT (ledger, account) DO UPDATE SET "
                   "balance=excluded.balance, last4=excluded.last4, credit_limit=excluded.credit_limit, "
                   "card_limit=excluded.card_limit, blocked=excluded.blocked",
                   (ledger, account, balance, last4, credit_limit, card_limit, int(blocked)))

    def replace_account_flags(self, flags: Iterable[tuple[str, str, int, int | None, str | None, str, str]],
                              at: str) -> None:
        """The last reconcile pass's flags, replacing the previous pass's whole."""
        with self.db.transaction() as tx:
            tx.run("DELETE FROM account_flags")
            tx.many("INSERT INTO account_flags VALUES (?,?,?,?,?,?,?,?)", [(*f, at) for f in flags])

    def account_flags(self) -> list[dict[str, Any]]:
        names = ("kind", "account", "balance", "credit_limit", "last4", "registers", "approved_by", "at")
        return self._dicts(f"SELECT {', '.join(names)} FROM account_flags ORDER BY kind, account", names)

    def last_accounts_version(self, store: str) -> int | None:
        found = self._read("SELECT MAX(version) FROM account_snapshots WHERE store=?", (store,))
        return int(found[0][0]) if found and found[0][0] is not None else None

    def record_accounts_snapshot(self, store: str, version: int, issued_at: str, body: str, at: str) -> None:
        with self.db.transaction() as tx:
            tx.run("INSERT INTO account_snapshots VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
                   (store, version, issued_at, at, body))

    def losses(self) -> list[Loss]:
        """Ended epochs whose last reported head seq never fully arrived, with the count missing."""
        found = []
        for s, r, e, first, head, held in self._read(
                "SELECT s.store, s.register, s.epoch, s.first_seq, s.head_seq, (SELECT COUNT(*) FROM receipts r "
                f"WHERE {_on('r', 's')} AND r.seq BETWEEN s.first_seq AND s.head_seq) FROM streams s "
                "WHERE s.ended=1 AND s.head_seq>0 ORDER BY s.store, s.register, s.epoch"):
            missing = head - first + 1 - held
            if missing > 0:
                found.append(Loss(s, r, e, head, missing))
        return found

    def gaps(self, store: str | None = None, register: str | None = None, *, remember: bool = True,
             include_ended: bool = False) -> list[Gap]:
        """Missing seq ranges per register epoch, between the epoch's first seq and the highest seq seen.

        One query reads the receipts above each epoch's `contiguous` mark; with `remember` the mark moves up
        to the first gap (the ingest does; `kassa-fleet status` only reads). Rows flagged `seq_bound` are
        left out. Ended epochs are skipped unless `include_ended` (their holes are reported as losses).
        """
        where = ["r.seq > s.contiguous", "{strpos}(r.flags, 'seq_bound')=0"]
        args: list[Any] = []
        if not include_ended:
            where.append("s.ended=0")
        if store:
            where.append("s.store=?")
            args.append(store)
        if register:
            where.append("s.register=?")
            args.append(register)
        found: list[Gap] = []
        advanced: list[tuple[str, str, str, int]] = []
        with self.db.transaction() as tx:
            rows = tx.rows(f"SELECT s.store, s.register, s.epoch, s.contiguous, r.seq FROM streams s JOIN receipts r "
                           f"ON {_on('r', 's')} WHERE {' AND '.join(where)} ORDER BY s.store, s.register, s.epoch, "
                           "r.seq", args)
            stream: tuple[str, str, str] | None = None
            contiguous = last = mark = 0
            broken = False
            for s, r, e, m, seq in [*rows, (None, None, None, 0, 0)]:
                if (s, r, e) != stream:
                    if stream is not None and contiguous > mark:
                        advanced.append((*stream, contiguous))
                    if s is None:
                        break
                    stream, contiguous, last, mark, broken = (s, r, e), m, m, m, False
                if seq > last + 1:
                    found.append(Gap(s, r, e, last + 1, seq - 1))
                    broken = True
                if not broken:
                    contiguous = seq
                last = seq
            if remember and advanced:
                # one statement, not one per stream: the rows it locks are the ones the ingest's batches update
                # (their tops), and a storm's first check advances every stream at once
                _values(tx, "UPDATE streams SET contiguous=CAST(v.column4 AS BIGINT) FROM {values} WHERE "
                            "streams.store=v.column1 AND streams.register=v.column2 AND streams.epoch=v.column3 AND "
                            "streams.contiguous<CAST(v.column4 AS BIGINT)", advanced)
        return found
