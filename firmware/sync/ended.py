"""Epochs this register once announced that its journal does not hold (contract 1.2; docs/ledger-integrity.md#loss).

A register's retained status, and its last will, name its journal's epoch and head. When the journal is deleted
or replaced, the new journal starts another epoch, and its first status would replace the only word the broker
kept of the old one before any fleet read it. So on connect the register reads its own retained status back
(`SyncService` subscribes to its own `status` topic; only the retained copy counts, never an echo of what it
publishes now). An epoch named there that is not an epoch of this journal, with the head announced for it, is
**ended**: kept as a journal state record (`ended_epoch`, the last MAX_ENDED_EPOCHS) and named in `ended_epochs`
of every status the register sends from then on, and of its last will. The `ended_epochs` of that retained status
are taken over the same way, so two lost journals in a row still reach a fleet that heard of neither.

The list is always sent (bounded), never cleared on an answer: a fleet records each ended epoch idempotently,
a head only ever grows, so saying it again costs one small field.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from firmware.contract import PayloadRejected, Status, decode
from firmware.contract.payloads import MAX_ENDED_EPOCHS, EndedEpoch
from firmware.errors import JournalError

log = logging.getLogger("kassa.sync")

# journal state records: key the epoch, doc {"epoch", "first_seq"?, "head_seq", "head_hash"?, "noted"}
STATE = "ended_epoch"
Doc = dict[str, Any]  # Any: an `ended_epoch` state record, a JSON document in the journal


class EpochJournal(Protocol):
    """What this reads and writes of the journal (firmware.journal.Journal); a journal without `states` or
    `epochs` is tolerated (AttributeError: nothing kept, or only the current epoch)."""

    @property
    def epoch(self) -> str: ...
    @property
    def epochs(self) -> Sequence[Mapping[str, object]]: ...
    def states(self, kind: str) -> Mapping[str, Doc]: ...
    def put_states(self, changes: Iterable[tuple[str, str, Doc | None]]) -> None: ...


class EndedEpochs:
    """The ended epochs this register knows of, oldest noted first, kept in its journal (link thread only)."""

    def __init__(self, journal: EpochJournal) -> None:
        self.journal = journal
        self._docs: dict[str, Doc] = {}
        try:
            found = journal.states(STATE)
        except (AttributeError, JournalError) as exc:  # a journal without state records: nothing kept yet
            log.warning("ended epochs not read from the journal: %s", exc)
            found = {}
        for epoch, doc in found.items():
            try:
                EndedEpoch.model_validate({k: v for k, v in doc.items() if k != "noted"})
            except ValueError:
                log.warning("ignoring a malformed ended-epoch record for %r", epoch)
                continue
            self._docs[epoch] = dict(doc)

    def entries(self) -> list[EndedEpoch] | None:
        """What the status and the last will carry as `ended_epochs` (None: nothing to say)."""
        if not self._docs:
            return None
        docs = sorted(self._docs.values(), key=lambda d: int(d.get("noted", 0)))
        return [EndedEpoch.model_validate({k: v for k, v in d.items() if k != "noted"}) for d in docs]

    def _own_epochs(self) -> set[str]:
        journal = self.journal
        try:
            return {str(e["epoch"]) for e in journal.epochs} | {journal.epoch}
        except AttributeError:  # a journal that does not list its epochs: at least the current one
            return {journal.epoch}

    def observe(self, payload: bytes) -> list[EndedEpoch]:
        """The register's own retained status (or last will), read back on connect: record every epoch it
        names that this journal does not hold. Returns what is new or whose head grew ([] when nothing)."""
        if not payload:
            return []
        try:
            status = decode(Status, payload)
        except PayloadRejected as exc:
            log.warning("own retained status not readable: %s", exc)
            return []
        mine = self._own_epochs()
        said = [] if status.epoch is None else [EndedEpoch(
            epoch=status.epoch, first_seq=status.epoch_first_seq, head_seq=status.head_seq or 0,
            head_hash=status.head_hash if status.head_seq else None)]
        changed: dict[str, Doc] = {}
        for entry in [*(status.ended_epochs or ()), *said]:
            if entry.epoch in mine:
                continue
            old = changed.get(entry.epoch) or self._docs.get(entry.epoch)
            if old is not None and old["head_seq"] >= entry.head_seq:
                continue
            doc = entry.model_dump(exclude_none=True)
            if old is not None:
                doc.setdefault("first_seq", old.get("first_seq"))
                doc = {k: v for k, v in doc.items() if v is not None}
            doc["noted"] = old.get("noted", 0) if old is not None else self._next_noted(changed)
            changed[entry.epoch] = doc
        if not changed:
            return []
        keep = {**self._docs, **changed}
        evict = sorted(keep, key=lambda e: int(keep[e].get("noted", 0)))[:max(0, len(keep) - MAX_ENDED_EPOCHS)]
        writes: list[tuple[str, str, Doc | None]] = [
            (STATE, epoch, doc) for epoch, doc in changed.items() if epoch not in evict]
        writes += [(STATE, epoch, None) for epoch in evict if epoch in self._docs]
        try:
            self.journal.put_states(writes)
        except JournalError as exc:  # read again at the next connect
            log.error("ended epoch(s) %s not recorded: %s", ", ".join(sorted(changed)), exc)
            return []
        for epoch in evict:
            keep.pop(epoch)
        self._docs = keep
        found = [EndedEpoch.model_validate({k: v for k, v in changed[e].items() if k != "noted"})
                 for e in sorted(changed, key=lambda e: int(changed[e]["noted"])) if e in keep]
        for entry in found:
            log.error("the broker's retained status names epoch %s (head seq %d), which this journal does not hold: "
                      "the journal was deleted or replaced; the fleet is told the epoch ended there",
                      entry.epoch, entry.head_seq)
        return found

    def _next_noted(self, changed: dict[str, Doc]) -> int:
        return 1 + max((int(d.get("noted", 0)) for d in (*self._docs.values(), *changed.values())), default=0)
