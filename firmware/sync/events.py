"""Events the sync service puts on the register's queue (past tense; plain, immutable data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from firmware.domain.catalog import Catalog
from firmware.domain.clerks import Roster


@dataclass(frozen=True)
class LinkUp:
    """The broker accepted the connection: the register is online."""


@dataclass(frozen=True)
class LinkDown:
    """The connection is gone (or could not be made); `reason` is fit to show a technician."""

    reason: str


@dataclass(frozen=True)
class ReceiptsDelivered:
    """`n` receipts were PUBACKed by the broker since the last such event."""

    n: int


@dataclass(frozen=True)
class ReceiptsConfirmed:
    """The fleet confirmed `n` receipts as ingested for good."""

    n: int


@dataclass(frozen=True)
class PublishRefused:
    """The broker refused receipt `seq` (PUBACK reason >= 0x80); `quarantined` once it gave up retrying."""

    seq: int
    reason: str
    quarantined: bool = False


@dataclass(frozen=True)
class ReceiptsConflicted:
    """The fleet holds a different receipt under these seqs' ids: set aside for good (never confirmed)."""

    seqs: tuple[int, ...]


@dataclass(frozen=True)
class JournalRolledBack:
    """The fleet held more of `old_epoch` than the journal (restored from an older copy): new receipts go in
    `new_epoch`, so no receipt id is used twice."""

    old_epoch: str
    new_epoch: str
    fleet_seq: int
    journal_seq: int


@dataclass(frozen=True)
class CatalogReceived:
    """A newer catalog arrived, passed validation and is already stored (firmware.stores.catalog_store)."""

    payload: dict[str, Any] = field(hash=False)  # Any: the catalog document, JSON from the fleet
    catalog: Catalog | None = field(default=None, hash=False, compare=False)  # built off the UI thread


@dataclass(frozen=True)
class ClerksReceived:
    """A newer clerk roster arrived, passed validation and is already stored (firmware.stores.clerk_store)."""

    payload: dict[str, Any] = field(hash=False)  # Any: the clerk roster document, JSON from the fleet
    roster: Roster | None = field(default=None, hash=False, compare=False)  # built off the UI thread


@dataclass(frozen=True)
class CommandReceived:
    """A fleet command for the register to carry out and answer with `SyncService.answer_command`."""

    command_id: str
    command: str
    args: dict[str, Any] = field(hash=False)  # Any: the command's arguments, JSON from the fleet


@dataclass(frozen=True)
class AccountsReceived:
    """The fleet's accounts snapshot for this store (docs/accounts.md): the document of an `AccountsSnapshot`,
    its signature already checked by whoever received it (sync, like a catalog); a newer `version` replaces the
    register's whole, an older or equal one is ignored. `snapshot` is the model when the sender built it already."""

    payload: dict[str, Any] = field(hash=False)  # Any: the AccountsSnapshot document, JSON from the fleet
    snapshot: object | None = field(default=None, hash=False, compare=False)


SyncEvent = (LinkUp | LinkDown | ReceiptsDelivered | ReceiptsConfirmed | PublishRefused | ReceiptsConflicted
             | JournalRolledBack | CatalogReceived | ClerksReceived | CommandReceived | AccountsReceived)
