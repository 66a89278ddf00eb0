"""The read model of sync for the register and UI: a snapshot, immutable and cheap to read from any thread."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SyncState:
    """What the status screen shows. Times are the contract's ISO strings (UTC) or None."""

    online: bool = False
    last_sync_at: str | None = None
    pending: int = 0
    delivered: int = 0
    confirmed: int = 0
    quarantined: int = 0
    oldest_pending_at: str | None = None
    fault: str | None = None
    stale: bool = False
    link_error: str | None = None
    downlink_rejected: int = 0
    quarantined_items: tuple[dict[str, Any], ...] = field(default=(), hash=False)
    epoch: str | None = None  # the journal's current epoch
    conflicts: int = 0  # quarantined: the fleet holds a different receipt under the id
    rollbacks: int = 0  # epochs opened because the journal had been rolled back
