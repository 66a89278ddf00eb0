"""The register's state records (parked carts, open shift, Z counters, refund index): read through, written behind.

A state write is one small journal record and one fsync; DESIGN.md says no
frame waits on a disk flush, so the register hands its writes to the journal
writer thread (`Committer.submit_state`, in order with the receipts) and
keeps the new values here until `StateSaved` says they are on disk. Reads
look here first, so the register sees its own writes at once. When a write
fails (disk full), its values are dropped, so reads show what is really on
disk again, and the writer's `on_done(ok, reason)` is told, on the UI thread
through `pump()`, to say so or to put things back.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from typing import Any

from firmware.register.committer import Committer, StateSaved

Change = tuple[str, str, dict[str, Any] | None]  # kind, key, doc (None deletes)
Done = Callable[[bool, str], None]


class PendingStates:
    """State records on their way to the journal, and the journal's records behind them."""

    def __init__(self, journal: Any, committer: Committer) -> None:
        self._journal = journal
        self._committer = committer
        self._tokens = itertools.count(1)
        self._pending: dict[tuple[str, str], tuple[int, dict[str, Any] | None]] = {}
        self._jobs: dict[int, tuple[list[Change], Done | None]] = {}

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        found = self._pending.get((kind, key))
        if found is None:
            return self._journal.get_state(kind, key)
        return copy.deepcopy(found[1])

    def all(self, kind: str) -> dict[str, dict[str, Any]]:
        docs = self._journal.states(kind)
        for (k, key), (_token, doc) in self._pending.items():
            if k != kind:
                continue
            if doc is None:
                docs.pop(key, None)
            else:
                docs[key] = copy.deepcopy(doc)
        return docs

    def write(self, changes: list[Change], on_done: Done | None = None) -> None:
        """Hand `changes` to the journal writer; they read back at once and `on_done` hears how it went."""
        token = next(self._tokens)
        changes = [(kind, key, copy.deepcopy(doc)) for kind, key, doc in changes]
        for kind, key, doc in changes:
            self._pending[(kind, key)] = (token, doc)
        self._jobs[token] = (changes, on_done)
        self._committer.submit_state(token, changes)

    def settle(self, event: StateSaved) -> None:
        """A write job is done: stop reading its values from here; tell its writer (on the UI thread)."""
        changes, on_done = self._jobs.pop(event.token, ([], None))
        for kind, key, _doc in changes:
            held = self._pending.get((kind, key))
            if held is not None and held[0] == event.token:  # a later write of the same record stays
                del self._pending[(kind, key)]
        if on_done is not None:
            on_done(event.ok, event.reason)
