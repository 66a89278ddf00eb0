"""The read model of sync for the register and UI: a snapshot, immutable and cheap to read from any thread."""

from __future__ import annotations

import time
from collections.abc import Callable
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
    # Any: the journal's delivery items as it hands them out ({"seq", "error", "attempts", "failed_at"};
    # firmware.journal.Journal.summary, untyped there)
    quarantined_items: tuple[dict[str, Any], ...] = field(default=(), hash=False)
    epoch: str | None = None  # the journal's current epoch
    conflicts: int = 0  # quarantined: the fleet holds a different receipt under the id
    rollbacks: int = 0  # epochs opened because the journal had been rolled back


class ScreenActivity:
    """When the screen last drew a frame: sync paces its drain while a frame loop runs (SyncService).

    `frame()` is one store of a float, cheap enough for every frame; `active()` is read on the sync thread.
    A screen counts as in use while it drew a frame within `for_seconds`: a UI that stopped (closed, or no UI
    at all, as in a headless tool or a test) lets the drain run at full speed again within that time.
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic, for_seconds: float = 0.5) -> None:
        self.monotonic = monotonic
        self.for_seconds = for_seconds
        self._last = -1e18

    def frame(self) -> None:
        self._last = self.monotonic()

    def active(self) -> bool:
        return self.monotonic() - self._last < self.for_seconds


# The process's screen: the pygame loop (ui/app.py) marks its frames here; a SyncService paces by it unless
# given another.
SCREEN = ScreenActivity()
