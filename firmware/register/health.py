"""Folds hardware and sync events into the register's health, sync view, warnings and LED state."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from firmware.clock import parse_iso_utc
from firmware.register.guard import plural
from firmware.register.view import DeviceHealth, SyncView

STALE_AFTER = timedelta(minutes=5)


def _moment(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return parse_iso_utc(str(value))


class HealthBoard:
    """Device health by name, the sync state, and the warnings derived from them."""

    def __init__(self) -> None:
        self.devices: dict[str, DeviceHealth] = {
            "printer": DeviceHealth(True, "ready"),
            "scanner": DeviceHealth(True, "ready"),
            "drawer": DeviceHealth(True, "closed"),
            "broker": DeviceHealth(False, "not connected yet"),
            "journal": DeviceHealth(True, "ok"),
        }
        self.sync = SyncView()
        self.offline_since: datetime | None = None
        self.drawer_warning: str | None = None

    def set_device(self, name: str, ok: bool, state: str, detail: str = "") -> bool:
        new = DeviceHealth(ok, state, detail)
        if self.devices.get(name) == new:
            return False
        self.devices[name] = new
        return True

    def link(self, online: bool, now: datetime, reason: str = "") -> None:
        if online:
            self.offline_since = None
            self.set_device("broker", True, "connected")
        else:
            if self.offline_since is None:
                self.offline_since = now
            self.set_device("broker", False, "offline", reason)
        self.sync = replace(self.sync, online=online)

    def update_outbox(self, summary: Any, now: datetime) -> None:
        """Refresh counts from the journal's outbox summary (times as ISO strings or datetimes)."""
        last_sync = _moment(summary.last_confirmed_at) or _moment(summary.last_delivered_at) or self.sync.last_sync_at
        oldest = _moment(summary.oldest_pending_at)
        pending = summary.pending + summary.delivered
        reference = last_sync or oldest
        stale = bool(pending) and (reference is None or now - reference > STALE_AFTER)
        self.sync = replace(
            self.sync,
            pending=pending,
            quarantined=summary.quarantined,
            oldest_pending_at=oldest,
            last_sync_at=last_sync,
            stale=stale,
            quarantined_items=tuple(summary.quarantined_items),
            conflicts=getattr(summary, "conflicts", 0),
            rollbacks=getattr(summary, "rollbacks", 0),
        )

    def set_fault(self, fault: str | None) -> None:
        self.sync = replace(self.sync, fault=fault)

    def warnings(self, now: datetime, policy: Any, days_left: float | None) -> tuple[str, ...]:
        out = []
        if self.offline_since and now - self.offline_since > timedelta(hours=policy.offline_warn_hours):
            hours = int((now - self.offline_since).total_seconds() // 3600)
            out.append(f"Offline for {hours} hours: receipts are safe here, call the technician if this goes on")
        if self.sync.pending > policy.pending_warn_count:
            out.append(f"{plural(self.sync.pending, 'receipt')} waiting to be sent")
        if self.sync.quarantined:
            out.append(f"{plural(self.sync.quarantined, 'receipt')} refused by the fleet: see Status")
        if days_left is not None and days_left < 30:
            out.append(f"Disk space left for about {int(days_left)} days of sales")
        journal = self.devices.get("journal")
        if journal is not None and journal.state == "damaged":
            out.append("The sales journal reports damage: keep selling, and call the technician today")
        if self.drawer_warning:
            out.append(self.drawer_warning)
        return tuple(out)

    def led_state(self) -> str:
        """"fault", "pending" or "online" (the LED colour the register asks for)."""
        critical = ("printer", "journal", "scanner")
        if any(not self.devices[name].ok for name in critical if name in self.devices) or self.sync.fault:
            return "fault"
        if not self.sync.online or self.sync.pending or self.sync.quarantined:
            return "pending"
        return "online"
