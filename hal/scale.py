"""Scale backends: a serial POS scale polled by pyserial (Toledo 8217 or SMA), and a simulated scale on a pty.

`SerialScale` asks the scale for its weight every `poll_s` in a thread and
puts a `WeightRead` on the register's queue only when the reading changed
(status or weight), so a scale that sits still costs the register nothing.
A scale that stops answering is reported as a `DeviceState("scale", False,
...)` (the register then forgets the last weight: no sale from a stale
reading); an unplugged one is reopened with backoff, as the scanner is.

`SimulatedScale` is the scale's side of the wire on a pty: it answers the
same protocol bytes a real scale does, so `simulated:toledo8217` runs the
real `SerialScale` against it. Put weight on it from a test with
`place(kg, stable)`, or from a shell by writing to its control pty
(`echo 0.730 > /dev/pts/N`; `0.730 moving`, `over`, `under`, `0`); it
records every request it answered.
"""

from __future__ import annotations

import logging
import os
import queue
import select
import termios
import threading
import time
import tty
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from hal.events import DeviceState, WeightRead
from hal.ports import Scale, SelfTestResult
from hal.scale_wire import CR, LF, host_codec, scale_reply

if TYPE_CHECKING:  # pyserial is imported lazily, only with a serial scale (it ships no type hints)
    from serial import Serial

log = logging.getLogger(__name__)

MISSES_BEFORE_SILENT = 3  # unanswered requests in a row before the scale is reported silent


class SerialScale(Scale):
    """A POS scale on a serial port (USB-serial or RS-232), polled in a thread."""

    def __init__(self, path: str, events: queue.Queue[object], protocol: str = "toledo8217", baud: int = 9600,
                 bytesize: int = 7, parity: str = "E", stopbits: int = 1, poll_s: float = 0.2,
                 answer_s: float = 0.5, backoff: tuple[float, float] = (0.1, 5.0)) -> None:
        self.path = path
        self.events = events
        self.protocol = protocol
        self.baud, self.bytesize, self.parity, self.stopbits = baud, bytesize, parity, stopbits
        self.poll_s, self.answer_s, self.backoff = poll_s, answer_s, backoff
        self._codec = host_codec(protocol)
        self._state = "stopped"
        self._reading: WeightRead | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._changed = threading.Condition()
        self._answers = 0

    @property
    def state(self) -> str:
        return self._state

    @property
    def reading(self) -> WeightRead | None:
        """The last reading (None before the first answer or while the scale is silent)."""
        return self._reading

    def start(self) -> None:
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._set_state("connecting", True, f"opening the scale at {self.path}")
        self._thread = threading.Thread(target=self._run, name="kassa-scale", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(5.0)
        self._state = "stopped"

    close = stop

    def wait_for(self, predicate: Callable[[WeightRead], object], timeout: float = 5.0) -> WeightRead | None:
        """Block until a reading satisfies `predicate(reading)` (tests, self-test); the reading or None."""
        with self._changed:
            ok = self._changed.wait_for(lambda: self._reading is not None and predicate(self._reading), timeout)
            return self._reading if ok else None

    def self_test(self, wait_s: float = 5.0) -> SelfTestResult:
        with self._changed:
            before = self._answers
            got = self._changed.wait_for(lambda: self._answers > before, wait_s)
            reading = self._reading
        if got and reading is not None:
            what = f"{reading.weight} kg" if reading.weight is not None else reading.status.replace("_", " ")
            return SelfTestResult("scale", True, f"Scale answered ({self.protocol}): {what}, {reading.status}.",
                                  {"protocol": self.protocol, "status": reading.status, "state": self.state})
        return SelfTestResult("scale", False, f"The scale at {self.path} did not answer within {wait_s:g} s; check "
                              f"its cable, that it speaks {self.protocol}, and baud/bytesize/parity "
                              f"({self.baud} {self.bytesize}{self.parity}{self.stopbits}).", {"state": self.state})

    # ---- the polling thread

    def _set_state(self, state: str, ok: bool, detail: str) -> None:
        if state != self._state:
            self._state = state
            self.events.put(DeviceState("scale", ok, state, detail))

    def _publish(self, reading: WeightRead | None) -> None:
        with self._changed:
            if reading is not None:
                self._answers += 1
            changed = reading != self._reading
            self._reading = reading
            self._changed.notify_all()
        if changed and reading is not None:
            self.events.put(reading)

    def _open(self) -> Serial:
        import serial  # lazy: pyserial only when a serial scale is configured

        return serial.Serial(self.path, self.baud, bytesize=self.bytesize, parity=self.parity,
                             stopbits=self.stopbits, timeout=0.05, write_timeout=1.0)

    def _run(self) -> None:
        import serial

        port: Serial | None = None
        delay, misses = self.backoff[0], 0
        try:
            while not self._stop.is_set():
                if port is None:
                    try:
                        port = self._open()
                        port.reset_input_buffer()
                    except (serial.SerialException, OSError, ValueError, termios.error) as exc:
                        port = None  # termios.error: the port refused the baud, bytesize or parity
                        self._set_state("disconnected", False, f"Scale not found at {self.path} ({_short(exc)}); "
                                                               "check its cable. Retrying.")
                        self._stop.wait(delay)
                        delay = min(delay * 2, self.backoff[1])
                        continue
                    delay, self._codec = self.backoff[0], host_codec(self.protocol)
                try:
                    reading = self._ask(port)
                except (serial.SerialException, OSError) as exc:
                    _close(port)
                    port = None
                    self._publish(None)
                    self._set_state("disconnected", False, f"Scale at {self.path} went away ({_short(exc)}); "
                                                           "reconnect it. Retrying.")
                    continue
                if reading is None:
                    misses += 1
                    if misses >= MISSES_BEFORE_SILENT:
                        self._publish(None)
                        self._set_state("silent", False, f"The scale at {self.path} does not answer; check that it "
                                                         f"is on and set to {self.protocol} at {self.baud} baud.")
                else:
                    misses = 0
                    self._set_state("connected", True, f"Scale ready at {self.path} ({self.protocol}).")
                    self._publish(reading)
                self._stop.wait(self.poll_s)
        finally:
            _close(port)

    def _ask(self, port: Serial) -> WeightRead | None:
        """Send one weight request; the reading it got within `answer_s`, else None. Checks the terminator
        itself (pyserial's read_until returns a partial buffer on timeout)."""
        port.write(self._codec.request)
        deadline = time.monotonic() + self.answer_s
        while time.monotonic() < deadline and not self._stop.is_set():
            found = self._codec.feed(port.read(max(1, port.in_waiting)))
            if found:
                return found[-1]
        return None


class SimulatedScale:
    """The scale's side of the wire on a pty: answers Toledo 8217 or SMA requests for the weight it holds."""

    def __init__(self, protocol: str = "toledo8217", capacity: Decimal = Decimal("15.000")) -> None:
        host_codec(protocol)  # refuses an unknown protocol
        self.protocol = protocol
        self.capacity = capacity
        self.weight = Decimal("0.000")
        self.stable = True
        self.requests: list[bytes] = []  # every request answered, in order
        self._lock = threading.Lock()
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # bytes pass unchanged both ways
        self.path = os.ttyname(self._slave)
        self._control_master, self._control_slave = os.openpty()
        tty.setraw(self._control_slave)
        self.control_path = os.ttyname(self._control_slave)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._frame = bytearray()
        self._control = bytearray()
        log.info("simulated scale (%s): put weight on it with: echo 0.730 > %s", protocol, self.control_path)

    def place(self, kg: Decimal | str | float, stable: bool = True) -> None:
        """Put `kg` on the platter (negative: under zero; above capacity: overload)."""
        with self._lock:
            self.weight = Decimal(str(kg)).quantize(Decimal("0.001"))
            self.stable = stable

    def start(self) -> None:
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="kassa-scale-sim", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        for fd in (self._master, self._slave, self._control_master, self._control_slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master, self._control_master], [], [], 0.05)
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    self._stop.wait(0.05)
                    continue
                if fd == self._master:
                    self._answer(data)
                else:
                    self._command(data)

    def _answer(self, data: bytes) -> None:
        for byte in data:
            if self.protocol == "toledo8217":
                if byte in (CR, LF):
                    continue
                request = bytes([byte])
            else:  # SMA: LF command CR
                if byte == LF:
                    self._frame.clear()
                    continue
                if byte != CR:
                    self._frame.append(byte)
                    continue
                request = bytes(self._frame)
                self._frame.clear()
            with self._lock:
                reply = scale_reply(self.protocol, request, self.weight, self.stable, self.capacity)
                self.requests.append(request)
            try:
                os.write(self._master, reply)
            except OSError:
                pass

    def _command(self, data: bytes) -> None:
        """Lines on the control pty: a weight in kg (`0.730`, `0.730 moving`), `over`, `under`, `zero`."""
        self._control += data
        while b"\n" in self._control:
            line, _, rest = bytes(self._control).partition(b"\n")
            self._control = bytearray(rest)
            words = line.decode("ascii", "replace").strip().lower().split()
            if not words:
                continue
            moving = len(words) > 1 and words[1] in ("moving", "unstable", "m")
            head = {"over": str(self.capacity + 1), "under": "-0.005", "zero": "0"}.get(words[0], words[0])
            try:
                self.place(head.removesuffix("kg"), stable=not moving)
            except (InvalidOperation, ValueError):
                log.warning("simulated scale: %r is not a weight; write e.g. 0.730 or '0.730 moving'", line)


class PtyScale(SerialScale):
    """`simulated:<protocol>`: the real SerialScale talking to a SimulatedScale on a pty (`.simulator`)."""

    def __init__(self, events: queue.Queue[object], protocol: str = "toledo8217", poll_s: float = 0.2) -> None:
        self.simulator = SimulatedScale(protocol)
        super().__init__(self.simulator.path, events, protocol, poll_s=poll_s)

    def start(self) -> None:
        self.simulator.start()
        super().start()

    def stop(self) -> None:
        super().stop()

    def close(self) -> None:
        super().stop()
        self.simulator.close()


def _close(port: Serial | None) -> None:
    if port is not None:
        try:
            port.close()
        except Exception:  # closing a vanished device may fail again; nothing more to do
            pass


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
