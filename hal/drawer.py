"""Cash drawer backends: a kick through the printer's stream, or a gpiozero relay with an optional sensor.

A GPIO drawer watches its sensor from `start()` (edges arrive on gpiozero's
thread; a `kassa-drawer-left-open` timer runs per opening); `close()`
cancels and joins its timers.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import TYPE_CHECKING

from hal.events import DeviceState, DrawerClosed, DrawerLeftOpen, DrawerOpened
from hal.ports import Drawer, Printer, SelfTestResult

if TYPE_CHECKING:  # gpiozero is imported lazily, and only with a GPIO drawer (it ships no type hints)
    from gpiozero import Factory, InputDevice

log = logging.getLogger(__name__)


def _end_timer(timer: threading.Timer | None, timeout: float = 1.0) -> None:
    """Cancel `timer` and join it, logging one that does not end (hal cannot use firmware.lifecycle: layers)."""
    if timer is None:
        return
    timer.cancel()
    if timer.ident is not None and timer is not threading.current_thread():
        timer.join(timeout)
        if timer.is_alive():
            log.error("thread %s did not end within %g s", timer.name, timeout)


class PrinterDrawer(Drawer):
    """A drawer on the printer's DK port: ESC p on pin 2 or 5, queued after any receipt being printed."""

    def __init__(self, printer: Printer, pin: int = 2, pulse_ms: int = 100) -> None:
        self.printer = printer
        self.pin = pin
        self.pulse_ms = pulse_ms
        self.last_job: str | None = None

    def open(self) -> None:
        self.last_job = self.printer.kick_drawer(self.pin, self.pulse_ms)

    def is_open(self) -> bool | None:
        return None

    def self_test(self, timeout: float = 3.0) -> SelfTestResult:
        self.open()
        assert self.last_job is not None
        sent = self.printer.wait(self.last_job, timeout)
        details = {"via": "printer", "pin": self.pin, "pulse_ms": self.pulse_ms}
        if sent:
            return SelfTestResult("drawer", True, f"Kick sent through the printer (pin {self.pin}); "
                                  "check that the drawer opened.", details)
        return SelfTestResult("drawer", False, "Drawer kick could not reach the printer: "
                              f"{self.printer.status().detail}", details)


class GpioDrawer(Drawer):
    """A drawer solenoid on a relay (gpiozero DigitalOutputDevice), and optionally a sensor input.

    The sensor uses the internal pull-up: with `open_level="high"` the pin reads high while the drawer is open
    (the switch to ground opens with the drawer). DrawerLeftOpen is sent once per opening after
    `left_open_s`.
    """

    def __init__(self, relay: int, events: queue.Queue[object], pin_factory: Factory | None = None,
                 sensor: int | None = None,
                 pulse_ms: int = 100, open_level: str = "high", left_open_s: float = 60.0) -> None:
        from gpiozero import DigitalInputDevice, DigitalOutputDevice  # lazy: only with a GPIO drawer

        self.events = events
        self.pulse_s = pulse_ms / 1000
        self.left_open_s = left_open_s
        self.open_level = open_level
        self.relay = DigitalOutputDevice(relay, initial_value=False, pin_factory=pin_factory)
        self.sensor = DigitalInputDevice(sensor, pull_up=True, pin_factory=pin_factory) if sensor is not None else None
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._open_since: float | None = None
        self._watching = False
        if self.sensor is not None:
            self._settle_sensor()

    def start(self) -> None:
        """Watch the sensor: DrawerOpened/Closed on its edges, DrawerLeftOpen after `left_open_s`. Twice is harmless."""
        if self.sensor is None or self._watching:
            return
        self._watching = True
        self.sensor.when_activated = self._edge
        self.sensor.when_deactivated = self._edge
        if self._reads_open():
            self._opened()

    def _settle_sensor(self) -> None:
        """Hook run at construction, before the sensor is watched."""

    def open(self) -> None:
        # blink(n=1) runs in gpiozero's own thread: on for the pulse, then off; open() returns at once.
        self.relay.blink(on_time=self.pulse_s, off_time=0, n=1, background=True)

    def is_open(self) -> bool | None:
        return None if self.sensor is None else self._reads_open()

    def _reads_open(self) -> bool:
        assert self.sensor is not None
        high = not self.sensor.is_active  # pull-up: active means the pin is low
        return high if self.open_level == "high" else not high

    def _edge(self, device: InputDevice | None = None) -> None:
        if self._reads_open():
            self._opened()
        else:
            self._closed()

    def _opened(self) -> None:
        with self._lock:
            if self._open_since is not None:
                return
            self._open_since = time.monotonic()
            self._timer = threading.Timer(self.left_open_s, self._left_open)
            self._timer.name = "kassa-drawer-left-open"
            self._timer.daemon = True
            self._timer.start()
        self.events.put(DrawerOpened())

    def _closed(self) -> None:
        with self._lock:
            if self._open_since is None:
                return
            self._open_since = None
            if self._timer:
                self._timer.cancel()
            self._timer = None
        self.events.put(DrawerClosed())

    def _left_open(self) -> None:
        with self._lock:
            since = self._open_since
        if since is not None:
            self.events.put(DrawerLeftOpen(round(time.monotonic() - since, 1)))

    def self_test(self, timeout: float = 3.0) -> SelfTestResult:
        was_open = self.is_open()
        self.open()
        details: dict[str, object] = {"via": "gpio", "relay": str(self.relay.pin),
                                      "pulse_ms": round(self.pulse_s * 1000)}
        if self.sensor is None:
            return SelfTestResult("drawer", True, "Relay pulsed; no sensor fitted, check that the drawer opened.",
                                  details)
        details["sensor"] = str(self.sensor.pin)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._reads_open():
            time.sleep(0.01)
        if self._reads_open():
            sentence = "Drawer opened and the sensor saw it." if not was_open else \
                "Sensor reads open (it was already open before the kick); close it and test again."
            return SelfTestResult("drawer", not was_open, sentence, {**details, "open": True})
        return SelfTestResult("drawer", False, f"Relay pulsed but the sensor did not read open within {timeout:g} s; "
                              "check the solenoid wiring and the sensor.", {**details, "open": False})

    def close(self) -> None:
        with self._lock:
            timer, self._timer = self._timer, None
        _end_timer(timer)
        self.relay.close()
        if self.sensor is not None:
            self.sensor.close()


class SimulatedDrawer(GpioDrawer):
    """A GPIO drawer on MockFactory pins whose spring really works: a kick drives the sensor pin open.

    `push_closed()` is the clerk closing it. Pins are inspectable: `relay.pin.states`, `sensor.pin.states`.
    """

    def __init__(self, events: queue.Queue[object], pin_factory: Factory | None, relay: int = 17, sensor: int = 27,
                 pulse_ms: int = 100, left_open_s: float = 60.0, auto_close_s: float | None = None) -> None:
        super().__init__(relay, events, pin_factory, sensor, pulse_ms, "high", left_open_s)
        self.auto_close_s = auto_close_s
        self._closing = False
        events.put(DeviceState("drawer", True, "ready", "Simulated drawer (MockFactory pins)."))

    def _settle_sensor(self) -> None:
        assert self.sensor is not None
        self.sensor.pin.drive_low()  # closed at power-on

    def open(self) -> None:
        super().open()
        self._spring_timer = threading.Timer(self.pulse_s, self._spring)
        self._spring_timer.name = "kassa-drawer-spring"
        self._spring_timer.daemon = True
        self._spring_timer.start()

    def _spring(self) -> None:
        pin = self.sensor.pin if self.sensor is not None and not self.sensor.closed else None
        if pin is not None:
            pin.drive_high()
            if self.auto_close_s and not self._closing:  # the demo's imaginary clerk shuts the drawer again
                self._spring_timer = threading.Timer(self.auto_close_s, self._shut)
                self._spring_timer.name = "kassa-drawer-spring"
                self._spring_timer.daemon = True
                self._spring_timer.start()

    def _shut(self) -> None:
        if self.sensor is not None and not self.sensor.closed:
            self.sensor.pin.drive_low()

    def close(self) -> None:
        self._closing = True
        _end_timer(getattr(self, "_spring_timer", None))
        _end_timer(getattr(self, "_spring_timer", None))  # the one the spring may have set while it was joined
        super().close()

    def push_closed(self) -> None:
        """The clerk pushes the drawer shut."""
        assert self.sensor is not None
        self.sensor.pin.drive_low()
