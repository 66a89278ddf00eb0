"""The hardware ports (scanner, printer, drawer, LED, scale) as small ABCs.

Plus LedState, SelfTestResult and BacklogEntry."""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from hal.events import DeviceState
from hal.layout import Block


@dataclass(frozen=True)
class SelfTestResult:
    """What a device's self-test found: `sentence` is for the technician, `details` for the report."""

    device: str
    ok: bool
    sentence: str
    details: Mapping[str, object] = field(default_factory=dict)


class LedState(enum.Enum):
    """What the status LED shows; the register decides, the LED obeys."""

    OFF = "off"
    ONLINE = "online"              # steady green / on
    PENDING = "pending"            # slow blink amber / slow blink
    FAULT = "fault"                # fast blink red / fast blink
    PROVISIONING = "provisioning"  # alternating green/blue (or red) / short flash


@dataclass(frozen=True)
class BacklogEntry:
    """A failed print job kept for reprint."""

    job_id: str
    title: str
    receipt_id: str | None
    reason: str
    failed_at: float  # time.time()


class Scanner(ABC):
    """A barcode scanner: once started, puts ScanRead / ScanRejected / DeviceState on the events queue."""

    @abstractmethod
    def start(self) -> None:
        """Start reading in the background; never blocks, never raises for a missing device."""

    @abstractmethod
    def stop(self) -> None:
        """Stop reading and release the device."""

    @property
    @abstractmethod
    def state(self) -> str:
        """stopped | connecting | connected | disconnected."""

    @abstractmethod
    def self_test(self, wait_s: float = 10.0) -> SelfTestResult:
        """Wait up to `wait_s` seconds for one scan."""


class Scale(ABC):
    """A POS scale: once started, puts WeightRead (on every change) and DeviceState on the events queue.

    Only a "stable" reading may be sold; the register keeps the last one and forgets it when the scale goes
    silent. Subclasses must never block `start` and never raise for a missing device.
    """

    @abstractmethod
    def start(self) -> None:
        """Start polling in the background."""

    @abstractmethod
    def stop(self) -> None:
        """Stop polling and release the port."""

    @property
    @abstractmethod
    def state(self) -> str:
        """stopped | connecting | connected | silent | disconnected."""

    @abstractmethod
    def self_test(self, wait_s: float = 5.0) -> SelfTestResult:
        """Wait up to `wait_s` seconds for the scale to answer a weight request."""


class Printer(ABC):
    """A receipt printer: jobs are queued and printed by a worker; failures become events and backlog entries."""

    columns: int

    @abstractmethod
    def print_blocks(self, blocks: Sequence[Block] | Callable[[], Sequence[Block]], title: str = "receipt",
                     receipt_id: str | None = None) -> str:
        """Queue laid-out blocks, or a function that lays them out on the worker (so the caller never waits on
        layout); returns the job id at once (PrintDone/PrintFailed follow on the queue). `receipt_id` names the
        receipt in the reprint backlog."""

    @abstractmethod
    def print_text(self, lines: Sequence[str], title: str = "report") -> str:
        """Queue plain lines (reports); returns the job id."""

    @abstractmethod
    def kick_drawer(self, pin: int = 2, pulse_ms: int = 100) -> str:
        """Queue an ESC p drawer kick through the printer's stream; returns the job id."""

    @abstractmethod
    def backlog(self) -> list[BacklogEntry]:
        """Failed jobs kept for reprint, oldest first."""

    @abstractmethod
    def retry(self, job_id: str) -> str:
        """Queue a backlog job again (same job id); raises UnknownJob if it is not in the backlog."""

    @abstractmethod
    def discard(self, job_id: str) -> None:
        """Drop a backlog job (e.g. after the clerk reprinted it another way)."""

    @abstractmethod
    def status(self) -> DeviceState:
        """The last known state, without touching the device."""

    @abstractmethod
    def wait(self, job_id: str, timeout: float = 10.0) -> bool | None:
        """Block until a job finished: True printed, False failed, None still pending at timeout."""

    @abstractmethod
    def self_test(self, timeout: float = 10.0) -> SelfTestResult:
        """Print a test page with the printer's status and report how it went."""

    @abstractmethod
    def close(self) -> None:
        """Stop the worker (queued jobs not yet printed stay in the backlog) and release the device."""


class Drawer(ABC):
    """A cash drawer: `open()` never blocks; a sensor, if fitted, reports DrawerOpened/DrawerClosed."""

    @abstractmethod
    def open(self) -> None:
        """Pulse the drawer's solenoid (the register decides when; hal obeys)."""

    @abstractmethod
    def is_open(self) -> bool | None:
        """True/False from the sensor, None without one."""

    @abstractmethod
    def self_test(self, timeout: float = 3.0) -> SelfTestResult:
        """Kick the drawer and read the sensor."""

    def close(self) -> None:  # noqa: B027 - a no-op on purpose: only some drawers hold pins or timers
        """Release pins and timers."""


class StatusLed(ABC):
    """The appliance's status light."""

    @abstractmethod
    def show(self, state: LedState) -> None:
        """Show a state; returns at once (blinking runs in the background)."""

    @property
    @abstractmethod
    def state(self) -> LedState:
        """What is being shown."""

    @abstractmethod
    def self_test(self, step_s: float = 0.5) -> SelfTestResult:
        """Cycle through every state, then go back to the current one."""

    def close(self) -> None:  # noqa: B027 - a concrete no-op on purpose: only some lights hold pins
        """Release pins."""
