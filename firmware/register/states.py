"""The register's state records (parked carts, open shift, Z counters, refund index): read through, written behind.

A state write is one small journal record and one fsync; no
frame waits on a disk flush, so the register hands its writes to the journal
writer thread (`Committer.submit_state`, in order with the receipts) and
keeps the new values here until `StateSaved` says they are on disk. Reads
look here first, so the register sees its own writes at once. When a write
fails (disk full), its values are dropped, so reads show what is really on
disk again. Each write carries a follow-up value (`then`, what the write was
for: firmware.register.core.effects.FollowUp); `settle` hands it back with
the result, on the UI thread through `pump()`, so the core can say so or put
things back.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable
from typing import Any, Generic, Protocol, TypeVar

from firmware.register.committer import StateSaved

Doc = dict[str, Any]  # a state record's JSON document
Change = tuple[str, str, Doc | None]  # kind, key, doc (None deletes)
T = TypeVar("T")


class StateRecords(Protocol):
    """The journal's state records (firmware.journal.Journal)."""

    def get_state(self, kind: str, key: str) -> Doc | None: ...
    def states(self, kind: str) -> dict[str, Doc]: ...


class StateWriter(Protocol):
    """The journal writer (firmware.register.committer.Committer): `StateSaved(token)` follows each job."""

    def submit_state(self, token: int, changes: list[Change]) -> None: ...


class PendingStates(Generic[T]):
    """State records on their way to the journal, and the journal's records behind them."""

    def __init__(self, journal: StateRecords, committer: StateWriter) -> None:
        self._journal = journal
        self._committer = committer
        self._tokens = itertools.count(1)
        self._pending: dict[tuple[str, str], tuple[int, Doc | None]] = {}
        self._jobs: dict[int, tuple[list[Change], T | None]] = {}

    def get(self, kind: str, key: str) -> Doc | None:
        found = self._pending.get((kind, key))
        if found is None:
            return self._journal.get_state(kind, key)
        return copy.deepcopy(found[1])

    def all(self, kind: str) -> dict[str, Doc]:
        docs = self._journal.states(kind)
        for (k, key), (_token, doc) in self._pending.items():
            if k != kind:
                continue
            if doc is None:
                docs.pop(key, None)
            else:
                docs[key] = copy.deepcopy(doc)
        return docs

    def write(self, changes: Iterable[Change], then: T | None = None) -> None:
        """Hand `changes` to the journal writer; they read back at once, and `settle` hands `then` back."""
        token = next(self._tokens)
        copied = [(kind, key, copy.deepcopy(doc)) for kind, key, doc in changes]
        for kind, key, doc in copied:
            self._pending[(kind, key)] = (token, doc)
        self._jobs[token] = (copied, then)
        self._committer.submit_state(token, copied)

    def settle(self, event: StateSaved) -> T | None:
        """A write job is done: stop reading its values from here; return the `then` it was written with."""
        changes, then = self._jobs.pop(event.token, ([], None))
        for kind, key, _doc in changes:
            held = self._pending.get((kind, key))
            if held is not None and held[0] == event.token:  # a later write of the same record stays
                del self._pending[(kind, key)]
        return then
