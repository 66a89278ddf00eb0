"""Store-and-forward sync with the fleet over MQTT 5 (paho only in mqtt_adapter.py)."""

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
from firmware.sync.service import SyncService
from firmware.sync.state import SyncState

__all__ = ["CatalogReceived", "ClerksReceived", "CommandReceived", "JournalRolledBack", "LinkDown", "LinkUp",
           "PublishRefused", "ReceiptsConfirmed", "ReceiptsConflicted", "ReceiptsDelivered", "SyncEvent", "SyncService",
           "SyncState"]
