"""Time clock punches and e-mail requests the fleet has not confirmed (firmware/fleet_records.py), for
`export-pending` (written next to the receipts, remembered in its manifest) and `reset` (refused while any is
neither confirmed nor exported, and without `--force` while any is only exported: the receipts' rule)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from firmware.atomicfile import owner_of_dir, write_atomic
from firmware.fleet_records import MAIL_REQUEST, PUNCH, PUNCH_PENDING

__all__ = ["Unsent", "exported_record_ids", "read_unsent", "unsent_refusal", "write_unsent"]

Doc = dict[str, Any]  # Any: journaled JSON documents (a sealed punch, a mail request)


class StateReader(Protocol):
    def states(self, kind: str) -> dict[str, Doc]: ...
    def get_state(self, kind: str, key: str) -> Doc | None: ...


@dataclass(frozen=True)
class Unsent:
    punches: list[Doc] = field(default_factory=list)  # sealed punches, seq order
    mails: list[Doc] = field(default_factory=list)  # mail requests (with the address), id order

    @property
    def ids(self) -> list[str]:
        """Each record as `punch:<id>` or `mail:<id>`: a punch and a mail request may share `store:register:epoch:seq`
        (each has its own seq)."""
        return [_punch(p) for p in self.punches] + [_mail(m) for m in self.mails]

    def __bool__(self) -> bool:
        return bool(self.punches or self.mails)


def _punch(doc: Doc) -> str:
    return f"punch:{doc.get('punch_id')}"


def _mail(doc: Doc) -> str:
    return f"mail:{doc.get('request_id')}"


def read_unsent(journal: StateReader) -> Unsent:
    """The punches still marked pending (their sealed documents) and the mail requests not settled."""
    punches = []
    for key, pending in sorted(journal.states(PUNCH_PENDING).items()):
        doc = journal.get_state(PUNCH, key)
        punches.append(doc if doc is not None else {"punch_id": pending.get("punch_id")})
    mails = [doc for _key, doc in sorted(journal.states(MAIL_REQUEST).items())]
    return Unsent(punches, mails)


def write_unsent(directory: Path, stem: str, unsent: Unsent) -> Path:
    """`{stem}-punches-and-emails.json` in `directory`: what the back office keys in by hand if the register
    never comes back (punches as sealed, so the fleet's hash check still holds; mail requests with the address)."""
    path = Path(directory) / f"{stem}-punches-and-emails.json"
    doc = {"punches": unsent.punches, "mail_requests": unsent.mails}
    write_atomic(path, json.dumps(doc, indent=1, ensure_ascii=False).encode("utf-8"), 0o600,
                 owner=owner_of_dir(path.parent))
    return path


def exported_record_ids(manifest: Doc) -> set[str]:
    """Punch and mail request ids some export-pending has written out (they name their epoch themselves)."""
    return {str(i) for e in manifest.get("exports", []) for i in e.get("records", [])}


def _count(unsent: Unsent, among: set[str] | None = None) -> str:
    punches = sum(1 for p in unsent.punches if among is None or _punch(p) in among)
    mails = sum(1 for m in unsent.mails if among is None or _mail(m) in among)
    parts = [f"{punches} time clock punch(es)"] * bool(punches) + [f"{mails} e-mail request(s)"] * bool(mails)
    return " and ".join(parts)


def unsent_refusal(unsent: Unsent, exported: set[str], force: bool) -> str | None:
    """Why a reset must not go ahead for these records (None: it may)."""
    if not unsent:
        return None
    missing = {i for i in unsent.ids if i not in exported}
    if missing:
        return (f"{_count(unsent)} are not confirmed by the fleet and {_count(unsent, missing)} of them were never "
                "exported: connect the register so they sync, or run `kassa-provision export-pending DIR`, "
                "then `reset --force`")
    if not force:
        return (f"{_count(unsent)} are exported but not confirmed by the fleet: hand the export to the back office, "
                "then `reset --force`")
    return None
