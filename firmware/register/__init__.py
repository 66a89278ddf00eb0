"""The register service: commands and read models any front end drives (see docs/interfaces.md)."""

from firmware.register.service import Register
from firmware.register.view import (
    ClerkInfo,
    DeviceHealth,
    ItemInfo,
    LineView,
    LockoutView,
    Message,
    Outcome,
    ParkedInfo,
    QuickKeyInfo,
    RegisterView,
    SyncView,
    TotalsView,
)

__all__ = [
    "ClerkInfo",
    "DeviceHealth",
    "ItemInfo",
    "LineView",
    "LockoutView",
    "Message",
    "Outcome",
    "ParkedInfo",
    "QuickKeyInfo",
    "Register",
    "RegisterView",
    "SyncView",
    "TotalsView",
]
