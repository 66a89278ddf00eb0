"""The fleet's time clock: what to do with a punch that arrives, and the hours report from the punches it holds.

Pure (no I/O, no clock): the ingest stores, this module decides and computes (docs/timeclock.md#fleet).

- `classify(held_hash, message)`: a punch is keyed by (store, register, epoch, seq) from the authenticated
  topic, like a receipt. Not held: store it (`new`); held with the same hash: `duplicate` (confirm again);
  held with another hash: `conflict` (keep aside, never confirm, name it in `conflict_ids`). A punch whose
  `hash` is not the hash of its own body is `bad_hash` (refused, never confirmed).
- `check_chains(messages)`: breaks in each register's punch chain (a punch that does not link to the one
  before it), as alarm sentences.
- `store_hours(messages, tz, ...)`: the hours report of a store (or any set of punches) over the punches it
  holds: every register's punches of a clerk together (a clerk may clock in on one register and out on
  another), in time order, by firmware.domain.timeclock.hours_report's rules (through the contract's `report_hours`).

SQL the ingest needs (the same on SQLite and PostgreSQL; `PUNCHES_SQL`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, tzinfo
from typing import Any, Literal

from firmware.contract.chain import GENESIS
from firmware.contract.timeclock import PunchMessage, punch_hash, report_hours

__all__ = ["PUNCHES_SQL", "Decision", "check_chains", "classify", "hours_rows", "store_hours"]

Decision = Literal["new", "duplicate", "conflict", "bad_hash"]

PUNCHES_SQL = """
CREATE TABLE punches (
    store TEXT NOT NULL, register TEXT NOT NULL, epoch TEXT NOT NULL, seq BIGINT NOT NULL,
    punch_id TEXT NOT NULL, clerk_id TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL,
    clock_trusted INTEGER NOT NULL, hash TEXT NOT NULL, prev_hash TEXT NOT NULL,
    body TEXT NOT NULL, ingested_at TEXT NOT NULL,
    PRIMARY KEY (store, register, epoch, seq)
);
CREATE INDEX punches_by_clerk ON punches (store, clerk_id, at);
CREATE TABLE punch_conflicts (
    store TEXT NOT NULL, register TEXT NOT NULL, epoch TEXT NOT NULL, seq BIGINT NOT NULL,
    punch_id TEXT NOT NULL, hash TEXT NOT NULL, held_hash TEXT NOT NULL, body TEXT NOT NULL,
    first_at TEXT NOT NULL, last_at TEXT NOT NULL, times INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (store, register, epoch, seq, hash)
);
"""


def classify(held_hash: str | None, message: PunchMessage, raw: Mapping[str, Any] | None = None) -> Decision:
    """What the ingest does with `message`, given the hash it already holds under the same key (None: none).

    `raw` is the document as received (its hash is checked over exactly those bytes' fields); without it the
    message's own fields are used.
    """
    body = raw if raw is not None else message.model_dump(mode="json", exclude_unset=True)
    if punch_hash(body) != message.hash:
        return "bad_hash"
    if held_hash is None:
        return "new"
    return "duplicate" if held_hash == message.hash else "conflict"


def check_chains(messages: Iterable[PunchMessage]) -> list[str]:
    """One sentence per link that does not hold, per (store, register, epoch), in seq order.

    Only consecutive seqs are compared (a gap is not a break: the missing punch may still come); the first
    punch of an epoch at seq 1 must link to GENESIS.
    """
    streams: dict[tuple[str, str, str], dict[int, PunchMessage]] = {}
    for message in messages:
        streams.setdefault((message.store, message.register, message.epoch), {})[message.seq] = message
    out = []
    for (store, register, epoch), by_seq in sorted(streams.items()):
        for seq in sorted(by_seq):
            message = by_seq[seq]
            before = by_seq.get(seq - 1)
            expected = before.hash if before is not None else (GENESIS if seq == 1 else None)
            if expected is not None and message.prev_hash != expected:
                out.append(f"{store}/{register} epoch {epoch}: punch {seq} does not link to punch {seq - 1}")
    return out


def store_hours(messages: Iterable[PunchMessage], tz: tzinfo, *, kind: str = "x", as_of: datetime | None = None,
                first_day: date | None = None, last_day: date | None = None,
                clerk_names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The hours report (JSON-ready) over the punches held: duplicates by punch id counted once.

    Punches are ordered by time, then by (register, epoch, seq) so equal times order the same way every run.
    Every day row carries `name` from `clerk_names` when known.
    """
    unique: dict[str, PunchMessage] = {}
    for message in messages:
        unique.setdefault(message.punch_id, message)
    ordered = sorted(unique.values(), key=lambda m: (m.at_datetime, m.register, m.epoch, m.seq))
    report = report_hours(ordered, tz, kind=kind, as_of=as_of, first_day=first_day, last_day=last_day)
    payload = report.to_payload()
    names = clerk_names or {}
    for row in payload["days"]:
        row["name"] = names.get(row["clerk_id"], row["clerk_id"])
    payload["chain_breaks"] = check_chains(unique.values())
    return payload


def hours_rows(payload: Mapping[str, Any]) -> list[str]:
    """The report as lines for `kassa-fleet hours` (day, clerk, worked and breaks as H:MM, open marked)."""
    def hm(seconds: int) -> str:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}"

    lines = [f"{'day':<10}  {'clerk':<20} {'worked':>7} {'breaks':>7}"]
    for row in payload["days"]:
        mark = (" open" if row["open"] else "") + (" clock-unverified" if row["clock_unverified"] else "")
        lines.append(f"{row['day']:<10}  {str(row.get('name', row['clerk_id']))[:20]:<20} "
                     f"{hm(row['worked_seconds']):>7} {hm(row['break_seconds']):>7}{mark}")
    lines += [f"problem: {p}" for p in payload["problems"]]
    lines += [f"chain: {c}" for c in payload.get("chain_breaks", [])]
    return lines
