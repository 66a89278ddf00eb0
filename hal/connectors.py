"""Printer transports: python-escpos connectors (USB, serial, TCP, file) and the simulated Dummy.

They only move bytes."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hal.errors import BackendMissing, DeviceUnavailable
from hal.escpos_env import load_escpos
from hal.urls import PrinterConfig

if TYPE_CHECKING:  # python-escpos is imported lazily (hal.escpos_env); it ships no type hints
    from escpos.escpos import Escpos
    from escpos.printer import Dummy


class Connector:
    """Moves bytes to a printer; `query` asks a real-time status question where the transport can answer.

    Subclasses must make `close()` safe to call at any time; after it the next `open()` starts afresh (for USB
    that means a fresh device object: a power-cycled printer is not reachable through the old one).
    """

    label = "printer"

    def open(self) -> None:
        """Connect (no-op when connected); raises DeviceUnavailable."""

    def write(self, data: bytes) -> None:
        raise NotImplementedError

    def query(self, request: bytes, timeout: float) -> bytes | None:
        """Send `request` and read the answer; None when there is none in `timeout`; raises DeviceUnavailable."""
        return None

    def close(self) -> None:
        """Drop the connection."""


class EscposConnector(Connector):
    """A python-escpos printer object used as a pipe: `_raw` to write, its device to read status."""

    def __init__(self, make: Callable[[], Escpos], kind: str, label: str) -> None:
        self.make = make
        self.kind = kind
        self.label = label
        self.printer: Any = None  # Any: python-escpos's printer, untyped (`device`: socket, serial, usb); None: closed

    def open(self) -> None:
        if self.printer is not None:
            return
        try:
            printer = self.make()
            printer.open()
        except (ImportError, BackendMissing):
            raise
        except Exception as exc:
            raise DeviceUnavailable(f"cannot reach the printer at {self.label} ({_short(exc)}); "
                                    "check power, cable and paper cover") from exc
        self.printer = printer

    def write(self, data: bytes) -> None:
        self.open()
        try:
            self.printer._raw(data)
        except Exception as exc:  # OSError, serial.SerialException, usb.core.USBError, escpos errors
            self.close()
            raise DeviceUnavailable(f"printer at {self.label} stopped taking data ({_short(exc)})") from exc

    def query(self, request: bytes, timeout: float) -> bytes | None:
        if timeout <= 0 or self.kind == "file":
            return None
        self.open()
        try:
            if self.kind == "tcp":
                return self._query_socket(request, timeout)
            if self.kind == "serial":
                port = self.printer.device
                port.timeout = timeout
                port.write(request)
                return bytes(port.read(1)) or None
            if self.kind == "usb":
                self.printer._raw(request)
                return self._read_usb(timeout)
        except DeviceUnavailable:
            self.close()
            raise
        except Exception as exc:
            self.close()
            raise DeviceUnavailable(f"printer at {self.label} stopped answering ({_short(exc)})") from exc
        return None

    def _query_socket(self, request: bytes, timeout: float) -> bytes | None:
        sock: socket.socket = self.printer.device
        previous = sock.gettimeout()
        sock.settimeout(timeout)
        try:
            sock.sendall(request)
            data = sock.recv(16)
        except TimeoutError:
            return None
        finally:
            try:
                sock.settimeout(previous)
            except OSError:
                pass
        if not data:
            raise DeviceUnavailable(f"printer at {self.label} closed the connection")
        return data

    def _read_usb(self, timeout: float) -> bytes | None:
        import usb.core  # lazy: only present with the usb backend

        device = self.printer.device
        try:
            return bytes(device.read(self.printer.in_ep, 16, int(timeout * 1000))) or None
        except usb.core.USBTimeoutError:
            return None

    def close(self) -> None:
        printer, self.printer = self.printer, None
        if printer is not None:
            try:
                printer.close()
            except Exception:  # the device may be gone already; the object is dropped either way
                pass


class SimulatedConnector(Connector):
    """The simulated printer: python-escpos's Dummy keeps every byte; `paper` and `online` inject faults."""

    label = "simulated printer"

    def __init__(self) -> None:
        self._dummy: Dummy | None = None  # python-escpos is imported on first use (the printer's worker)
        self.paper = "ok"  # ok | low | out
        self.online = True
        self._lock = threading.Lock()

    @property
    def dummy(self) -> Dummy:
        if self._dummy is None:
            from hal.escpos_render import new_dummy

            self._dummy = new_dummy()
        return self._dummy

    @property
    def output(self) -> bytes:
        """Every byte printed so far."""
        with self._lock:
            return self.dummy.output

    def clear(self) -> None:
        with self._lock:
            self.dummy.clear()

    def open(self) -> None:
        if not self.online:
            raise DeviceUnavailable("simulated printer is offline")

    def write(self, data: bytes) -> None:
        self.open()
        with self._lock:
            self.dummy._raw(data)

    def query(self, request: bytes, timeout: float) -> bytes | None:
        self.open()
        return bytes([{"ok": 0x12, "low": 0x1E, "out": 0x72}[self.paper]])


def make_connector(config: PrinterConfig) -> Connector:
    """A connector for a parsed `hardware.printer` URL; escpos is imported here, not at hal's import."""
    if config.kind == "simulated":
        return SimulatedConnector()
    profile = config.profile
    # escpos.printer is imported when the worker first opens the device, keeping ~0.2 s off start-up
    printers = _LazyEscpos()
    if config.kind == "tcp":
        return EscposConnector(lambda: printers.Network(config.host, config.port, timeout=config.timeout,
                                                        profile=profile), "tcp", f"{config.host}:{config.port}")
    if config.kind == "serial":
        return EscposConnector(lambda: printers.Serial(config.path, baudrate=config.baud, timeout=config.timeout,
                                                       profile=profile), "serial", config.path)
    if config.kind == "file":
        return EscposConnector(lambda: printers.File(config.path, profile=profile), "file", config.path)
    if config.kind == "usb":
        if not printers.Usb.is_usable():
            raise BackendMissing("the usb:// printer needs pyusb: pip install pyusb (and libusb-1.0-0 from apt)")
        label = f"usb {config.vendor:04x}:{config.product:04x}"
        return EscposConnector(lambda: printers.Usb(config.vendor, config.product, timeout=int(config.timeout * 1000),
                                                    profile=profile), "usb", label)
    raise ValueError(f"unknown printer kind {config.kind!r}")


class _LazyEscpos:
    """`escpos.printer`, imported on first attribute access (a usb:// URL asks at once: is pyusb there?)."""

    def __getattr__(self, name: str) -> type[Escpos]:
        return getattr(load_escpos(), name)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:160] if text else type(exc).__name__
