"""Events hal puts on the register's queue: plain frozen dataclasses, past tense, never raising."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class ScanRead:
    """A complete, framed, printable-ASCII code came from the scanner (check digits are the register's job)."""

    code: str


@dataclass(frozen=True)
class ScanRejected:
    """Bytes from the scanner that are not a usable code; `reason` is a sentence for the clerk or technician."""

    reason: str
    raw: bytes


@dataclass(frozen=True)
class DeviceState:
    """A device's health changed: `device` is scanner|printer|drawer|led, `state` a short word, `detail` a sentence."""

    device: str
    ok: bool
    state: str
    detail: str = ""


@dataclass(frozen=True)
class PrintDone:
    """A print job's bytes reached the printer (no ESC/POS command confirms paper came out)."""

    job_id: str


@dataclass(frozen=True)
class PrintFailed:
    """A print job failed; it is kept in the printer's backlog for `retry(job_id)`."""

    job_id: str
    reason: str


@dataclass(frozen=True)
class DrawerOpened:
    """The drawer sensor saw the drawer open."""


@dataclass(frozen=True)
class DrawerClosed:
    """The drawer sensor saw the drawer close."""


@dataclass(frozen=True)
class DrawerLeftOpen:
    """The drawer has stayed open for `seconds` (sent once per opening)."""

    seconds: float


@dataclass(frozen=True)
class WeightRead:
    """The scale's reading changed. `status`: stable | unstable | overload | under_zero | error; `weight` in kg
    (3 decimals) when the scale gave one; `detail` a few words (e.g. "net", or what went wrong). Only a stable
    weight may be sold."""

    status: str
    weight: Decimal | None = None
    detail: str = ""


HalEvent = (ScanRead | ScanRejected | DeviceState | PrintDone | PrintFailed | DrawerOpened | DrawerClosed
            | DrawerLeftOpen | WeightRead)
