"""Customer edits in the fleet database (docs/customers.md), inside the ingest's batch transaction, and the list.

Per edit, keyed (store, register, epoch, seq) with the store and register from the authenticated topic: the first
content received is stored with the store's next **receive number** (`customer_streams.received`, one counter
per store, taken under the row's lock so two ingest workers never hand out the same number); the same content
again is a duplicate (nothing changes); other content under a held key is a conflict, kept in
`customer_conflicts` (an alarm of `kassa-fleet status`) and never merged. Every arrival, duplicates too, moves
`customer_streams.arrivals`: a store whose arrivals passed those of its last published list is due a new one
(a register that still sends edits the list covers has not seen that list).

The list is `fleet.customers.CustomerMerge` fed the stored edits in receive order: the same result whichever
worker stored them. `publish_due` is what the gap-check leader runs every `--customers-every` seconds;
`kassa-fleet publish-customers --store` publishes one store's now. Schema version 8 (fleet.schema.V8_CUSTOMERS).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from firmware.contract.customers import CustomerEdit, CustomerEdits
from fleet.customers import CustomerMerge
from fleet.sql import Tx

__all__ = ["CustomerBatch", "ListDue", "build_list", "customer_conflicts", "duplicate_codes", "due_stores",
           "last_list_version", "record_list", "store_customers"]

CustomerBatch = tuple[str, str, CustomerEdits]  # store, register (from the topic), the message


def _content(edit: CustomerEdit) -> str:
    return edit.model_dump_json(exclude_none=True)


def store_customers(tx: Tx, batches: Sequence[CustomerBatch], at: str) -> dict[str, int]:
    """Store the batches' edits in arrival order; returns counts (new, duplicates, conflicts)."""
    counts = {"new": 0, "duplicates": 0, "conflicts": 0}
    arrived: dict[str, int] = {}
    for store, _register, message in batches:
        arrived[store] = arrived.get(store, 0) + len(message.edits)
    numbers: dict[str, int] = {}
    for store in sorted(arrived):  # one lock per store, in a fixed order: two workers never deadlock
        tx.run("INSERT INTO customer_streams (store, received, arrivals) VALUES (?,0,0) ON CONFLICT DO NOTHING",
               (store,))
        tx.run("UPDATE customer_streams SET arrivals = arrivals + ? WHERE store=?", (arrived[store], store))
        (received,), = tx.rows("SELECT received FROM customer_streams WHERE store=?", (store,))
        numbers[store] = int(received)
    for store, register, message in batches:
        for edit in message.edits:
            content = _content(edit)
            held = tx.rows("SELECT body FROM customer_edits WHERE store=? AND register=? AND epoch=? AND seq=?",
                           (store, register, edit.epoch, edit.seq))
            if not held:
                numbers[store] += 1
                tx.run("INSERT INTO customer_edits VALUES (?,?,?,?,?,?,?,?)",
                       (store, register, edit.epoch, edit.seq, numbers[store], edit.customer_id, content, at))
                counts["new"] += 1
            elif held[0][0] == content:
                counts["duplicates"] += 1
            else:
                tx.run("INSERT INTO customer_conflicts VALUES (?,?,?,?,?,?,?,?,?,1) ON CONFLICT "
                       "(store, register, epoch, seq, body) DO UPDATE SET last_at=excluded.last_at, "
                       "times=customer_conflicts.times + 1",
                       (store, register, edit.epoch, edit.seq, edit.customer_id, content, held[0][0], at, at))
                counts["conflicts"] += 1
    for store, received in numbers.items():
        tx.run("UPDATE customer_streams SET received=? WHERE store=?", (received, store))
    return counts


def _rows(db: Any, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with db.db.transaction() as tx:
        return [tuple(r) for r in tx.rows(sql, args)]


def merged(db: Any, store: str) -> tuple[CustomerMerge, int]:
    """The store's merge of every stored edit in receive order, and the store's arrivals counted so far."""
    arrivals = _rows(db, "SELECT arrivals FROM customer_streams WHERE store=?", (store,))
    merge = CustomerMerge(store)
    for register, body in _rows(db, "SELECT register, body FROM customer_edits WHERE store=? ORDER BY received",
                                (store,)):
        merge.apply(register, CustomerEdit.model_validate_json(body))
    return merge, int(arrivals[0][0]) if arrivals else 0


@dataclass(frozen=True)
class ListDue:
    """A store whose edits arrived after its last published list."""

    store: str
    arrivals: int
    published: int


def due_stores(db: Any) -> list[ListDue]:
    rows = _rows(db, "SELECT s.store, s.arrivals, COALESCE(l.arrivals, -1) FROM customer_streams s "
                     "LEFT JOIN customer_lists l ON l.store = s.store WHERE s.arrivals > COALESCE(l.arrivals, -1) "
                     "ORDER BY s.store")
    return [ListDue(str(s), int(a), int(p)) for s, a, p in rows]


def last_list_version(db: Any, store: str) -> int | None:
    found = _rows(db, "SELECT version FROM customer_lists WHERE store=?", (store,))
    return int(found[0][0]) if found else None


def build_list(db: Any, store: str, version: int, at: str) -> tuple[bytes, int, dict[str, list[str]], int]:
    """The list document's compact bytes for `version`, the arrivals it covers, the duplicate card numbers and
    the number of customers listed."""
    merge, arrivals = merged(db, store)
    document = merge.to_list(version, at)
    return (document.model_dump_json(exclude_none=True).encode("utf-8"), arrivals, merge.duplicate_codes(),
            len(document.customers))


def record_list(db: Any, store: str, version: int, at: str, arrivals: int, dupes: dict[str, list[str]]) -> None:
    with db.db.transaction() as tx:
        tx.run("INSERT INTO customer_lists VALUES (?,?,?,?,?) ON CONFLICT (store) DO UPDATE SET "
               "version=excluded.version, published_at=excluded.published_at, arrivals=excluded.arrivals, "
               "duplicate_codes=excluded.duplicate_codes",
               (store, version, at, arrivals, json.dumps(dupes, sort_keys=True)))


def customer_conflicts(db: Any) -> list[dict[str, Any]]:
    names = ("store", "register", "epoch", "seq", "customer_id", "times", "first_at", "last_at")
    return [dict(zip(names, r, strict=True)) for r in _rows(
        db, f"SELECT {', '.join(names)} FROM customer_conflicts ORDER BY store, register, epoch, seq")]


def duplicate_codes(db: Any) -> list[dict[str, Any]]:
    """Card numbers held by two live customers or more, as of each store's last published list."""
    out = []
    for store, text in _rows(db, "SELECT store, duplicate_codes FROM customer_lists ORDER BY store"):
        for code, ids in sorted(json.loads(text or "{}").items()):
            out.append({"store": store, "code": code, "customer_ids": list(ids)})
    return out
