"""Stock deltas in the fleet database (docs/stock.md#integration), inside the ingest's batch transaction.

Per delta, keyed (store, register, seq) with the register from the authenticated topic: insert; the same content
again is a duplicate; other content under a held key is a conflict: the row whose `Delta.content` sorts first
counts (it is the one in `stock_deltas`), the other goes to `stock_conflicts`, so the result never depends on
arrival order. Then `stock_streams.contiguous` moves up, and for every sku the batch touched its level
(`stock_levels`, deleted while untracked) and oversells (`stock_oversells`, upserted by (store, sku, since),
never deleted: a flag stays until acknowledged) are computed from all its rows by fleet.stock. The tables are
schema version 6 (fleet.schema.V6_STOCK).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from firmware.contract.clock import parse_iso_utc
from firmware.contract.stock import StockDelta as DeltaDoc
from fleet.sql import Tx
from fleet.stock import Delta, delta_from, sku_level, sku_oversells

log = logging.getLogger("kassa.fleet.stock")

__all__ = ["StockBatch", "next_snapshot", "snapshot_document", "snapshot_due", "store_stock"]

StockBatch = tuple[str, str, Sequence[DeltaDoc]]  # store, register (from the topic), the batch's deltas


_COLUMNS = "register, seq, sku, kind, qty, at, ref, basis"


def _body(doc: DeltaDoc) -> str:
    return json.dumps(doc.model_dump(mode="json", exclude_none=True), sort_keys=True, separators=(",", ":"))


def _delta(row: Sequence[Any]) -> Delta:
    register, seq, sku, kind, qty, at, ref, basis = row
    return Delta(register=register, seq=int(seq), sku=sku, kind=kind, qty=int(qty), at=parse_iso_utc(at), ref=ref,
                 basis=tuple(sorted(json.loads(basis).items())) if basis else ())


def _doc(row: Sequence[Any]) -> DeltaDoc:
    """The delta document of a stored row."""
    _register, seq, sku, kind, qty, at, ref, basis = row
    doc: dict[str, Any] = {"seq": int(seq), "sku": sku, "kind": kind, "qty": int(qty), "at": at}
    if ref is not None:
        doc["ref"] = ref
    if basis:
        doc["basis"] = json.loads(basis)
    return DeltaDoc.model_validate(doc)


def _row(store: str, register: str, doc: DeltaDoc, at: str) -> tuple[Any, ...]:
    return (store, register, doc.seq, doc.sku, doc.kind, doc.qty, doc.at, doc.ref,
            json.dumps(doc.basis, sort_keys=True) if doc.basis is not None else None, at)


def store_stock(tx: Tx, batches: Sequence[StockBatch], at: str) -> dict[str, int]:
    """Store the batches' deltas, in key order; returns counts (new, duplicates, conflicts)."""
    docs: dict[tuple[str, str, int], list[DeltaDoc]] = {}
    for store, register, deltas in batches:
        for doc in deltas:
            docs.setdefault((store, register, doc.seq), []).append(doc)
    counts = {"new": 0, "duplicates": 0, "conflicts": 0}
    touched: set[tuple[str, str]] = set()
    streams: set[tuple[str, str]] = set()
    for (store, register, seq), arrived in sorted(docs.items()):
        found = tx.rows(f"SELECT {_COLUMNS} FROM stock_deltas WHERE store=? AND register=? AND seq=?",
                        (store, register, seq))
        held = _doc(found[0]) if found else None
        aside = {delta_from(register, DeltaDoc.model_validate_json(b)).content for (b,) in tx.rows(
            "SELECT body FROM stock_conflicts WHERE store=? AND register=? AND seq=?", (store, register, seq))}
        for doc in arrived:
            content = delta_from(register, doc).content
            if held is None:
                tx.run("INSERT INTO stock_deltas VALUES (?,?,?,?,?,?,?,?,?,?)", _row(store, register, doc, at))
                held = doc
                counts["new"] += 1
                touched.add((store, doc.sku))
                streams.add((store, register))
                continue
            held_content = delta_from(register, held).content
            if content == held_content or content in aside:
                counts["duplicates"] += 1
                continue
            counts["conflicts"] += 1
            touched |= {(store, held.sku), (store, doc.sku)}
            loser = doc
            if content < held_content:  # the new one counts; the held one is kept aside
                tx.run("UPDATE stock_deltas SET sku=?, kind=?, qty=?, at=?, ref=?, basis=?, ingested_at=? "
                       "WHERE store=? AND register=? AND seq=?",
                       (*_row(store, register, doc, at)[3:], store, register, seq))
                loser, held = held, doc
            aside.add(delta_from(register, loser).content)
            tx.run("INSERT INTO stock_conflicts VALUES (?,?,?,?,?,?,1) ON CONFLICT (store, register, seq, body) "
                   "DO UPDATE SET last_at=excluded.last_at, times=stock_conflicts.times+1",
                   (store, register, seq, _body(loser), at, at))
    for store, register in sorted(streams):
        tx.run("INSERT INTO stock_streams (store, register) VALUES (?,?) ON CONFLICT DO NOTHING", (store, register))
        mark = int(tx.rows("SELECT contiguous FROM stock_streams WHERE store=? AND register=?",
                           (store, register))[0][0])
        for (seq,) in tx.rows("SELECT seq FROM stock_deltas WHERE store=? AND register=? AND seq>? ORDER BY seq",
                              (store, register, mark)):
            if int(seq) != mark + 1:
                break
            mark += 1
        tx.run("UPDATE stock_streams SET contiguous=? WHERE store=? AND register=? AND contiguous<?",
               (mark, store, register, mark))
    for store, sku in sorted(touched):
        held_rows = [_delta(r) for r in tx.rows(f"SELECT {_COLUMNS} FROM stock_deltas WHERE store=? AND sku=?",
                                                (store, sku))]
        level = sku_level(held_rows)
        if level is None:
            tx.run("DELETE FROM stock_levels WHERE store=? AND sku=?", (store, sku))
        else:
            tx.run("INSERT INTO stock_levels VALUES (?,?,?,?) ON CONFLICT (store, sku) DO UPDATE SET "
                   "level=excluded.level, updated_at=excluded.updated_at", (store, sku, level, at))
        for o in sku_oversells(store, sku, held_rows):
            since_register, since_seq = o.since if o.since is not None else ("", 0)
            tx.run("INSERT INTO stock_oversells (store, sku, since_register, since_seq, first_register, first_seq, "
                   "at, lowest, sold, first_seen, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
                   "ON CONFLICT (store, sku, since_register, since_seq) DO UPDATE SET "
                   "first_register=excluded.first_register, first_seq=excluded.first_seq, at=excluded.at, "
                   "lowest=excluded.lowest, sold=excluded.sold, updated_at=excluded.updated_at",
                   (store, sku, since_register, since_seq, o.first_negative[0], o.first_negative[1],
                    o.at.isoformat(), o.lowest, json.dumps(dict(o.sold), sort_keys=True), at, at))
    return counts


def snapshot_document(db: Any, store: str, *, version: int, at: str) -> dict[str, Any]:
    """The store's next `StockSnapshot` (validated) from the database: per register `upto` (its contiguous seq),
    levels of exactly the deltas up to those, the stored policies (sku '' is the shop's default)."""
    from firmware.contract.stock import StockPolicyDoc, StockSnapshot

    marks = db.stock_upto(store)
    by_sku: dict[str, list[Delta]] = {}
    last_seen: dict[str, str] = {}
    for row in db.stock_rows(store):
        delta = _delta(row)
        last_seen[delta.register] = max(last_seen.get(delta.register, ""), row[5])
        if delta.seq <= marks.get(delta.register, 0):
            by_sku.setdefault(delta.sku, []).append(delta)
    levels = {sku: level for sku, held in sorted(by_sku.items()) if (level := sku_level(held)) is not None}
    policies = {sku: StockPolicyDoc(low=int(low), past_zero=past_zero, track=bool(track))
                for sku, low, past_zero, track in db.stock_policies(store)}
    default = policies.pop("", None)
    marks, levels = _within_bounds(store, marks, levels, last_seen)
    bare = StockSnapshot(version=version, store=store, at=at, upto=marks, levels={}, policy=default,
                         item_policies=policies or None)
    levels = _fitting(store, levels, StockSnapshot.MAX_BYTES - len(bare.model_dump_json(exclude_none=True)) - 1024)
    snapshot = bare.model_copy(update={"levels": levels})
    StockSnapshot.model_validate(snapshot.model_dump())  # the bounds hold (levels, upto, item policies)
    document: dict[str, Any] = snapshot.model_dump(mode="json", exclude_none=True)
    return document


def _within_bounds(store: str, marks: dict[str, int], levels: dict[str, int], last_seen: dict[str, str]
                   ) -> tuple[dict[str, int], dict[str, int]]:
    """What a till takes of a snapshot (firmware.contract.stock): at most MAX_REGISTERS registers in `upto` (the
    ones heard from last: a register replaced years ago needs no confirmation), and levels within the Level bound
    (an item past it is left out: untracked on the tills, never a wrong number). Each cut is logged."""
    from firmware.contract.stock import MAX_REGISTERS, MAX_STOCK

    if len(marks) > MAX_REGISTERS:
        kept = sorted(marks, key=lambda r: (last_seen.get(r, ""), r), reverse=True)[:MAX_REGISTERS]
        log.error("stock snapshot of store %s: %d registers have stock, %d fit; the ones not heard from longest "
                  "are left out", store, len(marks), MAX_REGISTERS)
        marks = {r: marks[r] for r in sorted(kept)}
    bound = MAX_STOCK * 1000
    wild = sorted(sku for sku, level in levels.items() if not -bound <= level <= bound)
    if wild:
        log.error("stock snapshot of store %s: %d item(s) past the level bound left out (%s...); count them",
                  store, len(wild), ", ".join(wild[:5]))
        levels = {sku: level for sku, level in levels.items() if -bound <= level <= bound}
    return marks, levels


def _fitting(store: str, levels: dict[str, int], room: int) -> dict[str, int]:
    """The levels that fit in `room` bytes of JSON; when not all do, the ones with the least stock (a till warns
    about those; the others are untracked on the tills until the next snapshot that fits). Logged."""
    def cost(sku: str, level: int) -> int:
        return len(json.dumps(sku, ensure_ascii=False).encode("utf-8")) + len(str(level)) + 2

    if sum(cost(sku, level) for sku, level in levels.items()) <= room:
        return levels
    kept: dict[str, int] = {}
    used = 0
    for sku, level in sorted(levels.items(), key=lambda kv: (kv[1], kv[0])):
        used += cost(sku, level)
        if used > room:
            break
        kept[sku] = level
    log.error("stock snapshot of store %s: %d of %d items fit in a snapshot a till takes; the ones with the most "
              "stock are left out (untracked on the tills)", store, len(kept), len(levels))
    return dict(sorted(kept.items()))


# ---- the leader's snapshots (fleet/ingest.py: every `stock_every` seconds) --------------------------------

_CONTENT = ("upto", "levels", "policy", "item_policies")  # what a snapshot says; version and `at` only number it


def snapshot_due(db: Any, *, every_store: bool = False) -> list[str]:
    """Stores whose stock may have changed since their last snapshot: a delta ingested after it was made (or no
    snapshot yet). `every_store`: every store that has stock, for the changes no delta announces (a policy)."""
    with db.db.transaction() as tx:
        if every_store:
            return sorted(str(s) for (s,) in tx.rows("SELECT DISTINCT store FROM stock_streams", ()))
        found = tx.rows("SELECT d.store FROM stock_deltas d LEFT JOIN stock_snapshots s ON s.store = d.store "
                        "GROUP BY d.store, s.at HAVING s.at IS NULL OR MAX(d.ingested_at) > s.at "
                        "ORDER BY d.store", ())
        return [str(s) for (s,) in found]


def next_snapshot(db: Any, store: str, at: str) -> tuple[int, bytes] | None:
    """The store's next snapshot (version, compact JSON), numbered one above the last published; None when it
    would say what the last one says."""
    version = (db.last_stock_version(store) or 0) + 1
    document = snapshot_document(db, store, version=version, at=at)
    with db.db.transaction() as tx:
        held = [r[0] for r in tx.rows("SELECT body FROM stock_snapshots WHERE store=?", (store,))]
    if held:
        last = json.loads(held[0])
        if all(last.get(k) == document.get(k) for k in _CONTENT):
            return None
    return version, json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
