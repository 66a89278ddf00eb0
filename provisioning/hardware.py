"""`hardware`: find serial ports, USB printers and GPIO on this device, and set the `[hardware]` URLs."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from firmware.config import Config
from provisioning import configfile
from provisioning.errors import InputRejected

__all__ = ["Candidate", "detect_serial", "detect_usb_printers", "detect_gpio", "validate_urls", "set_hardware"]

PRINTER_CLASS = "07"  # USB interface class: printer


@dataclass(frozen=True)
class Candidate:
    """A device found here: what it is, where, and the URL that would use it."""

    kind: str
    where: str
    detail: str
    url: str


def detect_serial() -> list[Candidate]:
    """USB-CDC and USB-serial ports (scanners, serial printers) via pyserial's list_ports."""
    from serial.tools import list_ports

    found = []
    for port in sorted(list_ports.comports(), key=lambda p: p.device):
        ids = f"{port.vid:04x}:{port.pid:04x}" if port.vid is not None and port.pid is not None else "-"
        detail = " ".join(x for x in (ids, port.manufacturer or "", port.product or port.description or "") if x)
        kind = "scanner?" if "ACM" in port.device else "serial"
        found.append(Candidate(kind, port.device, detail, f"serial://{port.device}?baud=9600"))
    return found


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def detect_usb_printers(sys_root: Path = Path("/sys")) -> list[Candidate]:
    """USB devices with a printer-class interface (pyusb when installed, else /sys/bus/usb/devices)."""
    found: dict[str, Candidate] = {}
    try:
        usb_core = importlib.import_module("usb.core")
    except ImportError:
        usb_core = None
    if usb_core is not None and sys_root == Path("/sys"):
        try:
            for dev in usb_core.find(find_all=True):
                if any(i.bInterfaceClass == 7 for cfg in dev for i in cfg):
                    ids = f"{dev.idVendor:04x}:{dev.idProduct:04x}"
                    found[ids] = Candidate("printer", f"usb {ids}", "USB printer", f"usb://0x{ids.replace(':', ':0x')}")
        except Exception:  # noqa: BLE001 - no backend/permission: fall back to sysfs below
            found.clear()
    if not found:
        for dev in sorted((sys_root / "bus/usb/devices").glob("*")):
            vid, pid = _read(dev / "idVendor"), _read(dev / "idProduct")
            if not vid:
                continue
            classes = {_read(i / "bInterfaceClass") for i in dev.glob("*:*")}
            if PRINTER_CLASS in classes:
                ids = f"{vid}:{pid}"
                name = " ".join(x for x in (_read(dev / "manufacturer"), _read(dev / "product")) if x)
                found[ids] = Candidate("printer", f"usb {ids}", name or "USB printer", f"usb://0x{vid}:0x{pid}")
    for lp in sorted(Path("/dev/usb").glob("lp*")) if sys_root == Path("/sys") else []:
        found[str(lp)] = Candidate("printer", str(lp), "USB line printer device", f"file://{lp}")
    return list(found.values())


def detect_gpio(dev_root: Path = Path("/dev"), proc_root: Path = Path("/proc")) -> list[Candidate]:
    """GPIO chips (for a relay drawer and the LED); the Pi model when known."""
    model = _read(proc_root / "device-tree/model").rstrip("\x00")
    chips = sorted(dev_root.glob("gpiochip*"))
    if not chips:
        return []
    detail = f"{model or 'GPIO'}; {'gpiomem ok' if (dev_root / 'gpiomem').exists() else 'no /dev/gpiomem'}"
    return [Candidate("gpio", ", ".join(c.name for c in chips), detail, "gpio:17 (drawer) / gpio:red=5,green=6 (led)")]


def _parsers() -> dict[str, Callable[..., object]]:
    """hal's own URL parsers (the ones its factory builds from), so what passes here the firmware accepts."""
    from hal.factory import parse_drawer_url, parse_led_url, parse_printer_url, parse_scanner_url

    return {
        "scanner": parse_scanner_url,
        "printer": parse_printer_url,
        "drawer": parse_drawer_url,
        "led": parse_led_url,
    }


def validate_urls(urls: dict[str, str]) -> None:
    """Raise InputRejected naming every URL hal would refuse."""
    parsers = _parsers()
    problems = []
    for key, url in urls.items():
        try:
            parsers[key](url, f"hardware.{key}")
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise InputRejected("; ".join(problems))


def set_hardware(path: Path, urls: dict[str, str | None], paper_columns: int | None = None) -> Config:
    """Validate the new URLs with hal, then rewrite the config atomically."""
    chosen = {k: v for k, v in urls.items() if v is not None}
    validate_urls(chosen)
    updates: dict[str, object] = dict(chosen)
    if paper_columns is not None:
        updates["paper_columns"] = paper_columns
    doc = configfile.merge(configfile.read_raw(path), {"hardware": updates})
    if "device" not in doc or not doc["device"]:
        raise InputRejected(f"{path}: no device identity yet; run `kassa-provision init` first")
    return configfile.write_config(path, doc)
