"""Delivery counts replayed read-only from delivery.log's records, the way the journal's DeliveryStore loads them.

Used by the journal audit so a self-test can show pending and quarantined
receipts without opening the writing journal (which starts threads and
repairs a torn tail).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DeliveryCounts", "delivery_counts", "MAX_ATTEMPTS"]

MAX_ATTEMPTS = 5  # the journal's default: a receipt failing this often is quarantined


@dataclass(frozen=True)
class DeliveryCounts:
    pending: int
    delivered: int
    confirmed: int
    quarantined: int


def _is_conflict(error: object) -> bool:
    return isinstance(error, str) and error.startswith("conflict:")


class _Replay:
    """State, attempts and error per seq above the confirmed floor, changed by each op as DeliveryStore._apply does."""

    def __init__(self) -> None:
        self.floor = 0
        self.entries: dict[int, list[object]] = {}  # seq -> [state, attempts, error]

    def snapshot(self, snap: dict[str, object]) -> None:
        self.floor = int(snap.get("floor", 0))  # type: ignore[call-overload]
        entries = snap.get("entries", {})
        assert isinstance(entries, dict)
        self.entries = {int(k): [str(v[0]), int(v[1]), v[2]] for k, v in entries.items()}

    def apply(self, op: list[object]) -> None:
        kind, seq = op[0], op[1]
        if not isinstance(seq, int) or seq <= self.floor:
            return
        entry = self.entries.setdefault(seq, ["pending", 0, None])
        state, attempts = entry[0], int(entry[1])  # type: ignore[call-overload]
        if kind in ("d", "p") and state == "quarantined" and _is_conflict(entry[2]):
            return  # a conflict is final
        if kind == "d" and state != "confirmed":
            entry[0] = "delivered"
        elif kind == "c" and state != "confirmed":
            entry[0], entry[2] = "confirmed", None
            while self.entries.get(self.floor + 1, [None])[0] == "confirmed":
                del self.entries[self.floor + 1]
                self.floor += 1
        elif kind == "f" and state not in ("confirmed", "quarantined"):
            entry[1], entry[2] = attempts + 1, op[2]
            entry[0] = "quarantined" if attempts + 1 >= MAX_ATTEMPTS else "pending"
        elif kind == "q" and state != "confirmed" and not (state == "quarantined" and entry[2] == op[2]):
            entry[0], entry[2] = "quarantined", op[2]
        elif kind == "p" and state in ("delivered", "quarantined"):
            if state == "quarantined":
                entry[1] = 0
            entry[0] = "pending"


def delivery_counts(docs: list[object], last_seq: int) -> DeliveryCounts | None:
    """Replay delivery.log's records and count receipts 1..last_seq by state; None for a shape not understood."""
    replay = _Replay()
    try:
        for record in docs:
            if not isinstance(record, dict):
                continue
            snap = record.get("snap")
            if isinstance(snap, dict):
                replay.snapshot(snap)
            for op in record.get("ops", []):
                if isinstance(op, list) and len(op) >= 2:
                    replay.apply(op)
    except (ValueError, TypeError, IndexError, AttributeError, AssertionError):
        return None  # the framing was checked; only the counts are unknown
    counts = {"pending": 0, "delivered": 0, "confirmed": min(replay.floor, last_seq), "quarantined": 0}
    for seq in range(replay.floor + 1, last_seq + 1):
        state = str(replay.entries.get(seq, ["pending"])[0])
        counts[state] = counts.get(state, 0) + 1
    return DeliveryCounts(counts["pending"], counts["delivered"], counts["confirmed"], counts["quarantined"])
