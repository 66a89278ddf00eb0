"""The mailer's sent-state and receipts on the fleet database, SQLite or PostgreSQL (docs/digital-receipts.md).

`FleetMailStore` is fleet.mailer's `MailStore` through fleet.sql's `Tx`: the same statements as
`SqliteMailStore` (table `mail_requests`, schema version 5), each method one transaction, the claim one
conditional UPDATE, so two mailers never send the same request at once. `FleetReceipts` reads receipts from the
ledger. The ingest records requests in its batch's transaction (`FleetDb.store_batch(mail=...)`), not here.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from firmware.contract.mail import MailRequest
from firmware.contract.receipt_id import parse_receipt_id
from fleet.db import FleetDb
from fleet.mailer import _COLUMNS, STATES, MailRow, _iso, _row

__all__ = ["FleetMailStore", "FleetReceipts", "ADD_SQL", "add_args"]

ADD_SQL = ("INSERT INTO mail_requests (request_id, store, register, receipt_id, address, requested_at, body, "
           "received_at, state, next_try_at, message_id, updated_at) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?) ON CONFLICT (request_id) DO NOTHING")


def add_args(request: MailRequest, message_id: str, now: str) -> tuple[Any, ...]:
    return (request.request_id, request.store, request.register, request.receipt_id, request.address,
            request.requested_at, request.model_dump_json(), now, now, message_id, now)


class FleetMailStore:
    """MailStore on the fleet database (one per thread, like FleetDb)."""

    def __init__(self, db: FleetDb) -> None:
        self.db = db

    def _run(self, sql: str, args: tuple[Any, ...]) -> int:
        with self.db.db.transaction() as tx:
            return tx.run(sql, args)

    def add(self, request: MailRequest, message_id: str, at: datetime) -> bool:
        return self._run(ADD_SQL, add_args(request, message_id, _iso(at))) == 1

    def get(self, request_id: str) -> MailRow | None:
        with self.db.db.transaction() as tx:
            found = tx.rows(f"SELECT {_COLUMNS} FROM mail_requests WHERE request_id = ?", (request_id,))
        return _row(found[0]) if found else None

    def due(self, now: datetime, worker: str, limit: int) -> list[MailRow]:
        at = _iso(now)
        with self.db.db.transaction() as tx:
            rows = tx.rows(f"SELECT {_COLUMNS} FROM mail_requests WHERE (state = 'queued' AND next_try_at <= ?) "
                           "OR (state = 'sending' AND (owner = ? OR lease_until <= ?)) "
                           "ORDER BY next_try_at, request_id LIMIT ?", (at, worker, at, limit))
        return [_row(r) for r in rows]

    def claim(self, request_id: str, worker: str, now: datetime, lease_until: datetime) -> MailRow | None:
        at = _iso(now)
        with self.db.db.transaction() as tx:
            before = tx.rows(f"SELECT {_COLUMNS} FROM mail_requests WHERE request_id = ?", (request_id,))
            taken = tx.run("UPDATE mail_requests SET state = 'sending', owner = ?, lease_until = ?, updated_at = ? "
                           "WHERE request_id = ? AND ((state = 'queued' AND next_try_at <= ?) "
                           "OR (state = 'sending' AND (owner = ? OR lease_until <= ?)))",
                           (worker, _iso(lease_until), at, request_id, at, worker, at)) == 1
        return _row(before[0]) if taken and before else None

    def mark_sent(self, request_id: str, answer: str, at: datetime, resent_after_crash: bool) -> None:
        self._run("UPDATE mail_requests SET state = 'sent', smtp_answer = ?, sent_at = ?, updated_at = ?, "
                  "attempts = attempts + 1, owner = NULL, lease_until = NULL, last_error = NULL, "
                  "resent_after_crash = {greatest}(resent_after_crash, ?) WHERE request_id = ?",
                  (answer, _iso(at), _iso(at), int(resent_after_crash), request_id))

    def mark_retry(self, request_id: str, error: str, next_try: datetime, at: datetime, *, attempt: bool) -> None:
        self._run("UPDATE mail_requests SET state = 'queued', last_error = ?, next_try_at = ?, updated_at = ?, "
                  "attempts = attempts + ?, owner = NULL, lease_until = NULL WHERE request_id = ?",
                  (error[:2000], _iso(next_try), _iso(at), int(attempt), request_id))

    def mark_failed(self, request_id: str, error: str, at: datetime) -> None:
        self._run("UPDATE mail_requests SET state = 'failed', last_error = ?, updated_at = ?, owner = NULL, "
                  "lease_until = NULL WHERE request_id = ?", (error[:2000], _iso(at), request_id))

    def counts(self) -> dict[str, int]:
        with self.db.db.transaction() as tx:
            found = {state: int(n) for state, n in tx.rows("SELECT state, COUNT(*) FROM mail_requests GROUP BY state")}
        return {state: found.get(state, 0) for state in STATES}


class FleetReceipts:
    """ReceiptSource over the ledger's `receipts` (the first held under the id)."""

    def __init__(self, db: FleetDb) -> None:
        self.db = db

    def receipt(self, receipt_id: str) -> dict[str, Any] | None:
        key = parse_receipt_id(receipt_id)
        if key is None:
            return None
        # by the ledger's key (its primary key when the id names the store, as 1.1 ids do)
        where = "register = ? AND epoch = ? AND seq = ? AND receipt_id = ?"
        args: tuple[Any, ...] = (key.register, key.epoch, key.seq, receipt_id)
        if key.store is not None:
            where, args = "store = ? AND " + where, (key.store, *args)
        with self.db.db.transaction() as tx:
            found = tx.rows(f"SELECT body FROM receipts WHERE {where} LIMIT 1", args)
        return None if not found else dict(json.loads(found[0][0]))
