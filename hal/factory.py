"""The one place that builds hardware from the `[hardware]` URLs: build_hardware(spec, events) -> Hardware."""

from __future__ import annotations

import logging
import pathlib
import queue
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hal.errors import HalError, HardwareConfigError
from hal.ports import Drawer, Printer, Scale, Scanner, StatusLed
from hal.urls import (
    DRAWER_EXAMPLE,
    LED_EXAMPLE,
    PRINTER_EXAMPLE,
    SCALE_EXAMPLE,
    SCANNER_EXAMPLE,
    DrawerConfig,
    LedConfig,
    PrinterConfig,
    ScaleConfig,
    ScannerConfig,
    parse_drawer_url,
    parse_led_url,
    parse_printer_url,
    parse_scale_url,
    parse_scanner_url,
)

__all__ = ["HardwareSpec", "Hardware", "build_hardware", "parse_scanner_url", "parse_printer_url",
           "parse_drawer_url", "parse_led_url", "parse_scale_url", "check_spec", "build_scale"]

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # gpiozero is imported lazily, only for GPIO or simulated pins (it ships no type hints)
    from gpiozero import Factory
    from gpiozero.pins.mock import MockFactory


@dataclass(frozen=True)
class HardwareSpec:
    """The config's `[hardware]` URLs plus what the register knows (paper width, where to render, pins)."""

    scanner: str
    printer: str
    drawer: str
    led: str
    paper_columns: int = 42
    render_dir: str | pathlib.Path | None = None
    pin_factory: Factory | None = None  # for gpio: URLs; None = gpiozero's default (the Pi's own GPIO)
    header: tuple[str, ...] = ("Kassa",)
    drawer_open_warn_seconds: float = 60.0
    scanner_flush_after: float = 0.3
    scale: str = "none"  # hardware.scale: none (weights are typed), simulated[:protocol], serial://...


@dataclass
class Hardware:
    """The four ports, built; `mock_factory` is the MockFactory behind simulated drawer/LED pins, if any."""

    scanner: Scanner
    printer: Printer
    drawer: Drawer
    led: StatusLed
    mock_factory: MockFactory | None = None
    scale: Scale | None = None  # None: no scale configured (hardware.scale = "none")

    def start(self, scanner: bool = True) -> None:
        """Start the devices' threads: the printer's worker, the drawer's sensor watch, then the scanner's reader.

        Building starts none; `close()` (alias `stop`) ends and joins them. The self-test passes
        `scanner=False` and starts the scanner when it asks for a scan.
        """
        for part in (self.printer, self.drawer):
            start = getattr(part, "start", None)
            if start is not None:
                start()
        if self.scale is not None:
            self.scale.start()
        if scanner:
            self.scanner.start()

    def close(self) -> None:
        """Stop every device and release pins, ptys and connections."""
        for part in (self.scanner, self.printer, self.drawer, self.led, self.scale):
            if part is None:
                continue
            try:
                closer = getattr(part, "close", None) or getattr(part, "stop")  # noqa: B009 - not every port has stop
                closer()
            except Exception:  # one device's failure to close must not keep the others open
                log.exception("closing %s failed", type(part).__name__)

    stop = close


PAPER_COLUMNS = (32, 42, 48)


def check_spec(spec: HardwareSpec) -> tuple[ScannerConfig, PrinterConfig, DrawerConfig, LedConfig]:
    """Parse every URL (raises HardwareConfigError naming the key); builds nothing."""
    if isinstance(spec.paper_columns, bool) or spec.paper_columns not in PAPER_COLUMNS:
        raise HardwareConfigError("hardware.paper_columns", spec.paper_columns,
                                  "must be the paper's characters per line, 32 (58 mm) or 42/48 (80 mm)", "42")
    parse_scale_url(spec.scale)  # checked here too; build_hardware builds it
    return (parse_scanner_url(spec.scanner), parse_printer_url(spec.printer), parse_drawer_url(spec.drawer),
            parse_led_url(spec.led))


def build_hardware(spec: HardwareSpec, events: queue.Queue[object]) -> Hardware:
    """Build every port from `spec`; simulated backends only where a URL says "simulated".

    Raises HardwareConfigError naming the key when a URL is bad or a device cannot be set up on this
    machine the way the config says (missing backend library, no GPIO here, a pin refused, no permission):
    restarting will not fix those. Parts already built are closed first. A device that is merely
    unplugged is not an error here: scanner and printer reconnect on their own.
    """
    scanner_cfg, printer_cfg, drawer_cfg, led_cfg = check_spec(spec)
    built: list[Scanner | Printer | Drawer | StatusLed | Scale] = []
    try:
        mock = None
        if drawer_cfg.kind == "simulated" or led_cfg.kind == "simulated":
            from gpiozero.pins.mock import MockFactory, MockPWMPin

            mock = MockFactory(pin_class=MockPWMPin)  # a fresh one per Hardware: mock pins are global per factory
        with _setting_up("hardware.scanner", spec.scanner, SCANNER_EXAMPLE):
            scanner = build_scanner(scanner_cfg, events, spec.scanner_flush_after)
            built.append(scanner)
        with _setting_up("hardware.printer", spec.printer, PRINTER_EXAMPLE):
            printer = build_printer(printer_cfg, events, spec)
            built.append(printer)
        with _setting_up("hardware.drawer", spec.drawer, DRAWER_EXAMPLE):
            drawer = build_drawer(drawer_cfg, events, printer, spec, mock)
            built.append(drawer)
        with _setting_up("hardware.led", spec.led, LED_EXAMPLE):
            led = build_led(led_cfg, spec.pin_factory, mock)
            built.append(led)
        scale = None
        with _setting_up("hardware.scale", spec.scale, SCALE_EXAMPLE):
            scale = build_scale(parse_scale_url(spec.scale), events)
        if scale is not None:
            built.append(scale)
    except BaseException:
        for part in reversed(built):
            try:
                (getattr(part, "close", None) or getattr(part, "stop"))()  # noqa: B009 - not every port has stop
            except Exception:  # already failing; the first error is the one to report
                log.exception("closing %s after a failed start failed", type(part).__name__)
        raise
    return Hardware(scanner, printer, drawer, led, mock, scale)


@contextmanager
def _setting_up(key: str, url: str, example: str) -> Iterator[None]:
    """Errors of setting a device up that no restart fixes become HardwareConfigError naming `key`."""
    try:
        yield
    except HardwareConfigError:
        raise
    except (HalError, ValueError, ImportError, PermissionError) as exc:
        if isinstance(exc, OSError) and not isinstance(exc, PermissionError):
            raise  # DeviceUnavailable: the device is there in principle, just not now
        if isinstance(exc, PermissionError):
            fix = "add the service user to the device's group (dialout, lp or gpio; `kassa-provision install-service`)"
        elif isinstance(exc, ImportError) and not type(exc).__module__.startswith("gpiozero"):
            fix = "install what it names"
        else:
            fix = "use other pins or settings, or simulated on a machine without this hardware"
        raise HardwareConfigError(key, url, f"cannot be set up on this machine ({type(exc).__name__}: {exc}); "
                                  f"{fix}", example) from exc
    except Exception as exc:
        if type(exc).__module__.startswith("gpiozero"):  # e.g. GPIOPinInUse, PinUnknownPi: the GPIO setup is wrong
            raise HardwareConfigError(key, url, f"GPIO cannot be set up ({type(exc).__name__}: {exc}); "
                                      "use free BCM pins, or simulated on a machine without GPIO", example) from exc
        raise


def build_scanner(config: ScannerConfig, events: queue.Queue[object], flush_after: float = 0.3) -> Scanner:
    from hal.scanner import MemoryScanner, PtyScanner, SerialScanner

    if config.kind == "serial":
        return SerialScanner(config.path, events, config.baud, config.suffix, flush_after)
    if config.kind == "pty":
        scanner = PtyScanner(events, config.suffix, flush_after)
        log.warning("simulated scanner on %s: echo 4006381333931 > %s", scanner.path, scanner.path)
        return scanner
    return MemoryScanner(events, config.suffix)


def build_printer(config: PrinterConfig, events: queue.Queue[object], spec: HardwareSpec) -> Printer:
    from hal.connectors import make_connector
    from hal.printer import ReceiptPrinter

    render_path = pathlib.Path(spec.render_dir) / "receipts.txt" if spec.render_dir else None
    return ReceiptPrinter(make_connector(config), events, spec.paper_columns, render_path,
                          status_timeout=config.status_timeout, profile=config.profile, header=spec.header,
                          codepage=config.codepage)


def build_drawer(config: DrawerConfig, events: queue.Queue[object], printer: Printer, spec: HardwareSpec,
                 mock: MockFactory | None) -> Drawer:
    from hal.drawer import GpioDrawer, PrinterDrawer, SimulatedDrawer

    left_open = config.left_open_s or spec.drawer_open_warn_seconds
    if config.kind == "printer":
        return PrinterDrawer(printer, config.kick_pin, config.pulse_ms)
    if config.kind == "simulated":
        return SimulatedDrawer(events, mock, pulse_ms=config.pulse_ms, left_open_s=left_open,
                               auto_close_s=config.auto_close_s)
    assert config.relay is not None
    return GpioDrawer(config.relay, events, spec.pin_factory, config.sensor, config.pulse_ms, config.open_level,
                      left_open)


def build_led(config: LedConfig, pin_factory: Factory | None, mock: MockFactory | None) -> StatusLed:
    from hal.led import RgbLed, SingleLed

    if config.kind == "single":
        assert config.pin is not None
        return SingleLed(config.pin, pin_factory)
    if config.kind == "simulated":
        assert config.red is not None and config.green is not None
        return RgbLed(config.red, config.green, config.blue, mock)
    assert config.red is not None and config.green is not None
    return RgbLed(config.red, config.green, config.blue, pin_factory)


def build_scale(config: ScaleConfig, events: queue.Queue[object]) -> Scale | None:
    """The scale `config` names, not started; None for `none`."""
    from hal.scale import PtyScale, SerialScale

    if config.kind == "none":
        return None
    if config.kind == "simulated":
        return PtyScale(events, config.protocol, config.poll_s)
    return SerialScale(config.path, events, config.protocol, config.baud, config.bytesize, config.parity,
                       config.stopbits, config.poll_s)
