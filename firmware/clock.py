"""Clocks passed into the core: the domain never reads the time itself.

The contract's timestamp helpers (`iso_utc`, `parse_iso_utc`) live in firmware.contract.clock, which fleet
shares; they are re-exported here for the firmware side.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from firmware.contract.clock import iso_utc, parse_iso_utc

__all__ = ["Clock", "ManualClock", "SystemClock", "iso_utc", "parse_iso_utc"]


class Clock(Protocol):
    """Source of wall time (UTC) and monotonic time."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """The device's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


@dataclass
class ManualClock:
    """A clock tests and simulators move by hand."""

    current: datetime = field(default_factory=lambda: datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    mono: float = 0.0

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)
        self.mono += seconds
