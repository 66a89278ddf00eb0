"""Store-and-forward sync with the fleet over MQTT 5 (paho only in mqtt_adapter.py).

The events and the read model are light and imported at once; `SyncService` (paho, the contract's pydantic
models, cryptography) is loaded on first use (PEP 562), so importing the register does not load the network
stack before its login screen is up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from firmware.sync.events import (
    CatalogReceived,
    ClerksReceived,
    CommandReceived,
    JournalRolledBack,
    LinkDown,
    LinkUp,
    PublishRefused,
    ReceiptsConfirmed,
    ReceiptsConflicted,
    ReceiptsDelivered,
    SyncEvent,
)
from firmware.sync.state import SyncState

if TYPE_CHECKING:
    from firmware.sync.service import SyncService

__all__ = ["CatalogReceived", "ClerksReceived", "CommandReceived", "JournalRolledBack", "LinkDown", "LinkUp",
           "PublishRefused", "ReceiptsConfirmed", "ReceiptsConflicted", "ReceiptsDelivered", "SyncEvent", "SyncService",
           "SyncState"]


def __getattr__(name: str) -> type[SyncService]:
    if name == "SyncService":
        from firmware.sync.service import SyncService

        globals()[name] = SyncService
        return SyncService
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
