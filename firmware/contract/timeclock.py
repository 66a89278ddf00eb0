"""Time clock payloads of the contract (docs/timeclock.md): punches uplink, their confirmations downlink.

Uplink, `{prefix}/{store}/{register}/punches` (QoS 1, not retained): one `PunchMessage` per punch, exactly as
the register journaled it. A punch is identified like a receipt, by (store, register, epoch, seq), and its id
is `store:register:epoch:seq`; `seq` counts punches per register from 1 (its own sequence, not the receipts'),
the epoch is the journal's. `prev_hash`/`hash` chain the register's punches as receipts are chained
(firmware/contract/chain.py: `hash` is the SHA-256 of the canonical JSON without `hash`; `prev_hash` is the
previous punch's `hash`, GENESIS for the first).

Downlink, `{prefix}/{store}/{register}/punch_acks` (QoS 1, not retained): `PunchAcks`, the punch ids the fleet
stored for good (the register stops resending them) and those it holds a different punch for (conflicts:
never confirmed). A separate leaf keeps punch ids out of the receipts' acks, whose ids have the same shape.

Same conventions as firmware.contract.payloads: strict, unknown fields tolerated, size-checked (`decode`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import Field, StringConstraints, model_validator

from firmware.contract.chain import GENESIS, receipt_hash, seal
from firmware.contract.payloads import ID, KIB, Hash, Key, Seq, Timestamp, _Payload
from firmware.contract.receipt_id import EPOCH_PART, ID_PART, SEQ_PART, format_receipt_id

if TYPE_CHECKING:
    from firmware.domain.timeclock import HoursReport, Punch

__all__ = ["GENESIS", "PUNCHES_LEAF", "PUNCH_ACKS_LEAF", "PUNCH_ID_PATTERN", "PunchAcks", "PunchMessage",
           "punch_acks_topic", "punch_hash", "punch_id", "punch_ingest_filter", "punches_topic", "seal_punch",
           "report_hours", "to_domain"]

PUNCHES_LEAF = "punches"
PUNCH_ACKS_LEAF = "punch_acks"
PUNCH_ID_PATTERN = rf"^{ID_PART}:{ID_PART}:{EPOCH_PART}:{SEQ_PART}$"
PunchIdText = Annotated[str, StringConstraints(pattern=PUNCH_ID_PATTERN)]
PunchKind = Literal["clock_in", "break_start", "break_end", "clock_out"]


with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # `register` shadows ABCMeta.register; the field is meant

    class PunchMessage(_Payload):
        """One punch as the register journaled it (device -> fleet)."""

        MAX_BYTES: ClassVar[int] = 4 * KIB
        punch_id: PunchIdText
        store: ID
        register: ID = Field()
        seq: Seq
        clerk_id: Key
        kind: PunchKind
        at: Timestamp
        clock_trusted: bool
        offline: bool = False
        prev_hash: Hash
        hash: Hash

        @model_validator(mode="after")
        def _id_matches(self) -> PunchMessage:
            store, register, _epoch, seq = self.punch_id.split(":")
            if store != self.store or register != self.register or int(seq) != self.seq:
                raise ValueError(f"punch_id {self.punch_id!r} does not name store {self.store!r}, register "
                                 f"{self.register!r} and seq {self.seq}")
            return self

        @property
        def epoch(self) -> str:
            return self.punch_id.split(":")[2]

        @property
        def at_datetime(self) -> datetime:
            return datetime.fromisoformat(self.at)

        def hash_ok(self) -> bool:
            """True when `hash` is the hash of this punch as sent (canonical JSON without `hash`)."""
            return punch_hash(self.model_dump(mode="json", exclude_unset=True)) == self.hash


class PunchAcks(_Payload):
    """Punches the fleet stored for good, and punches it holds a different punch for (fleet -> device)."""

    MAX_BYTES: ClassVar[int] = 64 * KIB
    punch_ids: list[PunchIdText] = Field(max_length=1000)
    conflict_ids: list[PunchIdText] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="after")
    def _says_something(self) -> PunchAcks:
        if not self.punch_ids and not self.conflict_ids:
            raise ValueError("punch_ids and conflict_ids are both empty")
        return self


def punch_id(store: str, register: str, epoch: str, seq: int) -> str:
    """`store:register:epoch:seq`, formatted as receipt ids are."""
    return format_receipt_id(store, register, epoch, seq)


def punch_hash(doc: Mapping[str, Any]) -> str:
    """SHA-256 hex of the punch's canonical JSON without `hash` (the receipts' rule)."""
    return receipt_hash(doc)


def seal_punch(doc: Mapping[str, Any], prev_hash: str) -> dict[str, Any]:
    """A copy of the punch document with `prev_hash` set and `hash` computed, ready to journal and send."""
    return seal(doc, prev_hash)


def to_domain(message: PunchMessage) -> Punch:
    """The domain's Punch (firmware.domain.timeclock) for this message."""
    from firmware.domain.timeclock import Punch

    return Punch(clerk_id=message.clerk_id, kind=message.kind, at=message.at_datetime,
                 clock_trusted=message.clock_trusted, punch_id=message.punch_id)


def report_hours(messages: Iterable[PunchMessage], tz: tzinfo, *, kind: str = "x", as_of: datetime | None = None,
                 first_day: date | None = None, last_day: date | None = None) -> HoursReport:
    """The domain's hours report (firmware.domain.timeclock.hours_report) over punch messages, in the order given:
    the fleet's way to the same rules as the till's."""
    from firmware.domain.timeclock import hours_report

    return hours_report([to_domain(m) for m in messages], tz, kind=kind, as_of=as_of, first_day=first_day,
                        last_day=last_day)


def punches_topic(prefix: str, store: str, register: str) -> str:
    """Uplink: a register's punches."""
    return f"{prefix}/{store}/{register}/{PUNCHES_LEAF}"


def punch_acks_topic(prefix: str, store: str, register: str) -> str:
    """Downlink: the fleet's confirmations of that register's punches."""
    return f"{prefix}/{store}/{register}/{PUNCH_ACKS_LEAF}"


def punch_ingest_filter(prefix: str, group: str = "kassa-ingest") -> str:
    """The fleet ingest's shared subscription for every register's punches."""
    return f"$share/{group}/{prefix}/+/+/{PUNCHES_LEAF}"
