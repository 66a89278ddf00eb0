"""Accounts on the fleet database: the reconcile pass, its flags, and the next snapshot (docs/accounts.md).

The ingest stores each new receipt's `accounts` entries in `account_movements` in the receipt's own
transaction. This module reads them back into `fleet.accounts` (pure) and writes what it found:

- `reconcile_flags(db)`: balances over every movement received, flags (`account_flags`, replaced whole) for
  `kassa-fleet status`. Run by the ingest's gap-check leader every `accounts_every` seconds, by
  `kassa-fleet reconcile-accounts`, and before every `publish-accounts`.
- `next_snapshot(db, store=...)`: the next `AccountsSnapshot` document: balances of the movements up to each
  register's `through` (the highest seq below which every receipt of that register is held).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from firmware.contract.accounts import ACCOUNTS_ADAPTER, AnyMovement
from firmware.contract.money import MINOR_DIGITS, format_money
from fleet.accounts import Book, ReceivedReceipt, Reconciliation, reconcile, snapshot_document
from fleet.db import FleetDb

__all__ = ["book_of", "due_snapshots", "money_of", "received", "reconcile_flags", "next_snapshot"]


def money_of(db: FleetDb) -> Callable[[int], str]:
    """Minor units as the tills show them ("€30.00"), in the currency the fleet's receipts are in (accounts span
    stores, so one currency); the bare amount with its unit while no receipt names one."""
    with db.db.transaction() as tx:
        bodies = [r[0] for r in tx.rows("SELECT body FROM receipts WHERE kind = 'sale' LIMIT 1", ())]
    currency = json.loads(bodies[0]).get("currency") if bodies else None
    if not isinstance(currency, str) or currency.upper() not in MINOR_DIGITS:
        return lambda amount: f"{amount} minor units"
    return lambda amount: format_money(amount, currency, "symbol")


def book_of(db: FleetDb) -> Book:
    """The book as the fleet holds it (`account_book`)."""
    loyalty: dict[str, int] = {}
    cards: dict[str, int] = {}
    owed: dict[str, int] = {}
    last4: dict[str, str] = {}
    credit: dict[str, int] = {}
    card_limits: dict[str, int] = {}
    blocked: set[str] = set()
    for entry in db.account_book():
        account, ledger = entry["account"], entry["ledger"]
        {"loyalty": loyalty, "gift_cards": cards, "on_account": owed}[ledger][account] = int(entry["balance"])
        if entry["last4"]:
            last4[account] = entry["last4"]
        if entry["credit_limit"] is not None:
            credit[account] = int(entry["credit_limit"])
        if entry["card_limit"] is not None:
            card_limits[account] = int(entry["card_limit"])
        if entry["blocked"]:
            blocked.add(account)
    return Book(loyalty=loyalty, gift_cards=cards, on_account=owed, last4=last4, credit_limits=credit,
                card_limits=card_limits, blocked=frozenset(blocked))


def received(db: FleetDb, *, every_receipt: bool = False) -> list[ReceivedReceipt]:
    """The receipts with movements (and, with `every_receipt`, every other receipt's key: they close gaps for
    `through`)."""
    grouped: dict[tuple[str, str, int], list[Any]] = defaultdict(list)
    for store, register, seq, _idx, body in db.account_movements():
        grouped[(store, register, int(seq))].append(json.loads(body))
    movements: dict[tuple[str, str, int], tuple[AnyMovement, ...]] = {
        key: tuple(ACCOUNTS_ADAPTER.validate_python(entries)) for key, entries in grouped.items()}
    keys = set(movements)
    if every_receipt:
        keys |= {(s, r, int(q)) for s, r, q in db.receipt_seqs()}
    return [ReceivedReceipt(s, r, q, movements.get((s, r, q), ())) for s, r, q in sorted(keys)]


def _day(at: str) -> date | None:
    """The UTC day of an ISO time, for laybys' due dates (docs/layby.md); None when it is not one."""
    try:
        return datetime.fromisoformat(at.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def reconcile_flags(db: FleetDb, at: str) -> Reconciliation:
    """One reconcile pass: balances over every movement received; its flags replace the stored ones."""
    result = reconcile(book_of(db), received(db), today=_day(at))
    db.replace_account_flags([(f.kind, f.account, f.balance, f.limit, f.last4, ",".join(f.registers),
                               ",".join(f.approved_by)) for f in result.flags], at)
    return result


def next_snapshot(db: FleetDb, *, version: int, issued_at: str, currency: str) -> tuple[dict[str, Any],
                                                                                        Reconciliation]:
    """The next snapshot document (validated) and the reconciliation it came from; updates the flags too."""
    book = book_of(db)
    result = reconcile(book, received(db, every_receipt=True), today=_day(issued_at))
    db.replace_account_flags([(f.kind, f.account, f.balance, f.limit, f.last4, ",".join(f.registers),
                               ",".join(f.approved_by)) for f in result.flags], issued_at)
    return snapshot_document(result, book, version=version, issued_at=issued_at, currency=currency), result


_SAID = ("version", "issued_at")  # what numbers a snapshot; the rest is what it says


def due_snapshots(db: FleetDb, *, issued_at: str, currency: str) -> list[tuple[str, int, bytes]]:
    """The leader's snapshots (fleet/ingest.py, after each reconcile pass): (store, version, compact JSON) for every
    store whose last published snapshot says something else than the one made now (or that has none yet)."""
    with db.db.transaction() as tx:
        stores = [str(s) for (s,) in tx.rows("SELECT DISTINCT store FROM receipts ORDER BY store", ())]
    if not stores:
        return []
    document, _result = next_snapshot(db, version=1, issued_at=issued_at, currency=currency)
    said = {k: v for k, v in document.items() if k not in _SAID}
    out = []
    for store in stores:
        with db.db.transaction() as tx:
            last = [r[0] for r in tx.rows("SELECT body FROM account_snapshots WHERE store=? ORDER BY version DESC "
                                          "LIMIT 1", (store,))]
        if last and {k: v for k, v in json.loads(last[0]).items() if k not in _SAID} == said:
            continue
        version = (db.last_accounts_version(store) or 0) + 1
        out.append((store, version, json.dumps({**document, "version": version}, ensure_ascii=False,
                                               separators=(",", ":")).encode("utf-8")))
    return out
