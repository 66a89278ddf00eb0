"""What the status page says of the journaled records sync sends besides receipts (firmware/fleet_records.py):
punches, e-mail requests and stock records not confirmed yet, and the e-mails the fleet refused.

Read from the journal's state records when the register refreshes its outbox counts (at most once a second). The
pending ones are few (they go as soon as the register is online); the `mail_done` records are kept for good, so
they are read again only when the set of pending requests changed (a request becomes `mail_done` in the same
write that removes it: firmware/sync/record_outbox.py), and once at start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from firmware.fleet_records import MAIL_DONE, MAIL_REQUEST, PUNCH_PENDING, STOCK
from firmware.register.view import RefusedMail

__all__ = ["RecordsStatus", "refused_mails"]

SHOWN = 20  # refused e-mails listed, newest first


class StateReader(Protocol):
    def states(self, kind: str) -> dict[str, dict[str, Any]]: ...  # Any: journaled JSON documents


def refused_mails(done: Mapping[str, Mapping[str, Any]], limit: int = SHOWN) -> tuple[RefusedMail, ...]:
    """The refused ones of the `mail_done` records (request id -> stub), newest request first."""
    out = [RefusedMail(request_id=key, receipt_id=str(doc.get("receipt_id") or ""), to=str(doc.get("to") or ""),
                       reason=str(doc.get("refused")), requested_at=doc.get("requested_at"))
           for key, doc in done.items() if doc.get("refused") is not None]
    out.sort(key=lambda m: (m.requested_at or "", m.request_id), reverse=True)
    return tuple(out[:limit])


class RecordsStatus:
    """Counts for `Health.with_records`, from the journal (register thread)."""

    def __init__(self, journal: StateReader) -> None:
        self.journal = journal
        self._requests: frozenset[str] | None = None
        self._refused: tuple[RefusedMail, ...] = ()

    def read(self) -> tuple[int, int, tuple[RefusedMail, ...], int]:
        """(punches unsent, e-mail requests unsent, the refused e-mails, stock records unsent)."""
        punches = len(self.journal.states(PUNCH_PENDING))
        requests = frozenset(self.journal.states(MAIL_REQUEST))
        if requests != self._requests:
            self._requests = requests
            self._refused = refused_mails(self.journal.states(MAIL_DONE))
        return punches, len(requests), self._refused, len(self.journal.states(STOCK))
