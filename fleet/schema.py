"""The fleet database's schema as numbered migrations, for SQLite and PostgreSQL.

SQLite records its version in `PRAGMA user_version`, PostgreSQL in the table
`kassa_schema`. Version 1 is the first release (SQLite only: receipts keyed
by `receipt_id`); version 2 the ledger-integrity release (contract 1.1),
reached on SQLite by migrating version 1 and created directly on
PostgreSQL. Later versions are one script for both where the SQL agrees.
"""

from __future__ import annotations

from fleet.mailer import MAIL_SQL
from fleet.timeclock import PUNCHES_SQL

SCHEMA_VERSION = 8

# Version 1: the first release (receipts keyed by receipt_id `register:epoch:seq`).
SQLITE_V1 = """
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

# The tables version 2 adds, the same on both databases.
_LEDGER_TABLES = """
CREATE TABLE conflicts (
    store TEXT NOT NULL, register TEXT NOT NULL, epoch TEXT NOT NULL, seq BIGINT NOT NULL,
    receipt_id TEXT NOT NULL, hash TEXT NOT NULL, held_hash TEXT NOT NULL, body TEXT NOT NULL,
    first_at TEXT NOT NULL, last_at TEXT NOT NULL, times INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (store, register, epoch, seq, hash)
);
CREATE TABLE chain_breaks (
    store TEXT NOT NULL, register TEXT NOT NULL, epoch TEXT NOT NULL, seq BIGINT NOT NULL,
    detail TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (store, register, epoch, seq)
);
CREATE TABLE rollbacks (
    store TEXT NOT NULL, register TEXT NOT NULL, epoch TEXT NOT NULL, device_seq BIGINT NOT NULL,
    fleet_seq BIGINT NOT NULL, detail TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (store, register, epoch, device_seq)
);
"""

_RECEIPTS_V2 = """
CREATE TABLE receipts (
    store TEXT NOT NULL, register TEXT NOT NULL, epoch TEXT NOT NULL, seq BIGINT NOT NULL,
    receipt_id TEXT NOT NULL, kind TEXT NOT NULL, created_at TEXT NOT NULL, total BIGINT NOT NULL,
    hash TEXT NOT NULL, prev_hash TEXT NOT NULL, flags TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL, ingested_at TEXT NOT NULL,
    PRIMARY KEY (store, register, epoch, seq)
);
CREATE INDEX receipts_flagged ON receipts (store, register) WHERE flags != '';
"""

# Version 2 on SQLite: the ledger-integrity release, migrated from version 1 in one transaction.
SQLITE_V2 = """
ALTER TABLE receipts RENAME TO receipts_v1;
DROP INDEX IF EXISTS receipts_by_seq;
""" + _RECEIPTS_V2 + """
INSERT INTO receipts
    SELECT store, register, epoch, seq, receipt_id, kind, created_at, total,
           COALESCE(json_extract(body, '$.hash'), ''), COALESCE(json_extract(body, '$.prev_hash'), ''), '',
           body, ingested_at
    FROM receipts_v1 ORDER BY store, register, epoch, seq;
DROP TABLE receipts_v1;
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
""" + _LEDGER_TABLES

# Version 2 on PostgreSQL: created whole (there never was a version 1 there).
POSTGRES_V2 = _RECEIPTS_V2 + """
CREATE TABLE reports (
    report_id TEXT NOT NULL, store TEXT NOT NULL, register TEXT NOT NULL,
    kind TEXT NOT NULL, z_number BIGINT, body TEXT NOT NULL, ingested_at TEXT NOT NULL,
    PRIMARY KEY (store, register, report_id)
);
CREATE TABLE devices (
    store TEXT NOT NULL, register TEXT NOT NULL, state TEXT NOT NULL,
    at TEXT, pending BIGINT, quarantined BIGINT, oldest_pending_at TEXT, last_sync_at TEXT,
    firmware_version TEXT, hardware TEXT, updated_at TEXT NOT NULL,
    epoch TEXT, head_seq BIGINT, conflicts BIGINT, rollbacks BIGINT,
    PRIMARY KEY (store, register)
);
CREATE TABLE commands (
    command_id TEXT PRIMARY KEY, store TEXT NOT NULL, register TEXT NOT NULL,
    command TEXT NOT NULL, args TEXT NOT NULL, sent_at TEXT NOT NULL,
    ok INTEGER, detail TEXT, answered_at TEXT
);
CREATE TABLE streams (
    store TEXT NOT NULL, register TEXT NOT NULL, epoch TEXT NOT NULL,
    contiguous BIGINT NOT NULL DEFAULT 0, first_seq BIGINT NOT NULL DEFAULT 1, head_seq BIGINT NOT NULL DEFAULT 0,
    top BIGINT NOT NULL DEFAULT 0, ended INTEGER NOT NULL DEFAULT 0, restarted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (store, register, epoch)
);
CREATE TABLE rejects (
    id BIGSERIAL PRIMARY KEY, topic TEXT NOT NULL, reason TEXT NOT NULL, size BIGINT NOT NULL, at TEXT NOT NULL
);
""" + _LEDGER_TABLES

# Version 3: accounts (docs/accounts.md). Each stored receipt's `accounts` entries, keyed by the receipt
# (store, register, seq: seqs run on across epochs) and the entry's index, written in the receipt's transaction;
# the book (balances and limits kept outside receipts); the flags of the last reconcile pass (replaced whole);
# the snapshots published per store.
V3_ACCOUNTS = """
CREATE TABLE account_movements (
    store TEXT NOT NULL, register TEXT NOT NULL, seq BIGINT NOT NULL, idx INTEGER NOT NULL,
    type TEXT NOT NULL, account TEXT NOT NULL, body TEXT NOT NULL, ingested_at TEXT NOT NULL,
    PRIMARY KEY (store, register, seq, idx)
);
CREATE INDEX account_movements_by_account ON account_movements (account);
CREATE TABLE account_book (
    ledger TEXT NOT NULL, account TEXT NOT NULL, balance BIGINT NOT NULL DEFAULT 0, last4 TEXT,
    credit_limit BIGINT, card_limit BIGINT, blocked INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (ledger, account)
);
CREATE TABLE account_flags (
    kind TEXT NOT NULL, account TEXT NOT NULL, balance BIGINT NOT NULL, credit_limit BIGINT, last4 TEXT,
    registers TEXT NOT NULL, approved_by TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (kind, account)
);
CREATE TABLE account_snapshots (
    store TEXT NOT NULL, version BIGINT NOT NULL, issued_at TEXT NOT NULL, published_at TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (store, version)
);
"""

# Version 4: the time clock's punches and their conflicts (docs/timeclock.md; fleet.timeclock.PUNCHES_SQL).
V4_PUNCHES = PUNCHES_SQL

# Version 5: e-mail receipt requests and their sent-state (docs/digital-receipts.md; fleet.mailer.MAIL_SQL).
V5_MAIL = MAIL_SQL

# Version 6: stock deltas, their conflicts, contiguous seqs, levels, oversells, policies and snapshots
# (docs/stock.md#integration; written by fleet.stockdb in the ingest's batch transaction).
V6_STOCK = """
CREATE TABLE stock_deltas (
    store TEXT NOT NULL, register TEXT NOT NULL, seq BIGINT NOT NULL,
    sku TEXT NOT NULL, kind TEXT NOT NULL, qty BIGINT NOT NULL, at TEXT NOT NULL,
    ref TEXT, basis TEXT,
    ingested_at TEXT NOT NULL,
    PRIMARY KEY (store, register, seq)
);
CREATE INDEX stock_deltas_by_sku ON stock_deltas (store, sku);
CREATE TABLE stock_conflicts (
    store TEXT NOT NULL, register TEXT NOT NULL, seq BIGINT NOT NULL, body TEXT NOT NULL,
    first_at TEXT NOT NULL, last_at TEXT NOT NULL, times INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (store, register, seq, body)
);
CREATE TABLE stock_streams (
    store TEXT NOT NULL, register TEXT NOT NULL, contiguous BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (store, register)
);
CREATE TABLE stock_levels (
    store TEXT NOT NULL, sku TEXT NOT NULL, level BIGINT NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (store, sku)
);
CREATE TABLE stock_oversells (
    store TEXT NOT NULL, sku TEXT NOT NULL,
    since_register TEXT NOT NULL DEFAULT '', since_seq BIGINT NOT NULL DEFAULT 0,
    first_register TEXT NOT NULL, first_seq BIGINT NOT NULL, at TEXT NOT NULL,
    lowest BIGINT NOT NULL, sold TEXT NOT NULL,
    first_seen TEXT NOT NULL, updated_at TEXT NOT NULL, acknowledged_at TEXT,
    PRIMARY KEY (store, sku, since_register, since_seq)
);
CREATE TABLE stock_policies (
    store TEXT NOT NULL, sku TEXT NOT NULL, low BIGINT NOT NULL DEFAULT 0,
    past_zero TEXT NOT NULL DEFAULT 'warn', track INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (store, sku)
);
CREATE TABLE stock_snapshots (
    store TEXT PRIMARY KEY, version BIGINT NOT NULL, at TEXT NOT NULL, body TEXT NOT NULL
);
"""

# Version 7: single-use coupon codes each stored sale consumed (docs/promotions.md#on-the-fleet), written with the
# receipt in the batch's transaction. A code in more than one row was redeemed twice: `kassa-fleet status` flags it.
V7_COUPONS = """
CREATE TABLE coupon_uses (
    code TEXT NOT NULL, store TEXT NOT NULL, register TEXT NOT NULL, epoch TEXT NOT NULL, seq BIGINT NOT NULL,
    receipt_id TEXT NOT NULL, created_at TEXT NOT NULL, ingested_at TEXT NOT NULL,
    PRIMARY KEY (store, register, epoch, seq, code)
);
CREATE INDEX coupon_uses_by_code ON coupon_uses (code);
"""

# Version 8: customer edits in the fleet's receive order (`received`, numbered per store under the
# customer_streams row's lock), conflicting edits set aside, and the last customer list published per store
# (docs/customers.md; written by fleet.customerdb in the ingest's batch transaction).
V8_CUSTOMERS = """
CREATE TABLE customer_edits (
    store TEXT NOT NULL, register TEXT NOT NULL, epoch TEXT NOT NULL, seq BIGINT NOT NULL,
    received BIGINT NOT NULL, customer_id TEXT NOT NULL, body TEXT NOT NULL, ingested_at TEXT NOT NULL,
    PRIMARY KEY (store, register, epoch, seq)
);
CREATE INDEX customer_edits_by_received ON customer_edits (store, received);
CREATE TABLE customer_conflicts (
    store TEXT NOT NULL, register TEXT NOT NULL, epoch TEXT NOT NULL, seq BIGINT NOT NULL,
    customer_id TEXT NOT NULL, body TEXT NOT NULL, held_body TEXT NOT NULL,
    first_at TEXT NOT NULL, last_at TEXT NOT NULL, times INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (store, register, epoch, seq, body)
);
CREATE TABLE customer_streams (
    store TEXT PRIMARY KEY, received BIGINT NOT NULL DEFAULT 0, arrivals BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE customer_lists (
    store TEXT PRIMARY KEY, version BIGINT NOT NULL, published_at TEXT NOT NULL, arrivals BIGINT NOT NULL,
    duplicate_codes TEXT NOT NULL
);
"""

MIGRATIONS: dict[str, tuple[tuple[int, str], ...]] = {
    "sqlite": ((1, SQLITE_V1), (2, SQLITE_V2), (3, V3_ACCOUNTS), (4, V4_PUNCHES), (5, V5_MAIL), (6, V6_STOCK),
               (7, V7_COUPONS), (8, V8_CUSTOMERS)),
    "postgresql": ((2, POSTGRES_V2), (3, V3_ACCOUNTS), (4, V4_PUNCHES), (5, V5_MAIL), (6, V6_STOCK),
                   (7, V7_COUPONS), (8, V8_CUSTOMERS)),
}

# The batch's scratch table (one per connection), loaded with executemany or COPY.
INCOMING_COLUMNS = ("store", "register", "epoch", "seq", "receipt_id", "kind", "created_at", "total", "hash",
                    "prev_hash", "flags", "body", "ord")
INCOMING = """CREATE TEMP TABLE IF NOT EXISTS incoming (
    store TEXT NOT NULL, register TEXT NOT NULL, epoch TEXT NOT NULL, seq BIGINT NOT NULL,
    receipt_id TEXT NOT NULL, kind TEXT NOT NULL, created_at TEXT NOT NULL, total BIGINT NOT NULL,
    hash TEXT NOT NULL, prev_hash TEXT NOT NULL, flags TEXT NOT NULL, body TEXT NOT NULL, ord INTEGER NOT NULL
)"""


def statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
