"""Scanner backends: pyserial (reader thread, reopen with backoff), a pty simulator and an in-memory feed.

Bounded input: the register's event queue is shared and unbounded, so a
scanner never lets its own events pile up in it. While the queue already
holds `max_backlog` events (MAX_BACKLOG: far more than a cashier can scan
before the register catches up; only a flood of garbage on the line, or a
register that has stopped reading, gets there), new scans are dropped,
counted in `dropped` and reported in a few warnings every WARN_EVERY
seconds. Dropping rather than blocking the reader: once the flood ends the
next real scan goes through at once instead of waiting behind a backlog of
junk, and the kernel's tty buffer never fills. Rejected scans are logged the
same way (a few lines, then a count).
"""

from __future__ import annotations

import logging
import os
import queue
import select
import threading
import time
import tty
from collections.abc import Callable
from typing import TYPE_CHECKING

from hal.events import DeviceState, ScanRead, ScanRejected
from hal.framing import Framer
from hal.ports import Scanner, SelfTestResult

if TYPE_CHECKING:  # pyserial is imported lazily, only with a serial scanner (it ships no type hints)
    from serial import Serial

log = logging.getLogger(__name__)

MAX_BACKLOG = 100  # events in the register's queue beyond which this scanner drops its own
WARN_EVERY = 10.0  # s: at most WARN_BURST log lines about dropped, and about rejected, scans in each
WARN_BURST = 3


class _FramedScanner(Scanner):
    """Shared plumbing: framing, event delivery, state changes, the self-test waiter."""

    def __init__(self, events: queue.Queue[object], suffix: str, flush_after: float = 0.3,
                 max_backlog: int = MAX_BACKLOG) -> None:
        self.events = events
        self.framer = Framer(suffix)
        self.flush_after = flush_after
        self.max_backlog = max_backlog
        self.dropped = 0  # scans not delivered because the register's queue was full
        self.rejected = 0
        self._noted: dict[str, list[float]] = {}  # what -> [window start, lines logged in it, left out]
        self._state = "stopped"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._scanned = threading.Condition()
        self._scan_count = 0
        self._last_code: str | None = None

    @property
    def state(self) -> str:
        return self._state

    def _set_state(self, state: str, ok: bool, detail: str) -> None:
        if state != self._state:
            self._state = state
            self.events.put(DeviceState("scanner", ok, state, detail))

    def _deliver(self, found: list[ScanRead | ScanRejected]) -> None:
        events = self.events
        for event in found:
            if isinstance(event, ScanRejected):
                self.rejected += 1
                self._note("rejected", logging.INFO, "scan rejected: %s %r", event.reason, event.raw[:80])
            if events.qsize() >= self.max_backlog:
                self.dropped += 1
                self._note("dropped", logging.WARNING, "the register is %d events behind: scan dropped (%d so "
                           "far); is something flooding the scanner line?", events.qsize(), self.dropped)
                continue
            events.put(event)
            if isinstance(event, ScanRead):
                with self._scanned:
                    self._scan_count += 1
                    self._last_code = event.code
                    self._scanned.notify_all()

    def _note(self, what: str, level: int, msg: str, *args: object) -> None:
        """Log at most WARN_BURST lines per `what` every WARN_EVERY seconds; the next one says how many were
        left out (hal cannot use firmware.logutil: layers)."""
        now = time.monotonic()
        seen = self._noted.setdefault(what, [now, 0, 0])  # window start, logged in it, left out
        more = ""
        if now - seen[0] >= WARN_EVERY:
            more = f" (and {int(seen[2])} more not logged)" if seen[2] else ""
            seen[0], seen[1], seen[2] = now, 0, 0
        if seen[1] >= WARN_BURST:
            seen[2] += 1
            return
        seen[1] += 1
        log.log(level, msg + more, *args)

    def _receive(self, data: bytes, quiet_since: float) -> float:
        """Frame `data` (b"" when the read timed out); returns the new time of the last byte."""
        now = time.monotonic()
        if data:
            self._deliver(self.framer.feed(data))
            return now
        if self.framer.pending and now - quiet_since >= self.flush_after:
            rejected = self.framer.flush()
            if rejected:
                self._deliver([rejected])
        return quiet_since

    def _start_thread(self, target: Callable[[], None], name: str) -> None:
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=target, name=name, daemon=True)
        self._thread.start()

    def _join(self, timeout: float = 5.0) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                log.error("thread %s did not end within %g s (a read hanging in the driver?)", thread.name, timeout)

    def self_test(self, wait_s: float = 10.0) -> SelfTestResult:
        with self._scanned:
            before = self._scan_count
            got = self._scanned.wait_for(lambda: self._scan_count > before, timeout=wait_s)
            code = self._last_code
        if got:
            return SelfTestResult("scanner", True, f"Scanner read {code}.", {"code": code, "state": self.state})
        return SelfTestResult("scanner", False,
                              f"No scan within {wait_s:g} s; scan any barcode, check the cable and the "
                              f"scanner's suffix setting ({self.framer.suffix}).", {"state": self.state})


class SerialScanner(_FramedScanner):
    """A serial (USB CDC or RS-232) scanner read by pyserial in a thread; reopens with backoff when it vanishes."""

    def __init__(self, path: str, events: queue.Queue[object], baud: int = 9600, suffix: str = "cr",
                 flush_after: float = 0.3, backoff: tuple[float, float] = (0.1, 5.0)) -> None:
        super().__init__(events, suffix, flush_after)
        self.path = path
        self.baud = baud
        self.backoff = backoff

    def start(self) -> None:
        self._set_state("connecting", True, f"opening scanner at {self.path}")
        self._start_thread(self._run, "kassa-scanner")

    def stop(self) -> None:
        self._join()
        self._state = "stopped"

    def _run(self) -> None:
        import serial  # lazy: pyserial only when a serial scanner is configured

        port: Serial | None = None
        delay = self.backoff[0]
        quiet_since = time.monotonic()
        try:
            while not self._stop.is_set():
                if port is None:
                    try:
                        port = serial.Serial(self.path, self.baud, timeout=0.05)
                    except (serial.SerialException, OSError, ValueError) as exc:
                        self._set_state("disconnected", False,
                                        f"Scanner not found at {self.path} ({_short(exc)}); check its cable. "
                                        "Retrying.")
                        self._stop.wait(delay)
                        delay = min(delay * 2, self.backoff[1])
                        continue
                    delay = self.backoff[0]
                    self.framer = Framer(self.framer.suffix, self.framer.max_len)
                    self._set_state("connected", True, f"Scanner ready at {self.path}.")
                try:
                    data = port.read(max(1, port.in_waiting))
                except (serial.SerialException, OSError) as exc:
                    # An unplugged USB-serial device: "device reports readiness to read but returned no data".
                    _close(port)
                    port = None
                    self._set_state("disconnected", False,
                                    f"Scanner at {self.path} went away ({_short(exc)}); reconnect it. Retrying.")
                    continue
                quiet_since = self._receive(data, quiet_since)
        finally:
            _close(port)


class PtyScanner(_FramedScanner):
    """A simulated scanner: a pty whose `.path` anyone can write to (`echo 4006381333931 > /dev/pts/N`)."""

    def __init__(self, events: queue.Queue[object], suffix: str = "lf", flush_after: float = 0.3) -> None:
        super().__init__(events, suffix, flush_after)
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # bytes pass unchanged: no CR->LF mapping, no echo
        self.path = os.ttyname(self._slave)
        log.info("simulated scanner: echo CODE > %s", self.path)

    def start(self) -> None:
        self._start_thread(self._run, "kassa-scanner-pty")
        self._set_state("connected", True, f"Simulated scanner: echo 4006381333931 > {self.path}")

    def stop(self) -> None:
        self._join()
        self._state = "stopped"

    def close(self) -> None:
        """Stop and release the pty."""
        self.stop()
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def _run(self) -> None:
        quiet_since = time.monotonic()
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            data = b""
            if ready:
                try:
                    data = os.read(self._master, 4096)
                except OSError:
                    self._stop.wait(0.05)
            quiet_since = self._receive(data, quiet_since)


class MemoryScanner(_FramedScanner):
    """An in-memory scanner for tests and the demo: `feed(code)` frames a code as if it had been scanned."""

    def __init__(self, events: queue.Queue[object], suffix: str = "lf") -> None:
        super().__init__(events, suffix)

    def start(self) -> None:
        self._set_state("connected", True, "Simulated scanner (in memory).")

    def stop(self) -> None:
        self._state = "stopped"

    def feed(self, code: str) -> None:
        """Scan `code` (its suffix is added)."""
        self.feed_raw(code.encode("utf-8") + self.framer.terminator)

    def feed_raw(self, data: bytes) -> None:
        """Deliver raw bytes exactly as a scanner would send them."""
        self._deliver(self.framer.feed(data))

    def go_quiet(self) -> None:
        """The line went quiet: a frame without its suffix is dropped with a reason."""
        rejected = self.framer.flush()
        if rejected:
            self._deliver([rejected])


def _close(port: Serial | None) -> None:
    if port is not None:
        try:
            port.close()
        except Exception:  # closing a vanished device may fail again; nothing more to do
            pass


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
