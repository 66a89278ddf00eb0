"""Parsing of the `[hardware]` URLs into small config records; bad values raise HardwareConfigError."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from hal.errors import HardwareConfigError
from hal.textenc import CODE_PAGES, DEFAULT_CODE_PAGE

SCANNER_EXAMPLE = "serial:///dev/ttyACM0?baud=9600&suffix=cr"
PRINTER_EXAMPLE = "usb://0x04b8:0x0202"
DRAWER_EXAMPLE = "gpio:17?sensor=27"
LED_EXAMPLE = "gpio:red=5,green=6"
SCALE_EXAMPLE = "serial:///dev/ttyUSB1?protocol=toledo8217&baud=9600"
SCALE_PROTOCOLS = ("toledo8217", "sma")
SCALE_FRAMING = {"toledo8217": (7, "E", 1), "sma": (8, "N", 1)}  # the protocols' usual serial settings
SUFFIXES = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n"}
BAUDS = {1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400}


@dataclass(frozen=True)
class ScannerConfig:
    """kind: serial | pty | memory."""

    kind: str
    path: str = ""
    baud: int = 9600
    suffix: str = "cr"


@dataclass(frozen=True)
class PrinterConfig:
    """kind: usb | serial | tcp | file | simulated."""

    kind: str
    vendor: int = 0
    product: int = 0
    path: str = ""
    baud: int = 19200
    host: str = ""
    port: int = 9100
    timeout: float = 10.0
    status_timeout: float = 0.3
    profile: str | None = None
    codepage: str = "pc858"  # hal.textenc: the one code page receipts are printed in (ESC t), never escpos's choice


@dataclass(frozen=True)
class DrawerConfig:
    """kind: printer | gpio | simulated."""

    kind: str
    kick_pin: int = 2
    pulse_ms: int = 100
    relay: int | None = None
    sensor: int | None = None
    open_level: str = "high"
    left_open_s: float | None = None
    auto_close_s: float | None = None  # simulated only: the "clerk" shuts the drawer after this long


@dataclass(frozen=True)
class LedConfig:
    """kind: single | rgb | simulated; pins name BCM GPIO numbers."""

    kind: str
    pin: int | None = None
    red: int | None = None
    green: int | None = None
    blue: int | None = None


@dataclass(frozen=True)
class ScaleConfig:
    """kind: none | serial | simulated; protocol: toledo8217 | sma."""

    kind: str
    protocol: str = "toledo8217"
    path: str = ""
    baud: int = 9600
    bytesize: int = 7
    parity: str = "E"
    stopbits: int = 1
    poll_s: float = 0.2


class _Query:
    """Query-string reader that names the key and example in every error."""

    def __init__(self, key: str, url: str, example: str, query: str, allowed: set[str]) -> None:
        self.key, self.url, self.example = key, url, example
        try:
            parsed = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
        except ValueError:
            self.fail("the query part after '?' must look like name=value&name=value")
        self.values = {name: values[-1] for name, values in parsed.items()}
        unknown = sorted(set(self.values) - allowed)
        if unknown:
            self.fail(f"unknown option {unknown[0]!r} (known: {', '.join(sorted(allowed)) or 'none'})")

    def fail(self, problem: str) -> None:
        raise HardwareConfigError(self.key, self.url, problem, self.example)

    def integer(self, name: str, default: int, lo: int, hi: int) -> int:
        if name not in self.values:
            return default
        text = self.values[name]
        number = int(text, 0) if re.fullmatch(r"0x[0-9a-fA-F]+|\d+", text) else None
        if number is None or not lo <= number <= hi:
            self.fail(f"{name} must be a whole number from {lo} to {hi}, not {text!r}")
        return number  # type: ignore[return-value]

    def number(self, name: str, default: float, lo: float, hi: float) -> float:
        if name not in self.values:
            return default
        try:
            value = float(self.values[name])
        except ValueError:
            value = float("nan")
        if not lo <= value <= hi:
            self.fail(f"{name} must be a number of seconds from {lo:g} to {hi:g}, not {self.values[name]!r}")
        return value

    def choice(self, name: str, default: str, choices: set[str]) -> str:
        value = self.values.get(name, default).lower()
        if value not in choices:
            self.fail(f"{name} must be one of {', '.join(sorted(choices))}, not {self.values[name]!r}")
        return value


def _text(key: str, url: object, example: str) -> str:
    if not isinstance(url, str) or not url.strip():
        raise HardwareConfigError(key, url, "needs a device URL or \"simulated\"", example)
    return url.strip()


def _gpio_number(query: _Query, text: str, what: str) -> int:
    if not re.fullmatch(r"\d{1,2}", text) or int(text) > 27:
        query.fail(f"{what} must be a BCM GPIO number 0-27, not {text!r}")
    return int(text)


def parse_scanner_url(url: str, key: str = "hardware.scanner") -> ScannerConfig:
    """`serial:///dev/ttyACM0?baud=9600&suffix=cr|lf|crlf`, `simulated` (a pty), `simulated:memory`."""
    url = _text(key, url, SCANNER_EXAMPLE)
    if url in ("simulated", "simulated:pty"):
        return ScannerConfig("pty", suffix="lf")
    if url == "simulated:memory":
        return ScannerConfig("memory", suffix="lf")
    parts = urlsplit(url)
    if parts.scheme != "serial":
        raise HardwareConfigError(key, url, "use serial:///dev/... or simulated", SCANNER_EXAMPLE)
    query = _Query(key, url, SCANNER_EXAMPLE, parts.query, {"baud", "suffix"})
    if parts.netloc or not parts.path.startswith("/"):
        query.fail("the device path must be absolute, with three slashes: serial:///dev/ttyACM0")
    if parts.path in ("", "/"):
        query.fail("the device path is missing")
    baud = query.integer("baud", 9600, 50, 4_000_000)
    if baud not in BAUDS:
        query.fail(f"baud must be one of {', '.join(map(str, sorted(BAUDS)))}")
    suffix = query.choice("suffix", "cr", set(SUFFIXES))
    return ScannerConfig("serial", path=parts.path, baud=baud, suffix=suffix)


def parse_printer_url(url: str, key: str = "hardware.printer") -> PrinterConfig:
    """`usb://VID:PID`, `serial:///dev/ttyUSB0?baud=19200`, `tcp://host:9100`, `file:///dev/usb/lp0`, `simulated`."""
    url = _text(key, url, PRINTER_EXAMPLE)
    if url == "simulated":
        return PrinterConfig("simulated", status_timeout=0.0)
    parts = urlsplit(url)
    common = {"timeout", "status_timeout", "profile", "codepage"}
    if parts.scheme == "usb":
        query = _Query(key, url, PRINTER_EXAMPLE, parts.query, common)
        match = re.fullmatch(r"(0x[0-9a-fA-F]{1,4}|[0-9a-fA-F]{4}):(0x[0-9a-fA-F]{1,4}|[0-9a-fA-F]{4})", parts.netloc)
        if not match or parts.path not in ("", "/"):
            query.fail("give the USB vendor and product id as usb://VID:PID (see `lsusb`)")
        vendor, product = (int(group, 16) for group in match.groups())  # type: ignore[union-attr]
        return PrinterConfig("usb", vendor=vendor, product=product, **_common(query))
    if parts.scheme == "serial":
        query = _Query(key, url, "serial:///dev/ttyUSB0?baud=19200", parts.query, common | {"baud"})
        if parts.netloc or not parts.path.startswith("/"):
            query.fail("the device path must be absolute, with three slashes: serial:///dev/ttyUSB0")
        baud = query.integer("baud", 19200, 50, 4_000_000)
        if baud not in BAUDS:
            query.fail(f"baud must be one of {', '.join(map(str, sorted(BAUDS)))}")
        return PrinterConfig("serial", path=parts.path, baud=baud, **_common(query))
    if parts.scheme == "tcp":
        query = _Query(key, url, "tcp://192.168.1.50:9100", parts.query, common)
        try:
            host, port = parts.hostname, parts.port or 9100
        except ValueError:
            query.fail("the port must be a number from 1 to 65535")
        if not host or parts.path not in ("", "/"):
            query.fail("give the printer's address as tcp://host:9100")
        return PrinterConfig("tcp", host=host, port=port, **_common(query))  # type: ignore[arg-type]
    if parts.scheme == "file":
        query = _Query(key, url, "file:///dev/usb/lp0", parts.query, common)
        if parts.netloc or not parts.path.startswith("/"):
            query.fail("the file path must be absolute, with three slashes: file:///dev/usb/lp0")
        return PrinterConfig("file", path=parts.path, **_common(query))
    raise HardwareConfigError(key, url, "use usb://, serial://, tcp://, file:// or simulated", PRINTER_EXAMPLE)


def _common(query: _Query) -> dict:
    return {"timeout": query.number("timeout", 10.0, 0.1, 600.0),
            "status_timeout": query.number("status_timeout", 0.3, 0.0, 10.0),
            "profile": query.values.get("profile") or None,
            "codepage": query.choice("codepage", DEFAULT_CODE_PAGE, set(CODE_PAGES))}


def parse_drawer_url(url: str, key: str = "hardware.drawer") -> DrawerConfig:
    """`printer[?pin=2|5&pulse_ms=100]`, `gpio:17[?sensor=27&pulse_ms=200&open_level=high&left_open=60]`,
    `simulated[?auto_close=5]`."""
    url = _text(key, url, DRAWER_EXAMPLE)
    head, _, query_text = url.partition("?")
    if head == "simulated":
        query = _Query(key, url, "simulated", query_text, {"pulse_ms", "left_open", "auto_close"})
        return DrawerConfig("simulated", relay=17, sensor=27, pulse_ms=query.integer("pulse_ms", 100, 10, 2000),
                            left_open_s=(query.number("left_open", 60.0, 0.01, 86400.0)
                                         if "left_open" in query.values else None),
                            auto_close_s=query.number("auto_close", 0.0, 0.0, 3600.0) or None)
    if head == "printer":
        query = _Query(key, url, "printer?pin=2&pulse_ms=100", query_text, {"pin", "pulse_ms"})
        pin = query.integer("pin", 2, 2, 5)
        if pin not in (2, 5):
            query.fail("pin must be 2 or 5 (the printer's drawer-kick connector pin)")
        return DrawerConfig("printer", kick_pin=pin, pulse_ms=query.integer("pulse_ms", 100, 2, 510))
    if head.startswith("gpio:"):
        query = _Query(key, url, DRAWER_EXAMPLE, query_text, {"sensor", "pulse_ms", "open_level", "left_open"})
        relay = _gpio_number(query, head[5:], "the relay pin")
        sensor = _gpio_number(query, query.values["sensor"], "sensor") if "sensor" in query.values else None
        if sensor == relay:
            query.fail("the sensor needs its own pin, not the relay's")
        return DrawerConfig("gpio", relay=relay, sensor=sensor, pulse_ms=query.integer("pulse_ms", 100, 10, 2000),
                            open_level=query.choice("open_level", "high", {"high", "low"}),
                            left_open_s=(query.number("left_open", 60.0, 0.01, 86400.0)
                                         if "left_open" in query.values else None))
    raise HardwareConfigError(key, url, "use printer, gpio:PIN or simulated", DRAWER_EXAMPLE)


def parse_led_url(url: str, key: str = "hardware.led") -> LedConfig:
    """`gpio:22` (single LED), `gpio:red=5,green=6[,blue=13]` (RGB), `simulated`."""
    url = _text(key, url, LED_EXAMPLE)
    if url == "simulated":
        return LedConfig("simulated", red=5, green=6, blue=13)
    if not url.startswith("gpio:"):
        raise HardwareConfigError(key, url, "use gpio:PIN, gpio:red=R,green=G[,blue=B] or simulated", LED_EXAMPLE)
    body = url[5:]
    query = _Query(key, url, LED_EXAMPLE, "", set())
    if "=" not in body:
        return LedConfig("single", pin=_gpio_number(query, body, "the LED pin"))
    pins: dict[str, int] = {}
    for part in body.split(","):
        name, _, number = part.partition("=")
        name = name.strip().lower()
        if name not in ("red", "green", "blue") or name in pins:
            query.fail(f"colour names are red, green and blue, each once; got {name!r}")
        pins[name] = _gpio_number(query, number.strip(), name)
    if "red" not in pins or "green" not in pins:
        query.fail("an RGB LED needs at least red and green")
    if len(set(pins.values())) != len(pins):
        query.fail("each colour needs its own pin")
    return LedConfig("rgb", red=pins["red"], green=pins["green"], blue=pins.get("blue"))


def parse_scale_url(url: str, key: str = "hardware.scale") -> ScaleConfig:
    """`none` (no scale: weights are typed), `simulated[:toledo8217|:sma]` (a pty), or
    `serial:///dev/ttyUSB1?protocol=toledo8217|sma&baud=9600[&bytesize=7&parity=E&stopbits=1&poll=0.2]`."""
    url = _text(key, url, SCALE_EXAMPLE)
    if url == "none":
        return ScaleConfig("none")
    if url == "simulated" or url.startswith("simulated:"):
        protocol = url.partition(":")[2] or "toledo8217"
        if protocol not in SCALE_PROTOCOLS:
            raise HardwareConfigError(key, url, f"the simulated scale speaks {' or '.join(SCALE_PROTOCOLS)}",
                                      "simulated:toledo8217")
        return ScaleConfig("simulated", protocol, *(("",) + (9600,) + SCALE_FRAMING[protocol]))
    parts = urlsplit(url)
    if parts.scheme != "serial":
        raise HardwareConfigError(key, url, "use serial:///dev/...?protocol=toledo8217 (or sma), simulated or none",
                                  SCALE_EXAMPLE)
    query = _Query(key, url, SCALE_EXAMPLE, parts.query, {"protocol", "baud", "bytesize", "parity", "stopbits", "poll"})
    if parts.netloc or not parts.path.startswith("/") or parts.path == "/":
        query.fail("the device path must be absolute, with three slashes: serial:///dev/ttyUSB1")
    if "protocol" not in query.values:
        query.fail(f"say which protocol the scale speaks: protocol={' or protocol='.join(SCALE_PROTOCOLS)}")
    protocol = query.choice("protocol", "toledo8217", set(SCALE_PROTOCOLS))
    bytesize, parity, stopbits = SCALE_FRAMING[protocol]
    baud = query.integer("baud", 9600, 50, 4_000_000)
    if baud not in BAUDS:
        query.fail(f"baud must be one of {', '.join(map(str, sorted(BAUDS)))}")
    bytesize = query.integer("bytesize", bytesize, 7, 8)
    parity = query.choice("parity", parity.lower(), {"n", "e", "o"}).upper()
    stopbits = query.integer("stopbits", stopbits, 1, 2)
    poll = query.number("poll", 0.2, 0.05, 5.0)
    return ScaleConfig("serial", protocol, parts.path, baud, bytesize, parity, stopbits, poll)
